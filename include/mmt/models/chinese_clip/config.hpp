// ChineseCLIPConfig (transformers 4.45, models/chinese_clip/configuration_chinese_clip.py):
// a BERT text tower (ChineseCLIPTextConfig) and CLIP's vision tower
// (ChineseCLIPVisionConfig has CLIPVisionConfig's keys and defaults). Member
// initialisers are HF's defaults, since config.json only holds what differs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/layers/bert_embeddings.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/models/architecture_table.hpp"
#include "mmt/models/clip/config.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::chinese_clip {

// ChineseCLIPTextConfig: BERT's keys.
struct text_config {
    std::size_t vocab_size = 30522;
    std::size_t hidden_size = 768;
    std::size_t num_hidden_layers = 12;
    std::size_t num_attention_heads = 12;
    std::size_t intermediate_size = 3072;
    std::string hidden_act = "gelu";
    std::size_t max_position_embeddings = 512;
    std::size_t type_vocab_size = 2;
    float layer_norm_eps = 1e-12f;
    std::int64_t pad_token_id = 0;

    static text_config from_json(const io::json& j, const std::string& where) {
        text_config c;
        clip::read_tower_keys(c, j, where);
        io::json_optional(j, "vocab_size", c.vocab_size, where);
        io::json_optional(j, "max_position_embeddings", c.max_position_embeddings, where);
        io::json_optional(j, "type_vocab_size", c.type_vocab_size, where);
        io::json_optional(j, "pad_token_id", c.pad_token_id, where);
        for (const auto& [key, value] : {std::pair<const char*, std::size_t>{"vocab_size", c.vocab_size},
                                         {"max_position_embeddings", c.max_position_embeddings},
                                         {"type_vocab_size", c.type_vocab_size}})
            if (value == 0) fail<config_error>(where, ": \"", key, "\" is 0, expected at least 1");
        c.layer_config(where);  // validates hidden_act and the head split
        return c;
    }

    // BertLayer: post-norm.
    layers::encoder_layer_config layer_config(const std::string& where) const {
        layers::encoder_layer_config l = clip::encoder_layer_config_of(*this, where);
        l.norm = layers::norm_position::post;
        return l;
    }

    layers::bert_embeddings_config embeddings() const {
        return {vocab_size, hidden_size, max_position_embeddings, type_vocab_size, layer_norm_eps};
    }
};

enum class architecture { model };

inline constexpr architecture_table<architecture, 1> architectures{"Chinese-CLIP", {{{architecture::model, "ChineseCLIPModel"}}}};

inline const char* architecture_name(architecture a) { return architectures.name(a); }

struct config {
    architecture arch = architecture::model;
    text_config text;
    clip::vision_config vision;
    std::size_t projection_dim = 512;
    float logit_scale_init_value = 2.6592f;

    // A ChineseCLIPConfig: model_type "chinese_clip", towers under text_config / vision_config.
    static config from_json(const io::json& j, const std::string& where) {
        config c;
        std::string model_type = "chinese_clip";
        io::json_optional(j, "model_type", model_type, where);
        if (model_type != "chinese_clip")
            fail<config_error>(where, ": model_type \"", model_type, "\" is not Chinese-CLIP (expected chinese_clip)");
        io::json_optional(j, "projection_dim", c.projection_dim, where);
        io::json_optional(j, "logit_scale_init_value", c.logit_scale_init_value, where);
        const io::json empty = io::json::object();
        const auto tower = [&](const char* key) -> const io::json& { return j.contains(key) && !j[key].is_null() ? j[key] : empty; };
        c.text = text_config::from_json(tower("text_config"), where + ": text_config");
        c.vision = clip::vision_config::from_json(tower("vision_config"), where + ": vision_config");
        c.arch = architectures.read(j, where, architecture::model);
        return c;
    }

    static config from_file(const std::filesystem::path& path) { return from_json(io::read_json_file(path), path.string()); }
};

}  // namespace mmt::chinese_clip
