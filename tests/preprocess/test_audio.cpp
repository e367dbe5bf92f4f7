#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "mmt/io/safetensors.hpp"
#include "mmt/io/wav.hpp"
#include "mmt/preprocess/audio.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/tolerances.hpp"

namespace {

using mmt::preprocess::resample;
using mmt::preprocess::sinc_resampler;

std::vector<float> as_vector(const mmt::dyn_tensor<float>& t) { return std::vector<float>(t.begin(), t.end()); }

mmt::tensor<1> as_tensor(const std::vector<float>& v) {
    return mmt::tensor<1>(xt::adapt(v, std::array<std::size_t, 1>{v.size()}));
}

const mmt::io::safetensors_file& audio_reference() {
    static const mmt::io::safetensors_file file(mmt::test::data_path("wav2vec2-audio/reference.safetensors"));
    return file;
}

// y = sum_k x[k] * h(k / orig - m / new) with torchaudio's Hann-windowed sinc, in double.
std::vector<double> naive_resample(const std::vector<float>& x, int orig, int target, std::size_t count) {
    const double pi = 3.141592653589793;
    int g = std::gcd(orig, target);
    double o = orig / g, n = target / g, base = std::min(o, n) * 0.99;
    std::vector<double> y(count);
    for (std::size_t m = 0; m < count; ++m) {
        double acc = 0;
        for (std::size_t k = 0; k < x.size(); ++k) {
            double t = (static_cast<double>(k) / o - static_cast<double>(m) / n) * base;
            if (std::fabs(t) >= 6) continue;
            double w = std::cos(t * pi / 12) * std::cos(t * pi / 12);
            double s = t == 0 ? 1.0 : std::sin(pi * t) / (pi * t);
            acc += x[k] * s * w * base / o;
        }
        y[m] = acc;
    }
    return y;
}

}  // namespace

TEST_CASE("preprocess.resample: speech 22050 -> 16000 matches torchaudio" * doctest::test_suite("parity")) {
    auto pcm = as_vector(audio_reference().load<float>("pcm"));
    auto expected = audio_reference().load<float>("resampled_16000");
    auto actual = resample(pcm, 22050, 16000);
    mmt::test::check_close(as_tensor(actual), expected, mmt::test::tol::audio_abs, "resampled_16000");
}

TEST_CASE("preprocess.resample: chirps at 8, 44.1 and 48 kHz to 16 kHz match torchaudio" * doctest::test_suite("parity")) {
    for (int rate : {8000, 44100, 48000}) {
        std::string name = "chirp_" + std::to_string(rate);
        auto input = as_vector(audio_reference().load<float>(name));
        auto expected = audio_reference().load<float>(name + "_to_16000");
        auto actual = resample(input, rate, 16000);
        mmt::test::check_close(as_tensor(actual), expected, mmt::test::tol::audio_abs, name + "_to_16000");
    }
}

TEST_CASE("preprocess.resample: the speech WAV file decodes to the fixture's pcm" * doctest::test_suite("parity")) {
    auto audio = mmt::io::read_wav(mmt::test::data_path("wav2vec2-audio/speech_22050.wav"));
    CHECK(audio.sample_rate == 22050);
    CHECK(audio.channels == 1);
    mmt::test::check_close(as_tensor(audio.samples), audio_reference().load<float>("pcm"), 0.0, "wav pcm");
}

TEST_CASE("preprocess.resample: output length is torchaudio's ceil(new * n / orig)" * doctest::test_suite("unit")) {
    sinc_resampler down(44100, 16000);
    CHECK(down.orig_freq() == 441);
    CHECK(down.new_freq() == 160);
    CHECK(down.output_length(0) == 0);
    CHECK(down.output_length(1) == 1);
    CHECK(down.output_length(441) == 160);
    CHECK(down.output_length(442) == 161);
    CHECK(sinc_resampler(8000, 16000).output_length(4000) == 8000);
    CHECK(sinc_resampler(22050, 16000).output_length(61402) == 44555);
    // Beyond 2^24 outputs torchaudio's float32 ceil loses precision: 99999997 / 3 =
    // 33333332.33 rounds to 33333332.0f, one sample fewer than the exact ceil.
    CHECK(sinc_resampler(48000, 16000).output_length(99999997) == 33333332);
}

TEST_CASE("preprocess.resample: equal rates return the input unchanged" * doctest::test_suite("unit")) {
    std::vector<float> x = {0.5f, -0.25f, 0.125f};
    CHECK(resample(x, 16000, 16000) == x);
    CHECK(resample(x, 32000, 32000) == x);
}

TEST_CASE("preprocess.resample: awkward coprime rates against a naive double twin" * doctest::test_suite("unit")) {
    // 11025 -> 16001 are coprime: 16001 phases; 37 samples keep the twin cheap.
    std::vector<float> x(37);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.3 * i) * 0.8);
    for (auto rates : {std::pair{11025, 16001}, std::pair{16001, 11025}, std::pair{3, 2}, std::pair{1, 7}}) {
        auto actual = resample(x, rates.first, rates.second);
        auto expected = naive_resample(x, rates.first, rates.second, actual.size());
        double worst = 0;
        for (std::size_t i = 0; i < actual.size(); ++i) worst = std::max(worst, std::fabs(actual[i] - expected[i]));
        INFO(rates.first, " -> ", rates.second);
        CHECK(worst <= mmt::test::tol::op_abs);
    }
}

TEST_CASE("preprocess.resample: invalid arguments" * doctest::test_suite("unit")) {
    CHECK_THROWS_WITH_AS(sinc_resampler(0, 16000), doctest::Contains("sample rates must be positive"),
                         mmt::input_error);
    CHECK_THROWS_WITH_AS(sinc_resampler(16000, -1), doctest::Contains("16000 -> -1"), mmt::input_error);
    CHECK_THROWS_WITH_AS(sinc_resampler(8000, 16000, 0), doctest::Contains("lowpass_filter_width"),
                         mmt::input_error);
    CHECK_THROWS_WITH_AS(sinc_resampler(8000, 16000, 6, 1.5), doctest::Contains("rolloff"), mmt::input_error);
}

TEST_CASE("preprocess.wav2vec2_feature_extractor: padded batch matches HF" * doctest::test_suite("parity")) {
    // The fixture's batch is [resampled_16000, resampled_16000[: n / 2]] with an attention mask.
    auto resampled = as_vector(audio_reference().load<float>("resampled_16000"));
    std::vector<float> half(resampled.begin(), resampled.begin() + static_cast<std::ptrdiff_t>(resampled.size() / 2));
    mmt::preprocess::wav2vec2_feature_extractor_config config;
    config.return_attention_mask = true;
    mmt::preprocess::wav2vec2_feature_extractor extract(config);
    auto features = extract({resampled, half}, 16000);

    auto expected_mask = audio_reference().load<float>("normalized_batch_mask");
    mmt::test::check_close(features.attention_mask, expected_mask, 0.0, "normalized_batch_mask");
    mmt::test::check_close(features.input_values, audio_reference().load<float>("normalized_batch"),
                           mmt::test::tol::audio_abs, "normalized_batch");

    // The whole chain from the 22050 Hz pcm, for the record (resampling error is
    // magnified by 1 / std of the signal).
    auto chained = extract({resample(as_vector(audio_reference().load<float>("pcm")), 22050, 16000)}, 16000);
    auto closeness = mmt::test::measure_closeness(
        xt::xarray<float>(xt::view(chained.input_values, 0, xt::all())),
        xt::xarray<float>(xt::view(audio_reference().load<float>("normalized_batch"), 0, xt::all())));
    MESSAGE("pcm -> resample -> normalise vs normalized_batch[0]: " << closeness.describe());
    CHECK(closeness.max_abs <= 10 * mmt::test::tol::audio_abs);
}

TEST_CASE("preprocess.wav2vec2_feature_extractor: without a mask the padded row is normalised whole" *
          doctest::test_suite("unit")) {
    mmt::preprocess::wav2vec2_feature_extractor extract;  // HF defaults: normalise, no mask
    auto features = extract({{1.0f, 2.0f, 3.0f, 4.0f}, {2.0f, 4.0f}}, 16000);
    CHECK(features.attention_mask.size() == 0);
    // Row 1 is [2, 4, 0, 0]: mean 1.5, variance 2.75.
    double denom = std::sqrt(2.75 + 1e-7);
    std::vector<double> row1 = {0.5 / denom, 2.5 / denom, -1.5 / denom, -1.5 / denom};
    for (std::size_t i = 0; i < 4; ++i) CHECK(features.input_values(1, i) == doctest::Approx(row1[i]).epsilon(1e-6));

    auto masked = extract({{1.0f, 2.0f, 3.0f, 4.0f}, {2.0f, 4.0f}}, 16000, true);
    CHECK(masked.input_values(1, 0) == doctest::Approx(-1.0 / std::sqrt(1.0 + 1e-7)).epsilon(1e-6));
    CHECK(masked.input_values(1, 2) == 0.0f);
    CHECK(masked.attention_mask(1, 1) == 1);
    CHECK(masked.attention_mask(1, 2) == 0);

    mmt::preprocess::wav2vec2_feature_extractor_config raw;
    raw.do_normalize = false;
    raw.padding_value = -7.0f;
    auto plain = mmt::preprocess::wav2vec2_feature_extractor(raw)({{0.25f}, {0.5f, 0.75f}}, 16000);
    CHECK(plain.input_values(0, 0) == 0.25f);
    CHECK(plain.input_values(0, 1) == -7.0f);
}

TEST_CASE("preprocess.zero_mean_unit_var_norm: numpy float32 pairwise sums on 1000 samples" *
          doctest::test_suite("unit")) {
    std::vector<float> x(1000);
    for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(std::sin(0.01 * i * i) * 0.3 + 0.1);
    std::vector<float> out(x.size());
    mmt::preprocess::zero_mean_unit_var_norm(x.data(), x.size(), out.data());
    double mean = 0, var = 0;
    for (float v : out) mean += v;
    mean /= out.size();
    for (float v : out) var += (v - mean) * (v - mean);
    var /= out.size();
    CHECK(std::fabs(mean) < 1e-6);
    CHECK(var == doctest::Approx(1.0).epsilon(1e-5));
}

TEST_CASE("preprocess.wav2vec2_feature_extractor: config and input errors" * doctest::test_suite("unit")) {
    using mmt::preprocess::wav2vec2_feature_extractor_config;
    auto dir = mmt::test::scratch_dir("aud_fe");
    {
        std::ofstream(dir / "preprocessor_config.json")
            << R"({"feature_extractor_type": "Wav2Vec2FeatureExtractor", "do_normalize": false,
                  "return_attention_mask": true, "sampling_rate": 8000})";
    }
    auto config = wav2vec2_feature_extractor_config::from_file(dir / "preprocessor_config.json");
    CHECK(config.sampling_rate == 8000);
    CHECK_FALSE(config.do_normalize);
    CHECK(config.return_attention_mask);
    CHECK(config.padding_value == 0.0f);

    CHECK_THROWS_WITH_AS(wav2vec2_feature_extractor_config::from_json({{"sampling_rate", "16k"}}, "pp.json"),
                         doctest::Contains("\"sampling_rate\" has the wrong type"), mmt::config_error);
    CHECK_THROWS_WITH_AS(wav2vec2_feature_extractor_config::from_json({{"feature_size", 80}}, "pp.json"),
                         doctest::Contains("expected 1 (raw waveform), got 80"), mmt::config_error);
    CHECK_THROWS_WITH_AS(wav2vec2_feature_extractor_config::from_json({{"padding_side", "left"}}, "pp.json"),
                         doctest::Contains("expected \"right\", got \"left\""), mmt::config_error);

    mmt::preprocess::wav2vec2_feature_extractor extract;
    CHECK_THROWS_WITH_AS(extract({{0.1f}}, 22050), doctest::Contains("sampled at 22050 Hz; expected 16000 Hz"),
                         mmt::input_error);
    CHECK_THROWS_WITH_AS(extract({}, 16000), doctest::Contains("empty batch"), mmt::input_error);
    CHECK_THROWS_WITH_AS(extract({{0.1f}, {}}, 16000), doctest::Contains("waveform 1 is empty"), mmt::input_error);
}
