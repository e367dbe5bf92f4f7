// ChineseCLIPConfig (transformers 4.45, models/chinese_clip/configuration_chinese_clip.py):
// a BERT text tower (ChineseCLIPTextConfig) and CLIP's vision tower
// (ChineseCLIPVisionConfig has CLIPVisionConfig's keys and defaults). Member
// initialisers are HF's defaults, since config.json only holds what differs.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/models/architecture_table.hpp"
#include "mmt/models/bert_config.hpp"
#include "mmt/models/clip/config.hpp"

namespace mmt::chinese_clip {

// ChineseCLIPTextConfig: BertConfig's keys and defaults (models/bert_config.hpp).
using text_config = bert_config;

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
        c.text.read_bert_keys(tower("text_config"), where + ": text_config");
        c.vision = clip::vision_config::from_json(tower("vision_config"), where + ": vision_config");
        c.arch = architectures.read(j, where, architecture::model);
        return c;
    }

    static config from_file(const std::filesystem::path& path) { return from_json(io::read_json_file(path), path.string()); }
};

}  // namespace mmt::chinese_clip
