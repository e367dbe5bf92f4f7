// Chinese-CLIP as the engine sees it (models/family.hpp): ChineseCLIPModel from a
// ChineseCLIPConfig.
#pragma once

#include <array>
#include <string>

#include "mmt/io/json.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/chinese_clip/chinese_clip_model.hpp"
#include "mmt/models/chinese_clip/forward_named.hpp"
#include "mmt/models/named_tensors.hpp"

namespace mmt::chinese_clip {

struct family {
    using model = chinese_clip_model;
    using config = chinese_clip::config;
    static constexpr const char* name = "Chinese-CLIP";
    static constexpr std::array<const char*, 1> model_types = {"chinese_clip"};

    static io::name_table checkpoint_names() { return chinese_clip::checkpoint_names(); }
    static model load(const io::json& j, const std::string& where, io::weight_loader& loader) {
        return chinese_clip_model::load(config::from_json(j, where), loader);
    }
    static const char* architecture(const model& m) { return architecture_name(m.config.arch); }
    static named_outputs forward_named(const model& m, const named_inputs& in) { return chinese_clip::forward_named(m, in); }
};

}  // namespace mmt::chinese_clip
