// Speech recognition and speech units on the tiny fixtures: the pipeline equals
// the model run by hand, streamed resampling equals torchaudio's whole-signal
// result, chunks tile the frames exactly (as transformers' ASR pipeline cuts
// them), and bad audio gives a clear error.
#include <doctest/doctest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "mmt/io/safetensors.hpp"
#include "mmt/io/wav.hpp"
#include "mmt/pipelines/speech_units.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/peak_memory.hpp"
#include "support/throws.hpp"
#include "support/tolerances.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {

const fs::path speech_wav = test::data_path("wav2vec2-audio/speech_22050.wav");

const pipelines::speech_recognizer& recognizer() {
    static const auto r = pipelines::speech_recognizer::from_pretrained(test::data_path("wav2vec2-tiny-ctc"));
    return r;
}

// The fixture speech at 16 kHz, resampled whole as torchaudio does.
std::vector<float> speech_16k() { return preprocess::resample(io::read_wav(speech_wav).samples, 22050, 16000); }



}  // namespace

TEST_CASE("pipelines.transcription: a file equals the model run by hand on torchaudio-resampled audio" *
          doctest::test_suite("unit")) {
    const auto& r = recognizer();
    const std::vector<float> audio = speech_16k();
    const auto features = r.feature_extractor()({audio}, 16000);
    CHECK(features.attention_mask.size() == 0);  // no preprocessor_config.json: GroupNorm model, HF's default of no mask
    const tensor<3> logits = r.model().forward_ctc(features.input_values).logits;
    const std::vector<std::int64_t> ids = tokenizers::ctc_argmax(xt::view(logits, 0, xt::all(), xt::all()));
    const std::string expected = r.tokenizer().decode(ids);

    const auto from_file = r.transcribe_file(speech_wav);
    MESSAGE("tiny-ctc transcript of the fixture speech (random weights, so gibberish): \"" << from_file.text << "\"");
    CHECK(from_file.text == expected);
    CHECK(from_file.chunks.empty());
    CHECK(r.transcribe(io::read_wav(speech_wav).samples, 22050).text == expected);
    CHECK(r.transcribe(audio, 16000).text == expected);

    pipelines::resampled_audio streamed = pipelines::resampled_audio::open(speech_wav, 16000);
    CHECK(r.frame_ids(streamed, {}) == ids);
}

TEST_CASE("pipelines.transcription: word and character timestamps are the decoder's offsets in seconds" *
          doctest::test_suite("unit")) {
    const auto& r = recognizer();
    pipelines::transcription_options words, chars;
    words.timestamps = pipelines::timestamp_level::word;
    chars.timestamps = pipelines::timestamp_level::character;
    const auto w = r.transcribe_file(speech_wav, words);
    const auto c = r.transcribe_file(speech_wav, chars);
    CHECK(w.text == c.text);
    pipelines::resampled_audio audio = pipelines::resampled_audio::open(speech_wav, 16000);
    const auto decoded = r.tokenizer().decode_with_offsets(r.frame_ids(audio, {}));
    REQUIRE(w.chunks.size() == decoded.word_offsets.size());
    REQUIRE(c.chunks.size() == decoded.char_offsets.size());
    REQUIRE_FALSE(w.chunks.empty());
    for (std::size_t i = 0; i < w.chunks.size(); ++i) {
        CHECK(w.chunks[i].text == decoded.word_offsets[i].word);
        CHECK(w.chunks[i].start == double(decoded.word_offsets[i].start_offset * 320) / 16000);
        CHECK(w.chunks[i].end == double(decoded.word_offsets[i].end_offset * 320) / 16000);
        if (i) CHECK(w.chunks[i].start >= w.chunks[i - 1].end);
    }
    for (std::size_t i = 0; i < c.chunks.size(); ++i) CHECK(c.chunks[i].text == decoded.char_offsets[i].character);
    CHECK(w.chunks.back().end <= 44555.0 / 16000);
}

TEST_CASE("pipelines.transcription: a file that fits one chunk gives the unchunked result" * doctest::test_suite("unit")) {
    const auto& r = recognizer();
    pipelines::transcription_options whole, chunked;
    whole.timestamps = chunked.timestamps = pipelines::timestamp_level::word;
    chunked.chunk_length_s = 10.0;  // the speech is 2.8 s
    const auto a = r.transcribe_file(speech_wav, whole), b = r.transcribe_file(speech_wav, chunked);
    CHECK(a.text == b.text);
    REQUIRE(a.chunks.size() == b.chunks.size());
    for (std::size_t i = 0; i < a.chunks.size(); ++i) {
        CHECK(a.chunks[i].text == b.chunks[i].text);
        CHECK(a.chunks[i].start == b.chunks[i].start);
        CHECK(a.chunks[i].end == b.chunks[i].end);
    }
}

TEST_CASE("pipelines.speech_audio: streamed resampling equals torchaudio's whole-signal result bit for bit" *
          doctest::test_suite("unit")) {
    const std::vector<float> whole = speech_16k();
    pipelines::resampled_audio audio = pipelines::resampled_audio::open(speech_wav, 16000);
    REQUIRE(audio.size() == whole.size());
    std::vector<float> pieces;
    for (std::size_t begin = 0; begin < audio.size(); begin += 1237) {
        const auto piece = audio.read(begin, 1237);
        pieces.insert(pieces.end(), piece.begin(), piece.end());
    }
    CHECK(pieces == whole);
    // Overlapping reads (as chunks with strides make) and reads past the end.
    CHECK(audio.read(5000, 3000) == std::vector<float>(whole.begin() + 5000, whole.begin() + 8000));
    CHECK(audio.read(whole.size() - 10, 100) == std::vector<float>(whole.end() - 10, whole.end()));
    CHECK(audio.read(whole.size(), 5).empty());

    // A rate with a long kernel (48 kHz -> 16 kHz) and one that upsamples (8 kHz), from the fixture chirps.
    const io::safetensors_file ref(test::data_path("wav2vec2-audio/reference.safetensors"));
    for (const auto& [name, rate] : {std::pair<std::string, int>{"chirp_48000", 48000}, {"chirp_8000", 8000}, {"chirp_44100", 44100}}) {
        const auto chirp = ref.load<float>(name);
        pipelines::resampled_audio in_memory(std::vector<float>(chirp.begin(), chirp.end()), rate, 16000);
        std::vector<float> stitched;
        for (std::size_t begin = 0; begin < in_memory.size(); begin += 999) {
            const auto piece = in_memory.read(begin, 999);
            stitched.insert(stitched.end(), piece.begin(), piece.end());
        }
        CHECK(stitched == preprocess::resample(std::vector<float>(chirp.begin(), chirp.end()), rate, 16000));
        test::check_close(tensor<1>(xt::adapt(stitched, std::array<std::size_t, 1>{stitched.size()})), ref.load<float>(name + "_to_16000"),
                          test::tol::audio_abs, name + " streamed");
    }
}

TEST_CASE("pipelines.speech_audio: chunks with strides tile the frames, each exactly once" * doctest::test_suite("unit")) {
    // Samples that carry their own index, no normalisation, and a "model" that reports the
    // index of each frame's first sample: the stitched frames must be 0, 1, 2, ... with none
    // doubled or lost, as many as one pass over the whole audio gives.
    const auto config = wav2vec2::config::from_file(test::data_path("wav2vec2-tiny-ctc/config.json"));
    preprocess::wav2vec2_feature_extractor_config raw;
    raw.do_normalize = false;
    const preprocess::wav2vec2_feature_extractor extractor(raw);
    auto first_sample_of_each_frame = [&](const tensor<2>& input_values, const int_tensor<2>&) {
        const std::int64_t frames = config.feat_extract_output_length(std::int64_t(input_values.shape(1)));
        int_tensor<3> out = int_tensor<3>::from_shape({1, std::size_t(frames), 1});
        for (std::int64_t f = 0; f < frames; ++f) out(0, std::size_t(f), 0) = std::int64_t(input_values(0, std::size_t(f * 320)));
        return out;
    };
    for (const std::size_t n : {std::size_t(200000), std::size_t(160000), std::size_t(33333), std::size_t(80321)}) {
        for (const auto& chunking : {std::pair<double, double>{5.0, 1.0}, {2.0, 0.4}, {1.3, 0.25}, {3.0, 0.5}}) {
            const double chunk_s = chunking.first, stride_s = chunking.second;  // C++17 lambdas (CAPTURE) cannot capture bindings
            CAPTURE(n);
            CAPTURE(chunk_s);
            std::vector<float> ramp(n);
            for (std::size_t i = 0; i < n; ++i) ramp[i] = float(i);
            pipelines::resampled_audio audio(ramp, 16000, 16000);
            const int_tensor<2> frames = pipelines::stitch_chunks(audio, {chunk_s, stride_s}, config, extractor, first_sample_of_each_frame);
            REQUIRE(frames.shape(0) == std::size_t(config.feat_extract_output_length(std::int64_t(n))));
            bool tiled = true;
            for (std::size_t f = 0; f < frames.shape(0); ++f) tiled = tiled && frames(f, 0) == std::int64_t(f * 320);
            CHECK(tiled);
        }
    }
}

TEST_CASE("pipelines.transcription: long audio in chunks neither doubles nor loses words at the borders" *
          doctest::test_suite("unit")) {
    // The fixture speech padded to 3 s, eight times over (24 s). Chunks of 5 s with 1 s strides
    // step by exactly 3 s, so every chunk but the last sees the same samples: each must
    // contribute the same frames, the words of one period once per period. The tiny model
    // never emits "|", so "T", its most frequent letter, delimits words here.
    const auto& r = recognizer();
    tokenizers::ctc_tokenizer_config split_on_t;
    split_on_t.word_delimiter_token = "T";
    const auto vocab = tokenizers::ordered_json::parse(test::read_file(test::data_path("wav2vec2-tiny-ctc/vocab.json")));
    const pipelines::speech_recognizer t_words(r.model(), tokenizers::wav2vec2_ctc_tokenizer(vocab, split_on_t, "vocab.json"),
                                               r.feature_extractor());
    std::vector<float> period = speech_16k();
    period.resize(48000, 0.0f);
    std::vector<float> audio;
    for (int k = 0; k < 8; ++k) audio.insert(audio.end(), period.begin(), period.end());
    pipelines::transcription_options options;
    options.chunk_length_s = 5.0;
    options.stride_length_s = 1.0;
    options.timestamps = pipelines::timestamp_level::word;
    pipelines::resampled_audio source(audio, 16000, 16000);
    const std::vector<std::int64_t> ids = t_words.frame_ids(source, options);
    REQUIRE(ids.size() == std::size_t(r.model().frames_for(audio.size())));  // one pass would give as many frames
    // Chunk k >= 1 owns frames [50 + 150 (k - 1), 50 + 150 k): identical blocks.
    const std::vector<std::int64_t> block(ids.begin() + 50, ids.begin() + 200);
    for (std::size_t k = 1; k < 6; ++k) {
        CAPTURE(k);
        CHECK(std::vector<std::int64_t>(ids.begin() + std::ptrdiff_t(50 + 150 * k), ids.begin() + std::ptrdiff_t(200 + 150 * k)) == block);
    }
    const auto t = t_words.transcribe(audio, 16000, options);
    CHECK(t.text == t_words.tokenizer().decode(ids));
    for (std::size_t i = 1; i < t.chunks.size(); ++i) CHECK(t.chunks[i].start >= t.chunks[i - 1].end);  // in order, no overlap
    // The words starting in each 3 s period after the first chunk's own are the same words.
    auto words_in = [&](double from, double to) {
        std::vector<std::string> w;
        for (const auto& c : t.chunks)
            if (c.start >= from && c.start < to) w.push_back(c.text);
        return w;
    };
    const auto first = words_in(1.0, 4.0);
    MESSAGE(t.chunks.size() << " words in 24 s, " << first.size() << " per 3 s period");
    CHECK(first.size() >= 5);
    for (int k = 1; k < 5; ++k) CHECK(words_in(1.0 + 3 * k, 4.0 + 3 * k) == first);
}

TEST_CASE("pipelines.transcription: bad audio and options give clear errors" * doctest::test_suite("unit")) {
    const auto& r = recognizer();
    const auto dir = test::scratch_dir("w2v_bad_audio");
    const std::string good = test::read_file(speech_wav);

    test::write_file(dir / "notes.wav", "these are not samples");
    test::check_throws<format_error>([&] { r.transcribe_file(dir / "notes.wav"); }, {"notes.wav", "not a RIFF/WAVE file"});

    std::string truncated = good.substr(0, good.size() - 1001);
    test::write_file(dir / "truncated.wav", truncated);
    test::check_throws<format_error>([&] { r.transcribe_file(dir / "truncated.wav"); }, {"truncated.wav", "truncated data chunk"});

    // The fmt chunk's fields: tag at byte 20, channels at 22.
    std::string no_channels = good;
    no_channels[22] = 0;
    no_channels[23] = 0;
    test::write_file(dir / "mute.wav", no_channels);
    test::check_throws<format_error>([&] { r.transcribe_file(dir / "mute.wav"); }, {"mute.wav", "declares 0 channels"});

    std::string mp3 = good;
    mp3[20] = 0x55;
    mp3[21] = 0;
    test::write_file(dir / "mp3.wav", mp3);
    test::check_throws<format_error>([&] { r.transcribe_file(dir / "mp3.wav"); }, {"mp3.wav", "compressed or unsupported WAVE format 0x0055 (MP3)"});

    io::write_wav(dir / "short.wav", std::vector<float>(300, 0.1f), 16000);
    test::check_throws<input_error>([&] { r.transcribe_file(dir / "short.wav"); },
                                    {"short.wav", "300 samples at 16000 Hz is shorter than one frame of the model", "at least 400 samples (25 ms)"});
    io::write_wav(dir / "empty.wav", {}, 8000);
    test::check_throws<input_error>([&] { r.transcribe_file(dir / "empty.wav"); }, {"empty.wav", "0 samples at 16000 Hz"});

    // A float WAV with one bad sample, patched in after writing (the writer refuses them).
    io::write_wav(dir / "float.wav", std::vector<float>(20000, 0.1f), 16000, io::wav_encoding::float32);
    const std::string clean = test::read_file(dir / "float.wav");
    auto with_sample = [&](const fs::path& path, float value) {
        std::string bytes = clean;
        std::memcpy(&bytes[bytes.size() - 4 * (20000 - 12345)], &value, 4);
        test::write_file(path, bytes);
    };
    with_sample(dir / "nan.wav", std::numeric_limits<float>::quiet_NaN());
    test::check_throws<input_error>([&] { r.transcribe_file(dir / "nan.wav"); }, {"nan.wav", "sample 12345 of channel 0 is nan"});
    with_sample(dir / "inf.wav", -std::numeric_limits<float>::infinity());
    pipelines::transcription_options chunked;
    chunked.chunk_length_s = 0.5;
    test::check_throws<input_error>([&] { r.transcribe_file(dir / "inf.wav", chunked); }, {"inf.wav", "sample 12345 of channel 0 is -inf"});
    std::vector<float> samples(20000, 0.1f);
    samples[12345] = std::numeric_limits<float>::quiet_NaN();
    test::check_throws<input_error>([&] { r.transcribe(samples, 16000); }, {"audio: sample 12345 is nan; expected finite samples"});

    pipelines::transcription_options tiny_chunks;
    tiny_chunks.chunk_length_s = 0.02;
    tiny_chunks.stride_length_s = 0.0;
    test::check_throws<input_error>([&] { r.transcribe_file(speech_wav, tiny_chunks); }, {"chunks of 320 samples are shorter than one frame"});
    pipelines::transcription_options wide_strides;
    wide_strides.chunk_length_s = 2.0;
    wide_strides.stride_length_s = 1.0;
    test::check_throws<input_error>([&] { r.transcribe_file(speech_wav, wide_strides); }, {"must be longer than its two strides"});
    test::check_throws<config_error>([] { pipelines::speech_recognizer::from_pretrained(test::data_path("wav2vec2-tiny-pretraining")); },
                                     {"needs a Wav2Vec2ForCTC checkpoint; this one is Wav2Vec2ForPreTraining"});
}

TEST_CASE("pipelines.speech_units: the quantizer's codes per frame and group" * doctest::test_suite("unit")) {
    const auto units = pipelines::speech_unit_extractor::from_pretrained(test::data_path("wav2vec2-tiny-pretraining"));
    const auto& model = units.model();
    const std::vector<float> audio = speech_16k();
    const auto u = units.extract(io::read_wav(speech_wav).samples, 22050);
    CHECK(u.frame_seconds == 0.02);
    REQUIRE(u.codes.shape(0) == std::size_t(model.frames_for(audio.size())));
    REQUIRE(u.codes.shape(1) == 2);
    const auto features = preprocess::wav2vec2_feature_extractor()({audio}, 16000);
    const int_tensor<3> by_hand = model.quantizer->code_indices(model.extract_features(features.input_values));
    CHECK(xt::view(by_hand, 0, xt::all(), xt::all()) == u.codes);
    CHECK(units.from_file(speech_wav).codes == u.codes);
    CHECK(xt::amax(u.codes)() < 7);
    CHECK(xt::amin(u.codes)() >= 0);
    // Chunked: as many frames, and the same codes where one chunk covers the audio.
    pipelines::chunking in_chunks{1.0, 0.2};
    CHECK(units.from_file(speech_wav, in_chunks).codes.shape(0) == u.codes.shape(0));
    CHECK(units.from_file(speech_wav, {10.0, std::nullopt}).codes == u.codes);
    test::check_throws<config_error>([] { pipelines::speech_unit_extractor::from_pretrained(test::data_path("wav2vec2-tiny-ctc")); },
                                     {"speech units need a Wav2Vec2ForPreTraining checkpoint"});
}

TEST_CASE("pipelines.speech_audio: the duration limit holds on the streamed paths, in the model's rate, before reading" *
          doctest::test_suite("unit")) {
    const auto dir = test::scratch_dir("w2v_long_audio");
    // Three hours at 1 Hz: 10800 samples in the file, 172.8 million once resampled to 16 kHz.
    io::write_wav(dir / "three_hours.wav", std::vector<float>(10800, 0.0f), 1);
    const auto& r = recognizer();
    const auto units = pipelines::speech_unit_extractor::from_pretrained(test::data_path("wav2vec2-tiny-pretraining"));
    const auto grown = test::peak_growth([&] {
        test::check_throws<input_error>([&] { r.transcribe_file(dir / "three_hours.wav"); },
                                        {"three_hours.wav", "audio too long", "at most 7200 s", "got 10800 s"});
        pipelines::transcription_options chunked;
        chunked.chunk_length_s = 10.0;
        test::check_throws<input_error>([&] { r.transcribe_file(dir / "three_hours.wav", chunked); },
                                        {"three_hours.wav", "audio too long"});
        test::check_throws<input_error>([&] { units.from_file(dir / "three_hours.wav", {10.0, std::nullopt}); },
                                        {"three_hours.wav", "audio too long"});
        // In memory, the limit is on the length at the model's rate, before resampling.
        test::check_throws<input_error>([&] { r.transcribe(std::vector<float>(10800, 0.0f), 1); },
                                        {"audio: audio too long", "172800000 samples at 16000 Hz", "resampled from 10800 at 1 Hz"});
    });
    CHECK(test::stayed_small(grown));

    // The limit is the caller's wav_read_options, on both paths.
    io::wav_read_options one_second;
    one_second.max_duration_seconds = 1.0;
    io::write_wav(dir / "two_seconds.wav", std::vector<float>(16000, 0.1f), 8000);
    test::check_throws<input_error>([&] { pipelines::resampled_audio::open(dir / "two_seconds.wav", 16000, one_second); },
                                    {"two_seconds.wav", "audio too long", "at most 1 s", "got 2 s"});
    test::check_throws<input_error>([&] { pipelines::resampled_audio(std::vector<float>(16000, 0.1f), 8000, 16000, one_second); },
                                    {"audio too long", "at most 1 s", "got 2 s", "32000 samples at 16000 Hz"});
    CHECK(pipelines::resampled_audio::open(dir / "two_seconds.wav", 16000).size() == 32000);
}

TEST_CASE("pipelines.speech_audio: rates past 768 kHz are refused before the resampler's kernel is built" *
          doctest::test_suite("unit")) {
    const auto dir = test::scratch_dir("w2v_prime_rate");
    // 2^31 - 1 is prime: its kernel to 16 kHz would hold ~1.6 million taps for each of 16000 phases.
    io::write_wav(dir / "prime.wav", std::vector<float>(1000, 0.1f), 2147483647);
    const auto start = std::chrono::steady_clock::now();
    const auto grown = test::peak_growth([&] {
        test::check_throws<input_error>([&] { recognizer().transcribe_file(dir / "prime.wav"); },
                                        {"prime.wav", "cannot resample 2147483647 Hz to 16000 Hz", "at most 768000 Hz",
                                         "max_resample_rate"});
        test::check_throws<input_error>([] { preprocess::sinc_resampler(16000, 1000003); },
                                        {"resample: cannot resample 16000 Hz to 1000003 Hz"});
    });
    CHECK(test::stayed_small(grown));
    CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 5.0);
    // At the cap with coprime rates the kernel is still bounded, and equal rates need none.
    CHECK(preprocess::sinc_resampler(767999, 16000).kernel_width() > 0);
    CHECK(preprocess::sinc_resampler(1000000, 1000000).kernel_width() == 0);
}
