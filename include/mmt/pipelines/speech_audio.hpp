// What the speech pipelines share: audio at the model's rate read in pieces
// (a WAV file is streamed, never held whole), transformers' ASR-pipeline
// chunking with overlapping strides (chunk_iter / rescale_stride in
// pipelines/automatic_speech_recognition.py), and a model directory's feature
// extractor.
//
// Resampling is torchaudio.functional.resample of the whole signal, computed a
// piece at a time: each output sample reads a fixed window of input samples, so
// a piece computed from the input around it (zeros past the ends, as torchaudio
// pads) equals the same samples of the whole-signal result bit for bit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/wav.hpp"
#include "mmt/preprocess/audio.hpp"

namespace mmt::pipelines {

// Mono audio at `sampling_rate()`, read in pieces from a WAV file or from memory.
class resampled_audio {
public:
    // A WAV file of any rate and channel count, streamed: only the pieces asked for are decoded.
    // The duration limit holds here too (from the header, and for the resampled length), since
    // the model's work and the unchunked pipelines' buffers grow with it.
    static resampled_audio open(const std::filesystem::path& path, int sampling_rate, const io::wav_read_options& options = {}) {
        io::wav_reader reader(path, options);
        const int rate = reader.sample_rate();
        return resampled_audio(std::move(reader), {}, rate, sampling_rate, "'" + path.string() + "'", options);
    }

    // Samples at `orig_rate` held in memory; each must be finite, as a WAV file's.
    resampled_audio(std::vector<float> samples, int orig_rate, int sampling_rate, const io::wav_read_options& options = {})
        : resampled_audio(std::nullopt, std::move(samples), orig_rate, sampling_rate, "audio", options) {
        for (std::size_t i = 0; i < memory_.size(); ++i)
            if (!std::isfinite(memory_[i])) fail<input_error>(where_, ": sample ", i, " is ", memory_[i], "; expected finite samples");
    }

    int sampling_rate() const { return rate_; }
    int original_rate() const { return orig_rate_; }
    // Samples at sampling_rate(): torchaudio's output length for the whole input.
    std::size_t size() const { return resampler_.output_length(input_size()); }
    double duration_seconds() const { return double(size()) / rate_; }
    const std::string& where() const { return where_; }

    // Samples [begin, begin + count) at sampling_rate(), cut at size().
    std::vector<float> read(std::size_t begin, std::size_t count) {
        const std::size_t end = std::min(size(), begin + count);
        if (begin >= end) return {};
        // torchaudio works in frames of `orig` input and `out_per_frame` output samples (the rates over their gcd).
        const auto orig = std::size_t(resampler_.orig_freq()), out_per_frame = std::size_t(resampler_.new_freq());
        if (orig == out_per_frame) return read_input(begin, end - begin);
        // Output m belongs to frame m / out_per_frame, which reads input [frame * orig - width, (frame + 1) * orig + width).
        const std::size_t width = resampler_.kernel_width();
        const std::size_t first_frame = begin / out_per_frame, last_frame = (end - 1) / out_per_frame;
        const std::size_t lead = (width + orig - 1) / orig;
        const std::size_t slice_frame = first_frame > lead ? first_frame - lead : 0;
        // One frame of slack past the last: torchaudio's float32 length rounding never cuts what is needed.
        const std::size_t slice_end = (last_frame + 2) * orig + width;
        const std::vector<float> slice = read_input(slice_frame * orig, slice_end - slice_frame * orig);
        const std::vector<float> out = resampler_(slice);
        const std::size_t offset = slice_frame * out_per_frame;
        return std::vector<float>(out.begin() + std::ptrdiff_t(begin - offset), out.begin() + std::ptrdiff_t(end - offset));
    }

private:
    resampled_audio(std::optional<io::wav_reader> reader, std::vector<float> samples, int orig_rate, int sampling_rate,
                    std::string where, const io::wav_read_options& options)
        : reader_(std::move(reader)), memory_(std::move(samples)), orig_rate_(orig_rate), rate_(sampling_rate),
          resampler_(checked_resampler(orig_rate, sampling_rate, where)), where_(std::move(where)) {
        // In the model's rate, from the lengths alone: a 1 Hz file of an hour becomes 57.6
        // million samples at 16 kHz before a single one is computed.
        if (duration_seconds() > options.max_duration_seconds)
            fail<input_error>(where_, ": audio too long; expected at most ", options.max_duration_seconds, " s, got ",
                              duration_seconds(), " s (", size(), " samples at ", rate_, " Hz, resampled from ", input_size(),
                              " at ", orig_rate_, " Hz; wav_read_options::max_duration_seconds)");
    }

    static preprocess::sinc_resampler checked_resampler(int orig_rate, int sampling_rate, const std::string& where) {
        preprocess::check_resample_rates(orig_rate, sampling_rate, where);
        return preprocess::sinc_resampler(orig_rate, sampling_rate);
    }

    std::size_t input_size() const { return reader_ ? reader_->frames() : memory_.size(); }

    // Input samples [first, first + count), zeros past the end.
    std::vector<float> read_input(std::size_t first, std::size_t count) {
        const std::size_t n = input_size(), have = first < n ? std::min(count, n - first) : 0;
        std::vector<float> out;
        if (reader_) {
            out = reader_->read(std::min(first, n), have);
        } else {
            out.assign(memory_.begin() + std::ptrdiff_t(std::min(first, n)), memory_.begin() + std::ptrdiff_t(std::min(first, n) + have));
        }
        out.resize(count, 0.0f);
        return out;
    }

    std::optional<io::wav_reader> reader_;
    std::vector<float> memory_;
    int orig_rate_ = 0;
    int rate_ = 0;
    preprocess::sinc_resampler resampler_;
    std::string where_;
};

// The helpers below take the model's frame geometry as `Speech`: anything with
// inputs_to_logits_ratio(), min_input_length() and takes_attention_mask(), i.e. an
// interfaces::speech_input (a loaded model) or a family's config (before loading).

// Audio shorter than one frame of the feature encoder is refused up front, with its length.
template <class Speech>
void check_long_enough(const resampled_audio& audio, const Speech& c) {
    if (audio.size() < c.min_input_length())
        fail<input_error>(audio.where(), ": audio of ", audio.size(), " samples at ", audio.sampling_rate(),
                          " Hz is shorter than one frame of the model; expected at least ", c.min_input_length(), " samples (",
                          1000.0 * double(c.min_input_length()) / audio.sampling_rate(), " ms)");
}

// Python's round(): to the nearest integer, ties to even (the FPU's default mode).
inline std::int64_t python_round(double x) { return static_cast<std::int64_t>(std::nearbyint(x)); }

// The ASR pipeline's chunk_length_s / stride_length_s in samples, aligned to whole frames.
struct chunk_schedule {
    std::size_t chunk_len = 0;  // 0: the whole audio in one pass
    std::size_t stride_left = 0;
    std::size_t stride_right = 0;

    // chunk_length_s <= 0 means no chunking; the stride defaults to chunk_length_s / 6 on each side.
    static chunk_schedule from_seconds(double chunk_length_s, std::optional<double> stride_length_s, int sampling_rate,
                                       std::int64_t inputs_to_logits_ratio) {
        chunk_schedule s;
        if (!(chunk_length_s > 0.0)) return s;
        const double stride = stride_length_s.value_or(chunk_length_s / 6);
        if (!std::isfinite(chunk_length_s) || !(stride >= 0.0) || !std::isfinite(stride))
            fail<input_error>("chunking: chunk_length_s ", chunk_length_s, " and stride_length_s ", stride,
                              " must be finite, the stride not negative");
        const auto align = [&](double seconds) {
            const double frames = seconds * sampling_rate / double(inputs_to_logits_ratio);
            return std::size_t(python_round(frames) * inputs_to_logits_ratio);
        };
        s.chunk_len = align(chunk_length_s);
        s.stride_left = s.stride_right = align(stride);
        if (s.chunk_len <= s.stride_left + s.stride_right)
            fail<input_error>("chunking: a chunk of ", chunk_length_s, " s (", s.chunk_len, " samples) must be longer than its two strides of ",
                              stride, " s (", s.stride_left, " samples each)");
        return s;
    }
};

// One piece of audio for the model, and the samples on each side that only give context.
struct audio_chunk {
    std::vector<float> samples;
    std::size_t stride_left = 0;   // leading samples another chunk owns
    std::size_t stride_right = 0;  // trailing samples another chunk owns
};

// chunk_iter: chunks of chunk_len every chunk_len - stride_left - stride_right samples;
// the first has no left stride, the last (the first whose right stride would not be
// whole) no right stride; a chunk no longer than its left stride is skipped.
template <class Fn>
void for_each_chunk(resampled_audio& audio, const chunk_schedule& s, Fn&& fn) {
    const std::size_t n = audio.size();
    if (s.chunk_len == 0) {
        fn(audio_chunk{audio.read(0, n), 0, 0});
        return;
    }
    const std::size_t step = s.chunk_len - s.stride_left - s.stride_right;
    for (std::size_t start = 0; start < n; start += step) {
        const std::size_t end = start + s.chunk_len;
        const bool is_last = s.stride_right > 0 ? end > n : end >= n;
        audio_chunk chunk{audio.read(start, s.chunk_len), start == 0 ? 0 : s.stride_left, is_last ? 0 : s.stride_right};
        if (chunk.samples.size() > chunk.stride_left) fn(std::move(chunk));
        if (is_last) break;
    }
}

// rescale_stride and the slicing of postprocess: the frames of a chunk's model output that
// it owns, [first, last) of `frames`, with numpy's clamping.
struct frame_range {
    std::size_t first = 0, last = 0;
};

inline frame_range owned_frames(const audio_chunk& chunk, std::size_t frames, std::int64_t inputs_to_logits_ratio) {
    if (chunk.stride_left == 0 && chunk.stride_right == 0) return {0, frames};
    const double input_n = double(chunk.samples.size());
    const std::int64_t token_n = python_round(input_n * (1.0 / double(inputs_to_logits_ratio)));
    const std::int64_t left = python_round(double(chunk.stride_left) / input_n * double(token_n));
    const std::int64_t right = python_round(double(chunk.stride_right) / input_n * double(token_n));
    const auto clamp = [&](std::int64_t i) { return std::size_t(std::clamp<std::int64_t>(i, 0, std::int64_t(frames))); };
    const std::size_t first = clamp(left), last = clamp(token_n - right);
    return {first, std::max(first, last)};
}

// A chunk must hold at least one frame of the model.
template <class Speech>
void check_chunk_fits(const chunk_schedule& s, const Speech& c) {
    if (s.chunk_len != 0 && s.chunk_len < c.min_input_length())
        fail<input_error>("chunking: chunks of ", s.chunk_len, " samples are shorter than one frame of the model; expected at least ",
                          c.min_input_length(), " samples");
}

// How long audio is cut: chunk_length_s <= 0 runs it whole (the ASR pipeline's default);
// otherwise chunks of that many seconds overlapping by stride_length_s (default
// chunk_length_s / 6) on each side.
struct chunking {
    double chunk_length_s = 0.0;
    std::optional<double> stride_length_s;
};

// Runs `per_frame` on every chunk of `audio`, normalised by `feature_extractor`:
// (input_values [1, samples], attention_mask [1, samples] or empty) -> [1, frames, width]
// of any element type (int64 ids, float log-probabilities); returns the frames each
// chunk owns, stitched: [frames, width].
// Audio shorter than one frame is an input_error; a trailing chunk that short has no frames.
template <class Speech, class PerFrame>
auto stitch_chunks(resampled_audio& audio, const chunking& how, const Speech& c,
                   const preprocess::wav2vec2_feature_extractor& feature_extractor, PerFrame&& per_frame) {
    using value_type = typename std::decay_t<std::invoke_result_t<PerFrame&, const tensor<2>&, const int_tensor<2>&>>::value_type;
    check_long_enough(audio, c);
    const std::int64_t ratio = c.inputs_to_logits_ratio();
    const chunk_schedule schedule = chunk_schedule::from_seconds(how.chunk_length_s, how.stride_length_s, audio.sampling_rate(), ratio);
    check_chunk_fits(schedule, c);
    std::vector<value_type> rows;
    std::size_t width = 0;
    for_each_chunk(audio, schedule, [&](const audio_chunk& chunk) {
        if (chunk.samples.size() < c.min_input_length()) return;
        const auto features = feature_extractor({chunk.samples}, audio.sampling_rate());
        const xt::xtensor<value_type, 3> out = per_frame(features.input_values, features.attention_mask);
        width = out.shape(2);
        const frame_range keep = owned_frames(chunk, out.shape(1), ratio);
        rows.insert(rows.end(), out.data() + keep.first * width, out.data() + keep.last * width);
    });
    xt::xtensor<value_type, 2> stitched = xt::xtensor<value_type, 2>::from_shape({width ? rows.size() / width : 0, width});
    std::copy(rows.begin(), rows.end(), stitched.begin());
    return stitched;
}

// The feature extractor of a model directory: preprocessor_config.json when present;
// otherwise HF's Wav2Vec2FeatureExtractor defaults (16 kHz, do_normalize), with
// return_attention_mask as the model takes it: true for models whose convs use
// LayerNorm (feat_extract_norm "layer", e.g. large-lv60), false for the GroupNorm
// ones (wav2vec2-base), which must not be given a mask.
template <class Speech>
preprocess::wav2vec2_feature_extractor feature_extractor_for(const std::filesystem::path& dir, const Speech& c) {
    const auto path = dir / "preprocessor_config.json";
    if (std::filesystem::exists(path)) return preprocess::wav2vec2_feature_extractor(preprocess::wav2vec2_feature_extractor_config::from_file(path));
    preprocess::wav2vec2_feature_extractor_config defaults;
    defaults.return_attention_mask = c.takes_attention_mask();
    return preprocess::wav2vec2_feature_extractor(defaults);
}

}  // namespace mmt::pipelines
