// Discrete speech units from a Wav2Vec2ForPreTraining checkpoint: the Gumbel
// vector quantizer's choice of codevector in every group for every frame (its
// eval-mode argmax over weight_proj of the normalised conv features). Only the
// feature encoder and the quantizer run; the transformer is not needed. Long
// audio is chunked and stitched on frames as in transcription.hpp (the
// feature encoder's GroupNorm and the normalisation see one chunk at a time, as
// the ASR pipeline's chunks do).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/models/wav2vec2/wav2vec2_model.hpp"
#include "mmt/pipelines/speech_audio.hpp"
#include "mmt/preprocess/audio.hpp"

namespace mmt::pipelines {

struct speech_units {
    int_tensor<2> codes;         // [frames, num_codevector_groups], each in [0, num_codevectors_per_group)
    double frame_seconds = 0.0;  // inputs_to_logits_ratio / sampling_rate: frame f starts at f * frame_seconds
};

class speech_unit_extractor {
public:
    static speech_unit_extractor from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        auto model = wav2vec2::wav2vec2_model::from_pretrained(dir, options);
        auto extractor = feature_extractor_for(dir, model.config);
        return speech_unit_extractor(std::move(model), std::move(extractor));
    }

    speech_unit_extractor(wav2vec2::wav2vec2_model model, preprocess::wav2vec2_feature_extractor feature_extractor)
        : model_(std::move(model)), feature_extractor_(std::move(feature_extractor)) {
        if (!model_.quantizer)
            fail<config_error>("speech units need a Wav2Vec2ForPreTraining checkpoint (the quantizer); this one is ",
                               model_.config.architecture_name());
    }

    const wav2vec2::wav2vec2_model& model() const { return model_; }
    int sampling_rate() const { return feature_extractor_.config().sampling_rate; }

    speech_units from_file(const std::filesystem::path& wav, const chunking& how = {}) const {
        resampled_audio audio = resampled_audio::open(wav, sampling_rate());
        return extract(audio, how);
    }

    // samples: mono audio at `sample_rate` Hz.
    speech_units extract(std::vector<float> samples, int sample_rate, const chunking& how = {}) const {
        resampled_audio audio(std::move(samples), sample_rate, sampling_rate());
        return extract(audio, how);
    }

    speech_units extract(resampled_audio& audio, const chunking& how) const {
        speech_units out;
        out.frame_seconds = double(model_.config.inputs_to_logits_ratio()) / sampling_rate();
        out.codes = stitch_chunks(audio, how, model_.config, feature_extractor_, [&](const tensor<2>& input_values, const int_tensor<2>&) {
            return model_.quantizer->code_indices(model_.extract_features(input_values));
        });
        return out;
    }

private:
    wav2vec2::wav2vec2_model model_;
    preprocess::wav2vec2_feature_extractor feature_extractor_;
};

}  // namespace mmt::pipelines
