// SigLIP as the engine sees it (models/family.hpp): SiglipModel and the two
// single-tower models, from a SiglipConfig or a tower's own config.
#pragma once

#include <array>
#include <string>

#include "mmt/io/json.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/named_tensors.hpp"
#include "mmt/models/siglip/forward_named.hpp"
#include "mmt/models/siglip/siglip_model.hpp"

namespace mmt::siglip {

struct family {
    using model = siglip_model;
    using config = siglip::config;
    static constexpr const char* name = "SigLIP";
    static constexpr std::array<const char*, 3> model_types = {"siglip", "siglip_text_model", "siglip_vision_model"};

    static io::name_table checkpoint_names() { return siglip::checkpoint_names(); }
    static model load(const io::json& j, const std::string& where, io::weight_loader& loader) {
        return siglip_model::load(config::from_json(j, where), loader);
    }
    static const char* architecture(const model& m) { return architecture_name(m.config.arch); }
    static named_outputs forward_named(const model& m, const named_inputs& in) { return siglip::forward_named(m, in); }
};

}  // namespace mmt::siglip
