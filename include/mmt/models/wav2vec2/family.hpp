// Wav2Vec2 as the engine sees it (models/family.hpp): Wav2Vec2Model,
// Wav2Vec2ForCTC and Wav2Vec2ForPreTraining.
#pragma once

#include <array>
#include <string>

#include "mmt/io/json.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/named_tensors.hpp"
#include "mmt/models/wav2vec2/forward_named.hpp"
#include "mmt/models/wav2vec2/wav2vec2_model.hpp"

namespace mmt::wav2vec2 {

struct family {
    using model = wav2vec2_model;
    using config = wav2vec2::config;
    static constexpr const char* name = "Wav2Vec2";
    static constexpr std::array<const char*, 1> model_types = {"wav2vec2"};

    static io::name_table checkpoint_names() { return wav2vec2::checkpoint_names(); }
    static model load(const io::json& j, const std::string& where, io::weight_loader& loader) {
        return wav2vec2_model::load(config::from_json(j, where), loader);
    }
    static const char* architecture(const model& m) { return architecture_name(m.config.arch); }
    static named_outputs forward_named(const model& m, const named_inputs& in) { return wav2vec2::forward_named(m, in); }
};

}  // namespace mmt::wav2vec2
