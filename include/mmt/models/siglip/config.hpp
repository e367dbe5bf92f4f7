// SiglipConfig, SiglipTextConfig and SiglipVisionConfig (transformers 4.45,
// models/siglip/configuration_siglip.py): member initialisers are HF's defaults,
// since config.json only holds the values that differ from them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/layers/attention_pooling.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/layers/vit_embeddings.hpp"
#include "mmt/models/architecture_table.hpp"
#include "mmt/models/clip/config.hpp"
#include "mmt/models/clip/text_transformer_config.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::siglip {

struct text_config {
    std::size_t vocab_size = 32000;
    std::size_t hidden_size = 768;
    std::size_t intermediate_size = 3072;
    std::size_t num_hidden_layers = 12;
    std::size_t num_attention_heads = 12;
    std::size_t max_position_embeddings = 64;
    std::string hidden_act = "gelu_pytorch_tanh";
    float layer_norm_eps = 1e-6f;
    std::int64_t pad_token_id = 1;
    std::int64_t bos_token_id = 49406;
    std::int64_t eos_token_id = 49407;

    static text_config from_json(const io::json& j, const std::string& where) {
        text_config c;
        clip::read_text_keys(c, j, where);
        c.transformer();  // validates hidden_act and the head split
        return c;
    }

    // SiglipTextTransformer is CLIP's text tower without the causal mask, pooling the
    // last position (its head, a Linear, is the model's: text_model.hpp).
    clip::text_transformer_config transformer() const {
        clip::text_transformer_config t{vocab_size, max_position_embeddings, num_hidden_layers,
                                        clip::encoder_layer_config_of(*this, "text_config")};
        t.causal = false;
        t.eos_token_id = eos_token_id;
        t.pooling = clip::text_pooling::last_token;
        t.name = "SigLIP text model";
        return t;
    }
};

struct vision_config {
    std::size_t hidden_size = 768;
    std::size_t intermediate_size = 3072;
    std::size_t num_hidden_layers = 12;
    std::size_t num_attention_heads = 12;
    std::size_t num_channels = 3;
    std::size_t image_size = 224;
    std::size_t patch_size = 16;
    std::string hidden_act = "gelu_pytorch_tanh";
    float layer_norm_eps = 1e-6f;

    static vision_config from_json(const io::json& j, const std::string& where) {
        vision_config c;
        clip::read_vision_keys(c, j, where);
        c.layer_config(where);
        return c;
    }

    layers::encoder_layer_config layer_config(const std::string& where) const { return clip::encoder_layer_config_of(*this, where); }

    // SiglipVisionEmbeddings: a patch Conv2d with bias, no class token, no LayerNorm before the encoder.
    layers::vit_embeddings_config embeddings() const {
        layers::vit_embeddings_config e{hidden_size, num_channels, image_size, patch_size};
        e.patch_bias = true;
        e.layer_norm_eps = layer_norm_eps;
        return e;
    }

    // SiglipMultiheadAttentionPoolingHead: the tower's own MLP width and activation.
    layers::attention_pooling_config pooling() const {
        const layers::encoder_layer_config l = layer_config("vision_config");
        return {hidden_size, intermediate_size, num_attention_heads, l.hidden_act, layer_norm_eps};
    }
};

// The SigLIP heads HF's `architectures` names.
enum class architecture { model, text_model, vision_model };

inline constexpr architecture_table<architecture, 3> architectures{
    "SigLIP",
    {{{architecture::model, "SiglipModel"}, {architecture::text_model, "SiglipTextModel"}, {architecture::vision_model, "SiglipVisionModel"}}}};

inline const char* architecture_name(architecture a) { return architectures.name(a); }

struct config {
    architecture arch = architecture::model;
    text_config text;
    vision_config vision;

    bool has_text() const { return arch != architecture::vision_model; }
    bool has_vision() const { return arch != architecture::text_model; }

    // A SiglipConfig (model_type "siglip", towers under text_config / vision_config) or a
    // tower's own config (model_type "siglip_text_model" / "siglip_vision_model"), which
    // builds only that tower's model.
    static config from_json(const io::json& j, const std::string& where) {
        config c;
        std::string model_type = "siglip";
        io::json_optional(j, "model_type", model_type, where);
        const io::json empty = io::json::object();
        const auto tower = [&](const char* key) -> const io::json& { return j.contains(key) && !j[key].is_null() ? j[key] : empty; };
        if (model_type == "siglip") {
            c.text = text_config::from_json(tower("text_config"), where + ": text_config");
            c.vision = vision_config::from_json(tower("vision_config"), where + ": vision_config");
            c.arch = architectures.read(j, where, architecture::model);
        } else if (model_type == "siglip_text_model") {
            c.text = text_config::from_json(j, where);
            c.arch = architectures.read(j, where, architecture::text_model);
        } else if (model_type == "siglip_vision_model") {
            c.vision = vision_config::from_json(j, where);
            c.arch = architectures.read(j, where, architecture::vision_model);
        } else {
            fail<config_error>(where, ": model_type \"", model_type,
                               "\" is not a SigLIP model (expected siglip, siglip_text_model or siglip_vision_model)");
        }
        if ((model_type == "siglip_text_model" && c.arch != architecture::text_model) ||
            (model_type == "siglip_vision_model" && c.arch != architecture::vision_model))
            fail<config_error>(where, ": architecture ", architecture_name(c.arch), " does not fit model_type \"", model_type, "\"");
        return c;
    }

    static config from_file(const std::filesystem::path& path) { return from_json(io::read_json_file(path), path.string()); }
};

}  // namespace mmt::siglip
