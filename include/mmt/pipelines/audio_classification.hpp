// Audio classification (keyword spotting, emotion, language ID, ...) with any
// interfaces::audio_sequence_classifier checkpoint (Wav2Vec2, HuBERT, WavLM or
// Data2VecAudio ForSequenceClassification), as transformers'
// AudioClassificationPipeline does it: audio of any rate and channel count
// resampled to the feature extractor's rate, normalised, the whole clip in one
// forward pass, softmax over the logits, the top_k labels of id2label, best first.
//
// Long audio is refused rather than classified in windows: HF classifies the whole
// clip, and an average over windows would be another answer than the one users
// compare with; attention's time and memory also grow with the square of the
// length. The limit (max_seconds, default 60) is an option.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/models/interfaces/audio_sequence_classifier.hpp"
#include "mmt/pipelines/speech_audio.hpp"
#include "mmt/pipelines/speech_model.hpp"
#include "mmt/preprocess/audio.hpp"

namespace mmt::pipelines {

struct audio_classification_options {
    std::size_t top_k = 5;     // HF's default; at most num_labels are returned
    double max_seconds = 60.0;  // longer audio is an input_error (see above)
};

// HF's {"score": ..., "label": ...}, with the label's id.
struct audio_label {
    std::string label;
    std::int64_t id = 0;
    float score = 0.0f;  // softmax probability
};

// Loaded once, then const: classify may be called from many threads at once.
class audio_classifier {
public:
    // config.json + model.safetensors of any family's sequence-classification head
    // (auto_model); preprocessor_config.json or its defaults (feature_extractor_for).
    static audio_classifier from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        auto model = speech_model_as<interfaces::audio_sequence_classifier>(dir, options, "audio classification");
        auto extractor = feature_extractor_for(dir, *model);
        return audio_classifier(std::move(model), std::move(extractor));
    }

    // config_error when `model` is of a speech family but lacks the classification head.
    audio_classifier(std::shared_ptr<const interfaces::audio_sequence_classifier> model,
                     preprocess::wav2vec2_feature_extractor feature_extractor)
        : model_(std::move(model)), feature_extractor_(std::move(feature_extractor)) {
        if (!model_->has_classification_head())
            fail<config_error>("audio classification needs a ", model_->classification_architecture(), " checkpoint; this one is ",
                               model_->architecture());
    }

    const interfaces::audio_sequence_classifier& model() const { return *model_; }
    int sampling_rate() const { return feature_extractor_.config().sampling_rate; }

    std::vector<audio_label> classify_file(const std::filesystem::path& wav, const audio_classification_options& options = {}) const {
        resampled_audio audio = resampled_audio::open(wav, sampling_rate());
        return classify(audio, options);
    }

    // samples: mono audio at `sample_rate` Hz.
    std::vector<audio_label> classify(std::vector<float> samples, int sample_rate, const audio_classification_options& options = {}) const {
        resampled_audio audio(std::move(samples), sample_rate, sampling_rate());
        return classify(audio, options);
    }

    std::vector<audio_label> classify(resampled_audio& audio, const audio_classification_options& options) const {
        if (options.top_k == 0) fail<input_error>("audio classification: top_k is 0, expected at least 1");
        check_long_enough(audio, *model_);
        if (audio.duration_seconds() > options.max_seconds)
            fail<input_error>(audio.where(), ": ", audio.duration_seconds(), " s of audio, longer than the ", options.max_seconds,
                              " s allowed: the clip is classified whole, as HF does, and attention grows with the square of its "
                              "length; cut it, or raise the limit (max_seconds, mmt classify-audio --max-seconds)");
        const auto features = feature_extractor_({audio.read(0, audio.size())}, audio.sampling_rate());
        const tensor<2> logits = model_->sequence_logits(features.input_values, features.attention_mask);  // [1, num_labels]
        return top_labels(logits, options.top_k);
    }

private:
    // softmax(logits[0]) as torch takes it, the top_k best first (ties by label id).
    std::vector<audio_label> top_labels(const tensor<2>& logits, std::size_t top_k) const {
        const std::size_t n = logits.shape(1);
        const float max = *std::max_element(logits.begin(), logits.end());
        std::vector<float> p(n);
        float sum = 0.0f;
        for (std::size_t k = 0; k < n; ++k) sum += p[k] = std::exp(logits(0, k) - max);
        std::vector<audio_label> out;
        const auto& labels = model_->id2label();
        for (std::size_t k = 0; k < n; ++k) {
            const auto it = labels.find(std::int64_t(k));
            if (it == labels.end())
                fail<config_error>(model_->architecture(), ": classifier output ", k, " has no entry in config.json's id2label");
            out.push_back({it->second, std::int64_t(k), p[k] / sum});
        }
        std::stable_sort(out.begin(), out.end(), [](const audio_label& a, const audio_label& b) { return a.score > b.score; });
        out.resize(std::min(top_k, out.size()));
        return out;
    }

    std::shared_ptr<const interfaces::audio_sequence_classifier> model_;
    preprocess::wav2vec2_feature_extractor feature_extractor_;
};

}  // namespace mmt::pipelines
