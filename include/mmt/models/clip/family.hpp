// CLIP as the engine sees it (models/family.hpp): CLIPModel and the four
// single-tower heads, from a CLIPConfig or a tower's own config.
#pragma once

#include <array>
#include <string>

#include "mmt/io/json.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "mmt/models/clip/forward_named.hpp"
#include "mmt/models/named_tensors.hpp"

namespace mmt::clip {

struct family {
    using model = clip_model;
    using config = clip::config;
    static constexpr const char* name = "CLIP";
    static constexpr std::array<const char*, 3> model_types = {"clip", "clip_text_model", "clip_vision_model"};

    static io::name_table checkpoint_names() { return clip::checkpoint_names(); }
    static model load(const io::json& j, const std::string& where, io::weight_loader& loader) {
        return clip_model::load(config::from_json(j, where), loader);
    }
    static const char* architecture(const model& m) { return architecture_name(m.config.arch); }
    static named_outputs forward_named(const model& m, const named_inputs& in) { return clip::forward_named(m, in); }
};

}  // namespace mmt::clip
