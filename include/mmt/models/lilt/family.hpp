// LiLT as the engine sees it (models/family.hpp): its four heads from a
// LiltConfig.
#pragma once

#include <array>
#include <string>

#include "mmt/io/json.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/lilt/forward_named.hpp"
#include "mmt/models/lilt/heads.hpp"
#include "mmt/models/named_tensors.hpp"

namespace mmt::lilt {

struct family {
    using model = pretrained_model;
    using config = lilt::config;
    static constexpr const char* name = "LiLT";
    static constexpr std::array<const char*, 1> model_types = {"lilt"};

    static io::name_table checkpoint_names() { return lilt::checkpoint_names(); }
    static model load(const io::json& j, const std::string& where, io::weight_loader& loader) {
        return pretrained_model::load(config::from_json(j, where), loader);
    }
    static const char* architecture(const model& m) { return m.architecture_name(); }
    static named_outputs forward_named(const model& m, const named_inputs& in) { return lilt::forward_named(m, in); }
};

}  // namespace mmt::lilt
