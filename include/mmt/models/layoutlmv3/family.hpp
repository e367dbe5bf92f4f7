// LayoutLMv3 as the engine sees it (models/family.hpp): its four heads from a
// LayoutLMv3Config.
#pragma once

#include <array>
#include <string>

#include "mmt/io/json.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/layoutlmv3/forward_named.hpp"
#include "mmt/models/layoutlmv3/heads.hpp"
#include "mmt/models/named_tensors.hpp"

namespace mmt::layoutlmv3 {

struct family {
    using model = pretrained_model;
    using config = layoutlmv3::config;
    static constexpr const char* name = "LayoutLMv3";
    static constexpr std::array<const char*, 1> model_types = {"layoutlmv3"};

    static io::name_table checkpoint_names() { return layoutlmv3::checkpoint_names(); }
    static model load(const io::json& j, const std::string& where, io::weight_loader& loader) {
        return pretrained_model::load(config::from_json(j, where), loader);
    }
    static const char* architecture(const model& m) { return m.architecture_name(); }
    static named_outputs forward_named(const model& m, const named_inputs& in) { return layoutlmv3::forward_named(m, in); }
};

}  // namespace mmt::layoutlmv3
