// Speech recognition with a CTC checkpoint (Wav2Vec2ForCTC, or any family that
// implements interfaces::ctc_speech_encoder), as transformers'
// AutomaticSpeechRecognitionPipeline does it for CTC models: audio of any rate
// and channel count resampled to the feature extractor's rate, normalised,
// greedy CTC decoding of the per-frame argmax, and character or word
// timestamps (frame * inputs_to_logits_ratio / sampling_rate). Long audio is
// cut into overlapping chunks (chunk_length_s, stride_length_s) and stitched on
// the frames: each chunk's stride frames on either side are dropped, so every
// frame comes from the chunk that saw context on both sides of it. A WAV file is
// streamed chunk by chunk, so memory stays bounded whatever its length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/models/interfaces/ctc_speech_encoder.hpp"
#include "mmt/models/wav2vec2/wav2vec2_model.hpp"
#include "mmt/pipelines/speech_audio.hpp"
#include "mmt/pipelines/speech_model.hpp"
#include "mmt/preprocess/audio.hpp"
#include "mmt/tokenizers/ctc_decode.hpp"

namespace mmt::pipelines {

enum class timestamp_level { none, word, character };

struct transcription_options {
    // As `chunking`: <= 0 runs the audio whole.
    double chunk_length_s = 0.0;
    std::optional<double> stride_length_s;
    timestamp_level timestamps = timestamp_level::none;
};

// HF's {"text": ..., "timestamp": (start, end)}: one word or character, in seconds.
struct timed_text {
    std::string text;
    double start = 0.0;
    double end = 0.0;
};

struct transcription {
    std::string text;
    std::vector<timed_text> chunks;  // words or characters, empty without timestamps
};

// Any interfaces::ctc_speech_encoder with its CTC tokenizer and feature extractor
// (pipelines/alignment.hpp aligns known transcripts with the same bundle).
// Loaded once, then const: transcribe may be called from many threads at once.
class speech_recognizer {
public:
    // config.json + model.safetensors of any family's CTC head (auto_model), vocab.json (and
    // the tokenizer's optional json files); preprocessor_config.json or its defaults (see
    // feature_extractor_for). options.target_lang picks an MMS checkpoint's language: its
    // adapter and its part of the nested vocab.json.
    static speech_recognizer from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        auto model = speech_model_as<interfaces::ctc_speech_encoder>(dir, options, "a CTC speech pipeline (transcription, alignment)");
        auto extractor = feature_extractor_for(dir, *model);
        return speech_recognizer(std::move(model), tokenizers::wav2vec2_ctc_tokenizer::from_pretrained(dir, options.target_lang),
                                 std::move(extractor));
    }

    // config_error when `model` is of a CTC family but lacks the CTC head.
    speech_recognizer(std::shared_ptr<const interfaces::ctc_speech_encoder> model, tokenizers::wav2vec2_ctc_tokenizer tokenizer,
                      preprocess::wav2vec2_feature_extractor feature_extractor)
        : model_(std::move(model)), tokenizer_(std::move(tokenizer)), feature_extractor_(std::move(feature_extractor)) {
        if (!model_->has_ctc_head())
            fail<config_error>("a CTC speech pipeline (transcription, alignment) needs a ", model_->ctc_architecture(), " checkpoint; this one is ",
                               model_->architecture());
    }

    // A model held by value, e.g. a wav2vec2::wav2vec2_model.
    template <class Model, std::enable_if_t<std::is_base_of_v<interfaces::ctc_speech_encoder, Model>, int> = 0>
    speech_recognizer(Model model, tokenizers::wav2vec2_ctc_tokenizer tokenizer, preprocess::wav2vec2_feature_extractor feature_extractor)
        : speech_recognizer(std::make_shared<const Model>(std::move(model)), std::move(tokenizer), std::move(feature_extractor)) {}

    const interfaces::ctc_speech_encoder& encoder() const { return *model_; }
    // The model as its own class, for what the interface does not cover; input_error when it is another.
    template <class Model = wav2vec2::wav2vec2_model>
    const Model& model() const {
        const auto* m = dynamic_cast<const Model*>(model_.get());
        if (!m) fail<input_error>("speech recognizer: the model is a ", model_->architecture(), ", not the class asked for");
        return *m;
    }
    const tokenizers::wav2vec2_ctc_tokenizer& tokenizer() const { return tokenizer_; }
    const preprocess::wav2vec2_feature_extractor& feature_extractor() const { return feature_extractor_; }
    int sampling_rate() const { return feature_extractor_.config().sampling_rate; }

    transcription transcribe_file(const std::filesystem::path& wav, const transcription_options& options = {}) const {
        resampled_audio audio = resampled_audio::open(wav, sampling_rate());
        return transcribe(audio, options);
    }

    // samples: mono audio at `sample_rate` Hz.
    transcription transcribe(std::vector<float> samples, int sample_rate, const transcription_options& options = {}) const {
        resampled_audio audio(std::move(samples), sample_rate, sampling_rate());
        return transcribe(audio, options);
    }

    transcription transcribe(resampled_audio& audio, const transcription_options& options) const {
        const std::vector<std::int64_t> ids = frame_ids(audio, options);
        transcription out;
        if (options.timestamps == timestamp_level::none) {
            out.text = tokenizer_.decode(ids);
            return out;
        }
        const tokenizers::ctc_decoding decoded = tokenizer_.decode_with_offsets(ids);
        out.text = decoded.text;
        const tokenizers::ctc_time_base time{model_->inputs_to_logits_ratio(), sampling_rate()};
        if (options.timestamps == timestamp_level::character) {
            for (const auto& c : decoded.char_offsets) out.chunks.push_back({c.character, time.seconds(c.start_offset), time.seconds(c.end_offset)});
        } else {
            for (const auto& w : decoded.word_offsets) out.chunks.push_back({w.word, time.seconds(w.start_offset), time.seconds(w.end_offset)});
        }
        return out;
    }

    // The argmax token of every frame, the chunks stitched: what the pipeline decodes.
    std::vector<std::int64_t> frame_ids(resampled_audio& audio, const transcription_options& options) const {
        const int_tensor<2> ids = stitch_chunks(audio, {options.chunk_length_s, options.stride_length_s}, *model_, feature_extractor_,
                                                [&](const tensor<2>& input_values, const int_tensor<2>& attention_mask) {
                                                    const tensor<3> logits = model_->ctc_logits(input_values, attention_mask);
                                                    const tensor<2> rows = xt::view(logits, 0, xt::all(), xt::all());
                                                    const std::vector<std::int64_t> argmax = tokenizers::ctc_argmax(rows);
                                                    int_tensor<3> out = int_tensor<3>::from_shape({1, argmax.size(), 1});
                                                    std::copy(argmax.begin(), argmax.end(), out.begin());
                                                    return out;
                                                });
        return std::vector<std::int64_t>(ids.begin(), ids.end());
    }

private:
    std::shared_ptr<const interfaces::ctc_speech_encoder> model_;
    tokenizers::wav2vec2_ctc_tokenizer tokenizer_;
    preprocess::wav2vec2_feature_extractor feature_extractor_;
};

}  // namespace mmt::pipelines
