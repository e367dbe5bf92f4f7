// LayoutLM (v1) as the engine sees it (models/family.hpp): the bare model and its
// four heads.
#pragma once

#include <array>
#include <string>

#include "mmt/io/json.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/layoutlm/forward_named.hpp"
#include "mmt/models/layoutlm/heads.hpp"
#include "mmt/models/named_tensors.hpp"

namespace mmt::layoutlm {

struct family {
    using model = pretrained_model;
    using config = layoutlm::config;
    static constexpr const char* name = "LayoutLM";
    static constexpr std::array<const char*, 1> model_types = {"layoutlm"};

    static io::name_table checkpoint_names() { return layoutlm::checkpoint_names(); }
    static model load(const io::json& j, const std::string& where, io::weight_loader& loader) {
        return pretrained_model::load(config::from_json(j, where), loader);
    }
    static const char* architecture(const model& m) { return m.architecture_name(); }
    static named_outputs forward_named(const model& m, const named_inputs& in) { return layoutlm::forward_named(m, in); }
};

}  // namespace mmt::layoutlm
