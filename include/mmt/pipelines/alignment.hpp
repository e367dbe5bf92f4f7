// Forced alignment of a known transcript to speech with any CTC speech model (the
// speech_recognizer's model, tokenizer and feature extractor), as torchaudio's
// forced-alignment tutorial and whisperX's align do it: the transcript's characters
// as vocabulary ids (tokenizers/ctc_transcript.hpp), the model's log-probabilities
// computed chunk by chunk and stitched on frames as transcription does, and the best
// CTC path through them constrained to the transcript
// (tokenizers/ctc_forced_align.hpp). Every word and character gets its start and end
// in seconds (frame * inputs_to_logits_ratio / sampling_rate, the end exclusive, as
// transcription's timestamps) and a score: the mean probability of its frames (the
// tutorial's exp of the path's log-probabilities; a word weights its characters by
// their frames).
//
// Memory stays bounded on long audio: the WAV is streamed a chunk at a time, only the
// log-probabilities of the blank and of the characters the transcript uses are kept
// ([frames, distinct characters + 1] floats: 36 MB for an hour with 50 distinct
// characters), and the alignment itself needs about 2 S sqrt(T) bytes.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/pipelines/speech_audio.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "mmt/tokenizers/ctc_decode.hpp"
#include "mmt/tokenizers/ctc_forced_align.hpp"
#include "mmt/tokenizers/ctc_transcript.hpp"

namespace mmt::pipelines {

// One word or character of the transcript, as written, with its time span in seconds.
struct aligned_text {
    std::string text;
    double start = 0.0;
    double end = 0.0;
    double score = 0.0;  // mean probability of its frames, in (0, 1]
};

struct alignment {
    std::vector<aligned_text> words;
    std::vector<aligned_text> characters;  // the words' characters in order (the word delimiter is none of them)
};

namespace detail {

// The CTC classes a transcript needs: the blank first, then each distinct target id.
struct alignment_classes {
    std::vector<std::int64_t> ids;          // [classes]: vocabulary ids, ids[0] the blank
    std::vector<std::int64_t> targets;      // [L]: the transcript's targets as indices into ids

    alignment_classes(std::int64_t blank, const std::vector<std::int64_t>& vocabulary_targets) : ids{blank} {
        std::unordered_map<std::int64_t, std::int64_t> index{{blank, 0}};
        for (std::int64_t id : vocabulary_targets) {
            auto [it, added] = index.emplace(id, std::int64_t(ids.size()));
            if (added) ids.push_back(id);
            targets.push_back(it->second);
        }
    }

    // log_softmax over the vocabulary of each frame, kept for these classes only:
    // logits [frames, vocab] -> [frames, classes].
    tensor<2> log_probs(const tensor<2>& logits) const {
        const std::size_t frames = logits.shape(0), vocab = logits.shape(1);
        for (std::int64_t id : ids)
            if (id >= std::int64_t(vocab))
                fail<config_error>("alignment: the tokenizer's id ", id, " is outside the model's ", vocab, " CTC classes");
        tensor<2> out = tensor<2>::from_shape({frames, ids.size()});
        for (std::size_t t = 0; t < frames; ++t) {
            const float* row = &logits(t, 0);
            const float max = *std::max_element(row, row + vocab);
            double sum = 0.0;
            for (std::size_t v = 0; v < vocab; ++v) sum += std::exp(double(row[v] - max));
            const float log_sum = float(std::log(sum));
            for (std::size_t c = 0; c < ids.size(); ++c) out(t, c) = row[ids[c]] - max - log_sum;
        }
        return out;
    }
};

}  // namespace detail

// input_error for a transcript the vocabulary cannot spell (naming the character), audio
// shorter than one frame, or fewer frames than the transcript needs.
inline alignment align(const speech_recognizer& recognizer, resampled_audio& audio, std::string_view transcript, const chunking& how = {}) {
    const tokenizers::wav2vec2_ctc_tokenizer& tokenizer = recognizer.tokenizer();
    const tokenizers::ctc_transcript text = tokenizers::encode_transcript(tokenizer, transcript);
    const auto blank = tokenizer.token_to_id(tokenizer.config().pad_token);
    if (!blank)
        fail<config_error>("alignment: the vocabulary lacks the pad token \"", tokenizer.config().pad_token, "\", the CTC blank");
    const detail::alignment_classes classes(*blank, text.targets);

    const interfaces::ctc_speech_encoder& model = recognizer.encoder();
    const tensor<2> log_probs =
        stitch_chunks(audio, how, model, recognizer.feature_extractor(), [&](const tensor<2>& input_values, const int_tensor<2>& mask) {
            const tensor<3> logits = model.ctc_logits(input_values, mask);
            const tensor<2> rows = classes.log_probs(xt::view(logits, 0, xt::all(), xt::all()));
            tensor<3> out = tensor<3>::from_shape({1, rows.shape(0), rows.shape(1)});
            std::copy(rows.begin(), rows.end(), out.begin());
            return out;
        });

    const tokenizers::ctc_time_base time{model.inputs_to_logits_ratio(), recognizer.sampling_rate()};
    std::size_t needed = text.targets.size();
    for (std::size_t i = 1; i < text.targets.size(); ++i) needed += text.targets[i] == text.targets[i - 1];
    if (log_probs.shape(0) < needed)
        fail<input_error>(audio.where(), ": ", audio.duration_seconds(), " s of audio are ", log_probs.shape(0), " frames of the model; the transcript's ",
                          text.targets.size(), " tokens (characters and word delimiters, a blank between repeats) need at least ", needed,
                          " frames (", time.seconds(std::int64_t(needed)), " s)");

    const tokenizers::forced_alignment path = tokenizers::ctc_forced_align(log_probs, classes.targets, 0);
    std::vector<float> probabilities(path.scores.size());
    std::transform(path.scores.begin(), path.scores.end(), probabilities.begin(), [](float s) { return std::exp(s); });
    const std::vector<tokenizers::token_span> spans = tokenizers::merge_tokens(path.tokens, probabilities, 0);

    alignment out;
    for (const tokenizers::transcript_word& word : text.words) {
        const auto w = tokenizers::merge_word(spans, word.first_target, word.characters.size());
        out.words.push_back({word.text, time.seconds(std::int64_t(w.start)), time.seconds(std::int64_t(w.end)), w.score});
        for (std::size_t i = 0; i < word.characters.size(); ++i) {
            const tokenizers::token_span& c = spans[word.first_target + i];
            out.characters.push_back({word.characters[i], time.seconds(std::int64_t(c.start)), time.seconds(std::int64_t(c.end)), c.score});
        }
    }
    return out;
}

// samples: mono audio at `sample_rate` Hz.
inline alignment align(const speech_recognizer& recognizer, std::vector<float> samples, int sample_rate, std::string_view transcript,
                       const chunking& how = {}) {
    resampled_audio audio(std::move(samples), sample_rate, recognizer.sampling_rate());
    return align(recognizer, audio, transcript, how);
}

// A WAV file of any rate and channel count, streamed.
inline alignment align_file(const speech_recognizer& recognizer, const std::filesystem::path& wav, std::string_view transcript,
                            const chunking& how = {}) {
    resampled_audio audio = resampled_audio::open(wav, recognizer.sampling_rate());
    return align(recognizer, audio, transcript, how);
}

}  // namespace mmt::pipelines
