// Audio front end of Wav2Vec2: torchaudio.functional.resample (windowed-sinc,
// Hann window) and transformers' Wav2Vec2FeatureExtractor (zero-mean
// unit-variance normalisation, padding, attention mask).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <numeric>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/json.hpp"

namespace mmt::preprocess {

// The highest sample rate resampled, either way: 768 kHz, the top rate audio interfaces
// record at. The kernel's width grows with orig / min(orig, new) once both are divided
// by their gcd, so prime rates near 2^31 would need gigabytes of taps; under this cap
// the kernel holds at most about 15 x 768000 taps (46 MB), and the work stays about 12
// multiply-adds per input sample plus 15 per output sample. Equal rates (nothing to
// resample) are not capped.
inline constexpr int max_resample_rate = 768000;

// input_error, naming `where`, for rates sinc_resampler does not take (checked from the
// rates alone, before any kernel or output is sized).
inline void check_resample_rates(int orig_freq, int new_freq, const std::string& where) {
    if (orig_freq <= 0 || new_freq <= 0)
        fail<input_error>(where, ": sample rates must be positive; got ", orig_freq, " -> ", new_freq, " Hz");
    if (orig_freq != new_freq && (orig_freq > max_resample_rate || new_freq > max_resample_rate))
        fail<input_error>(where, ": cannot resample ", orig_freq, " Hz to ", new_freq, " Hz; expected rates of at most ",
                          max_resample_rate, " Hz (preprocess::max_resample_rate: the kernel grows with the rates)");
}

// Polyphase windowed-sinc resampler mirroring torchaudio's
// `_get_sinc_resample_kernel` / `_apply_sinc_resample_kernel` (method
// "sinc_interp_hann"). The kernel is built once, like torchaudio.transforms.Resample,
// and reused; it is const and thread-safe.
//
// torchaudio evaluates the kernel in the waveform's dtype (float32), so the taps are
// computed here with the same float32 operations in the same order. Each output
// phase keeps only the taps where the sinc is not clamped to the window edge
// (torchaudio's other taps are below 1e-20), so memory is new_freq x ~2*width
// floats however prime the rates, and time is O(samples x width).
class sinc_resampler {
public:
    sinc_resampler(int orig_freq, int new_freq, int lowpass_filter_width = 6, double rolloff = 0.99) {
        const char* where = "resample";
        check_resample_rates(orig_freq, new_freq, where);
        if (lowpass_filter_width <= 0)
            fail<input_error>(where, ": lowpass_filter_width must be positive, got ", lowpass_filter_width);
        if (!(rolloff > 0.0 && rolloff <= 1.0)) fail<input_error>(where, ": rolloff must be in (0, 1], got ", rolloff);
        int gcd = std::gcd(orig_freq, new_freq);
        orig_ = orig_freq / gcd;
        new_ = new_freq / gcd;
        if (orig_ == new_) return;

        const double base_freq = std::min(orig_, new_) * rolloff;
        width_ = static_cast<std::size_t>(std::ceil(static_cast<double>(lowpass_filter_width) * orig_ / base_freq));
        const std::size_t taps = 2 * width_ + static_cast<std::size_t>(orig_);  // torchaudio's kernel length
        // float32 constants exactly as torch casts the Python scalars.
        const float base_f = static_cast<float>(base_freq);
        const float pi_f = static_cast<float>(3.141592653589793);  // math.pi
        const float lfw_f = static_cast<float>(lowpass_filter_width);
        const float scale_f = static_cast<float>(base_freq / orig_);
        const float orig_f = static_cast<float>(orig_);

        phase_begin_.resize(static_cast<std::size_t>(new_) + 1);
        phase_first_tap_.resize(static_cast<std::size_t>(new_));
        for (int j = 0; j < new_; ++j) {
            // Taps with |t| < lowpass_filter_width: k - width in orig * (j / new -+ lfw / base).
            double centre = static_cast<double>(width_) + static_cast<double>(orig_) * j / new_;
            double half = static_cast<double>(orig_) * lowpass_filter_width / base_freq;
            auto lo = static_cast<std::ptrdiff_t>(std::floor(centre - half)) - 1;
            auto hi = static_cast<std::ptrdiff_t>(std::ceil(centre + half)) + 2;
            std::size_t first = static_cast<std::size_t>(std::max<std::ptrdiff_t>(lo, 0));
            std::size_t last = std::min(static_cast<std::size_t>(std::max<std::ptrdiff_t>(hi, 0)), taps);
            phase_begin_[static_cast<std::size_t>(j)] = kernel_.size();
            phase_first_tap_[static_cast<std::size_t>(j)] = first;
            const float phase = static_cast<float>(-static_cast<double>(j) / new_);
            for (std::size_t k = first; k < last; ++k) {
                float idx = static_cast<float>(static_cast<std::ptrdiff_t>(k) - static_cast<std::ptrdiff_t>(width_));
                float t = (phase + idx / orig_f) * base_f;
                t = std::min(std::max(t, -lfw_f), lfw_f);
                float c = std::cos(t * pi_f / lfw_f / 2.0f);
                float window = c * c;
                t *= pi_f;
                float tap = t == 0.0f ? 1.0f : std::sin(t) / t;
                tap *= window;
                kernel_.push_back(tap * scale_f);
            }
        }
        phase_begin_[static_cast<std::size_t>(new_)] = kernel_.size();
    }

    // Rates after dividing by their gcd, as torchaudio uses them.
    int orig_freq() const { return orig_; }
    int new_freq() const { return new_; }
    // Input samples the kernel reaches on each side of an output frame's origin: output m
    // (frame m / new) reads input [frame * orig - width, frame * orig + orig + width).
    std::size_t kernel_width() const { return width_; }

    // torchaudio's length: ceil(new * n / orig) evaluated in float32 (it goes
    // through torch.as_tensor of a Python float), capped by the conv output.
    std::size_t output_length(std::size_t input_length) const {
        if (orig_ == new_) return input_length;
        double exact = static_cast<double>(static_cast<std::uint64_t>(new_) * input_length) / orig_;
        auto target = static_cast<std::size_t>(std::ceil(static_cast<float>(exact)));
        std::size_t frames = input_length / static_cast<std::size_t>(orig_) + 1;
        return std::min(target, frames * static_cast<std::size_t>(new_));
    }

    // [n] -> [output_length(n)]
    std::vector<float> operator()(const float* waveform, std::size_t n) const {
        if (orig_ == new_) return std::vector<float>(waveform, waveform + n);
        std::vector<float> out(output_length(n));
        const auto new_freq = static_cast<std::size_t>(new_);
        const auto orig_freq = static_cast<std::size_t>(orig_);
        const auto signed_n = static_cast<std::ptrdiff_t>(n);
        // Output m = frame * new + phase reads input frame * orig + tap - width (zero outside).
        parallel_for(out.size(), 4096, [&](std::size_t begin, std::size_t end) {
            for (std::size_t m = begin; m < end; ++m) {
                std::size_t phase = m % new_freq;
                auto origin = static_cast<std::ptrdiff_t>((m / new_freq) * orig_freq + phase_first_tap_[phase]) -
                              static_cast<std::ptrdiff_t>(width_);
                const float* taps = kernel_.data() + phase_begin_[phase];
                auto count = static_cast<std::ptrdiff_t>(phase_begin_[phase + 1] - phase_begin_[phase]);
                std::ptrdiff_t k0 = std::max<std::ptrdiff_t>(0, -origin);
                std::ptrdiff_t k1 = std::min<std::ptrdiff_t>(count, signed_n - origin);
                double acc = 0;
                for (std::ptrdiff_t k = k0; k < k1; ++k) acc += static_cast<double>(taps[k]) * waveform[origin + k];
                out[m] = static_cast<float>(acc);
            }
        });
        return out;
    }

    std::vector<float> operator()(const std::vector<float>& waveform) const {
        return (*this)(waveform.data(), waveform.size());
    }

private:
    int orig_ = 1;
    int new_ = 1;
    std::size_t width_ = 0;
    std::vector<float> kernel_;                 // the kept taps of every phase, back to back
    std::vector<std::size_t> phase_begin_;      // [new + 1] start of each phase in kernel_
    std::vector<std::size_t> phase_first_tap_;  // [new] index of its first kept tap in the full kernel
};

// torchaudio.functional.resample(waveform, orig_freq, new_freq) with its defaults.
inline std::vector<float> resample(const std::vector<float>& waveform, int orig_freq, int new_freq,
                                   int lowpass_filter_width = 6, double rolloff = 0.99) {
    return sinc_resampler(orig_freq, new_freq, lowpass_filter_width, rolloff)(waveform);
}

namespace detail {

// numpy's float32 add.reduce over a contiguous run: pairwise summation with
// 8-way unrolled blocks of at most 128, accumulating in float32. value(i) gives
// element i, so the squared deviations of np.var need no temporary array.
template <class Value>
float numpy_pairwise_sum(std::size_t begin, std::size_t n, const Value& value) {
    if (n < 8) {
        float res = 0.0f;
        for (std::size_t i = 0; i < n; ++i) res += value(begin + i);
        return res;
    }
    if (n <= 128) {
        float r[8];
        for (std::size_t j = 0; j < 8; ++j) r[j] = value(begin + j);
        std::size_t i = 8;
        for (; i < n - n % 8; i += 8)
            for (std::size_t j = 0; j < 8; ++j) r[j] += value(begin + i + j);
        float res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += value(begin + i);
        return res;
    }
    std::size_t n2 = n / 2;
    n2 -= n2 % 8;
    return numpy_pairwise_sum(begin, n2, value) + numpy_pairwise_sum(begin + n2, n - n2, value);
}

}  // namespace detail

// (x - x.mean()) / np.sqrt(x.var() + 1e-7) over x[0:length], with numpy 1.x's
// dtypes: float32 mean and variance (pairwise sums, divided by n), the
// epsilon added and the square root taken in float64, the quotient in float32.
// Writes [length] values to out.
inline void zero_mean_unit_var_norm(const float* x, std::size_t length, float* out) {
    if (length == 0) fail<input_error>("zero_mean_unit_var_norm: expected at least one sample, got 0");
    float sum = detail::numpy_pairwise_sum(0, length, [x](std::size_t i) { return x[i]; });
    // np.mean divides a float32 scalar by n in float64; np.var divides a float32
    // array by n in float32. Both equal fl32(sum / n) below 2^24 samples.
    auto mean = static_cast<float>(static_cast<double>(sum) / static_cast<double>(length));
    float var_mean = sum / static_cast<float>(length);
    float squares = detail::numpy_pairwise_sum(0, length, [x, var_mean](std::size_t i) {
        float d = x[i] - var_mean;
        return d * d;
    });
    auto var = static_cast<float>(static_cast<double>(squares) / static_cast<double>(length));
    auto denom = static_cast<float>(std::sqrt(static_cast<double>(var) + 1e-7));
    for (std::size_t i = 0; i < length; ++i) out[i] = (x[i] - mean) / denom;
}

// preprocessor_config.json of Wav2Vec2FeatureExtractor; member initialisers are HF's defaults.
struct wav2vec2_feature_extractor_config {
    int feature_size = 1;
    int sampling_rate = 16000;
    float padding_value = 0.0f;
    bool do_normalize = true;
    bool return_attention_mask = false;
    std::string padding_side = "right";

    static wav2vec2_feature_extractor_config from_json(const io::json& j, const std::string& where) {
        wav2vec2_feature_extractor_config c;
        io::json_optional(j, "feature_size", c.feature_size, where);
        io::json_optional(j, "sampling_rate", c.sampling_rate, where);
        io::json_optional(j, "padding_value", c.padding_value, where);
        io::json_optional(j, "do_normalize", c.do_normalize, where);
        io::json_optional(j, "return_attention_mask", c.return_attention_mask, where);
        io::json_optional(j, "padding_side", c.padding_side, where);
        if (c.feature_size != 1)
            fail<config_error>(where, ": key \"feature_size\": expected 1 (raw waveform), got ", c.feature_size);
        if (c.sampling_rate <= 0)
            fail<config_error>(where, ": key \"sampling_rate\": expected a positive rate, got ", c.sampling_rate);
        // HF normalises x[:length], which is only the signal when padding is on the right.
        if (c.padding_side != "right")
            fail<config_error>(where, ": key \"padding_side\": expected \"right\", got \"", c.padding_side, "\"");
        return c;
    }

    static wav2vec2_feature_extractor_config from_file(const std::filesystem::path& path) {
        return from_json(io::read_json_file(path), path.string());
    }
};

// What the feature extractor returns for a batch.
struct audio_features {
    tensor<2> input_values;          // [batch, max_length]
    int_tensor<2> attention_mask;    // [batch, max_length], 1 on samples; [0, 0] when not requested
};

// Wav2Vec2FeatureExtractor.__call__(raw_speech, sampling_rate=..., padding=True):
// every sequence is padded on the right to the longest with padding_value; when
// do_normalize, each row is normalised over its real samples if an attention mask
// is returned (padding then reset to padding_value), otherwise over the whole
// padded row, as HF does for wav2vec2-base style extractors.
class wav2vec2_feature_extractor {
public:
    wav2vec2_feature_extractor() = default;
    explicit wav2vec2_feature_extractor(wav2vec2_feature_extractor_config config) : config_(std::move(config)) {}

    const wav2vec2_feature_extractor_config& config() const { return config_; }

    // `return_attention_mask` overrides the config's choice when set.
    audio_features operator()(const std::vector<std::vector<float>>& raw_speech, int sampling_rate,
                              std::optional<bool> return_attention_mask = std::nullopt) const {
        const char* where = "wav2vec2_feature_extractor";
        if (sampling_rate != config_.sampling_rate)
            fail<input_error>(where, ": audio sampled at ", sampling_rate, " Hz; expected ", config_.sampling_rate,
                              " Hz (resample it first)");
        if (raw_speech.empty()) fail<input_error>(where, ": expected at least one waveform, got an empty batch");
        std::size_t max_length = 0;
        for (std::size_t b = 0; b < raw_speech.size(); ++b) {
            if (raw_speech[b].empty()) fail<input_error>(where, ": waveform ", b, " is empty; expected samples");
            max_length = std::max(max_length, raw_speech[b].size());
        }
        bool with_mask = return_attention_mask.value_or(config_.return_attention_mask);

        audio_features f;
        f.input_values = tensor<2>::from_shape({raw_speech.size(), max_length});
        f.input_values.fill(config_.padding_value);
        if (with_mask) {
            f.attention_mask = int_tensor<2>::from_shape({raw_speech.size(), max_length});
            f.attention_mask.fill(0);
        }
        for (std::size_t b = 0; b < raw_speech.size(); ++b) {
            const std::vector<float>& wave = raw_speech[b];
            float* row = &f.input_values(b, 0);
            std::copy(wave.begin(), wave.end(), row);
            if (with_mask) std::fill(&f.attention_mask(b, 0), &f.attention_mask(b, 0) + wave.size(), 1);
            if (config_.do_normalize) zero_mean_unit_var_norm(row, with_mask ? wave.size() : max_length, row);
        }
        return f;
    }

private:
    wav2vec2_feature_extractor_config config_;
};

}  // namespace mmt::preprocess
