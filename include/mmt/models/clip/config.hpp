// CLIPConfig, CLIPTextConfig and CLIPVisionConfig: member initialisers are HF's
// defaults, since config.json only holds the values that differ from them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/layers/vit_embeddings.hpp"
#include "mmt/models/architecture_table.hpp"
#include "mmt/models/clip/text_transformer_config.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::clip {

// CLIPEncoderLayer's config, the same from either tower's config (text_config,
// vision_config); a head split that does not divide hidden_size, or an unknown
// hidden_act, is a config_error naming the tower.
template <class Tower>
layers::encoder_layer_config encoder_layer_config_of(const Tower& c, const std::string& where) {
    if (c.num_attention_heads == 0 || c.hidden_size % c.num_attention_heads != 0)
        fail<config_error>(where, ": hidden_size ", c.hidden_size, " is not divisible by num_attention_heads ", c.num_attention_heads);
    return {c.hidden_size, c.intermediate_size, c.num_attention_heads, ops::parse_activation(c.hidden_act, where + ".hidden_act"),
            c.layer_norm_eps, layers::norm_position::pre};
}

// The keys every CLIP-like tower config has (CLIP's, SigLIP's), read over `c`'s
// defaults; each family's config reads its own others.
template <class Tower>
void read_tower_keys(Tower& c, const io::json& j, const std::string& where) {
    io::json_optional(j, "hidden_size", c.hidden_size, where);
    io::json_optional(j, "intermediate_size", c.intermediate_size, where);
    io::json_optional(j, "num_hidden_layers", c.num_hidden_layers, where);
    io::json_optional(j, "num_attention_heads", c.num_attention_heads, where);
    io::json_optional(j, "hidden_act", c.hidden_act, where);
    io::json_optional(j, "layer_norm_eps", c.layer_norm_eps, where);
}

// A text tower's own keys beside those: the vocabulary, positions and special ids.
template <class Text>
void read_text_keys(Text& c, const io::json& j, const std::string& where) {
    read_tower_keys(c, j, where);
    io::json_optional(j, "vocab_size", c.vocab_size, where);
    io::json_optional(j, "max_position_embeddings", c.max_position_embeddings, where);
    io::json_optional(j, "pad_token_id", c.pad_token_id, where);
    io::json_optional(j, "bos_token_id", c.bos_token_id, where);
    io::json_optional(j, "eos_token_id", c.eos_token_id, where);
}

// A vision tower's: the image geometry, checked.
template <class Vision>
void read_vision_keys(Vision& c, const io::json& j, const std::string& where) {
    read_tower_keys(c, j, where);
    io::json_optional(j, "num_channels", c.num_channels, where);
    io::json_optional(j, "image_size", c.image_size, where);
    io::json_optional(j, "patch_size", c.patch_size, where);
    if (c.patch_size == 0 || c.image_size < c.patch_size)
        fail<config_error>(where, ": patch_size ", c.patch_size, " must be between 1 and image_size ", c.image_size);
}

struct text_config {
    std::size_t vocab_size = 49408;
    std::size_t hidden_size = 512;
    std::size_t intermediate_size = 2048;
    std::size_t projection_dim = 512;
    std::size_t num_hidden_layers = 12;
    std::size_t num_attention_heads = 8;
    std::size_t max_position_embeddings = 77;
    std::string hidden_act = "quick_gelu";
    float layer_norm_eps = 1e-5f;
    std::int64_t pad_token_id = 1;
    std::int64_t bos_token_id = 49406;
    std::int64_t eos_token_id = 49407;

    static text_config from_json(const io::json& j, const std::string& where) {
        text_config c;
        read_text_keys(c, j, where);
        io::json_optional(j, "projection_dim", c.projection_dim, where);
        c.layer_config(where);  // validates hidden_act and the head split
        return c;
    }

    layers::encoder_layer_config layer_config(const std::string& where) const { return encoder_layer_config_of(*this, where); }

    // The text tower's own config: CLIP's is causal and pools at the end token.
    text_transformer_config transformer() const {
        text_transformer_config t{vocab_size, max_position_embeddings, num_hidden_layers, layer_config("text_config")};
        t.causal = true;
        t.eos_token_id = eos_token_id;
        return t;
    }
};

struct vision_config {
    std::size_t hidden_size = 768;
    std::size_t intermediate_size = 3072;
    std::size_t projection_dim = 512;
    std::size_t num_hidden_layers = 12;
    std::size_t num_attention_heads = 12;
    std::size_t num_channels = 3;
    std::size_t image_size = 224;
    std::size_t patch_size = 32;
    std::string hidden_act = "quick_gelu";
    float layer_norm_eps = 1e-5f;

    std::size_t num_patches() const { return embeddings().num_patches(); }

    static vision_config from_json(const io::json& j, const std::string& where) {
        vision_config c;
        read_vision_keys(c, j, where);
        io::json_optional(j, "projection_dim", c.projection_dim, where);
        c.layer_config(where);
        return c;
    }

    layers::encoder_layer_config layer_config(const std::string& where) const { return encoder_layer_config_of(*this, where); }

    // The embeddings block's own config: CLIPVisionEmbeddings (a class token, a patch
    // Conv2d without bias) and pre_layrnorm.
    layers::vit_embeddings_config embeddings() const {
        layers::vit_embeddings_config e{hidden_size, num_channels, image_size, patch_size};
        e.class_token = true;
        e.pre_norm = true;
        e.layer_norm_eps = layer_norm_eps;
        return e;
    }
};

// The five CLIP heads HF's `architectures` names.
enum class architecture { clip_model, text_model, text_model_with_projection, vision_model, vision_model_with_projection };

inline constexpr architecture_table<architecture, 5> architectures{
    "CLIP",
    {{{architecture::clip_model, "CLIPModel"},
      {architecture::text_model, "CLIPTextModel"},
      {architecture::text_model_with_projection, "CLIPTextModelWithProjection"},
      {architecture::vision_model, "CLIPVisionModel"},
      {architecture::vision_model_with_projection, "CLIPVisionModelWithProjection"}}}};

inline const char* architecture_name(architecture a) { return architectures.name(a); }

struct config {
    architecture arch = architecture::clip_model;
    text_config text;
    vision_config vision;
    std::size_t projection_dim = 512;  // CLIPModel's; the *WithProjection models use their tower's
    float logit_scale_init_value = 2.6592f;

    bool has_text() const { return arch != architecture::vision_model && arch != architecture::vision_model_with_projection; }
    bool has_vision() const { return arch != architecture::text_model && arch != architecture::text_model_with_projection; }

    // A CLIPConfig (model_type "clip", towers under text_config / vision_config) or a
    // tower's own config (model_type "clip_text_model" / "clip_vision_model").
    static config from_json(const io::json& j, const std::string& where) {
        config c;
        std::string model_type = "clip";
        io::json_optional(j, "model_type", model_type, where);
        if (model_type == "clip") {
            io::json_optional(j, "projection_dim", c.projection_dim, where);
            io::json_optional(j, "logit_scale_init_value", c.logit_scale_init_value, where);
            const io::json empty = io::json::object();
            c.text = text_config::from_json(j.contains("text_config") && !j["text_config"].is_null() ? j["text_config"] : empty,
                                            where + ": text_config");
            c.vision = vision_config::from_json(
                j.contains("vision_config") && !j["vision_config"].is_null() ? j["vision_config"] : empty, where + ": vision_config");
            c.arch = architectures.read(j, where, architecture::clip_model);
        } else if (model_type == "clip_text_model") {
            c.text = text_config::from_json(j, where);
            c.arch = architectures.read(j, where, architecture::text_model);
        } else if (model_type == "clip_vision_model") {
            c.vision = vision_config::from_json(j, where);
            c.arch = architectures.read(j, where, architecture::vision_model);
        } else {
            fail<config_error>(where, ": model_type \"", model_type, "\" is not a CLIP model (expected clip, clip_text_model or clip_vision_model)");
        }
        c.check_architecture(model_type, where);
        return c;
    }

    static config from_file(const std::filesystem::path& path) { return from_json(io::read_json_file(path), path.string()); }

private:
    // A tower's own config builds only that tower's heads; a CLIPConfig builds any head.
    void check_architecture(const std::string& model_type, const std::string& where) const {
        const bool text_arch = arch == architecture::text_model || arch == architecture::text_model_with_projection;
        const bool vision_arch = arch == architecture::vision_model || arch == architecture::vision_model_with_projection;
        if ((model_type == "clip_text_model" && !text_arch) || (model_type == "clip_vision_model" && !vision_arch))
            fail<config_error>(where, ": architecture ", architecture_name(arch), " does not fit model_type \"", model_type, "\"");
    }
};

}  // namespace mmt::clip
