// The wav2vec2-like models as the engine sees them (models/family.hpp): Wav2Vec2,
// HuBERT, WavLM and Data2VecAudio (config.hpp's variants), each with its body,
// CTC and sequence-classification heads, and Wav2Vec2ForPreTraining.
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
    static constexpr std::array<const char*, 4> model_types = {"wav2vec2", "hubert", "wavlm", "data2vec-audio"};

    static io::name_table checkpoint_names() { return wav2vec2::checkpoint_names(); }
    static model load(const io::json& j, const std::string& where, io::weight_loader& loader) {
        return wav2vec2_model::load(config::from_json(j, where), loader);
    }
    static const char* architecture(const model& m) { return m.config.architecture_name(); }
    static named_outputs forward_named(const model& m, const named_inputs& in) { return wav2vec2::forward_named(m, in); }
};

}  // namespace mmt::wav2vec2
