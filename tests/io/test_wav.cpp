#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "mmt/io/wav.hpp"
#include "support/data.hpp"

namespace {

using mmt::io::read_wav;
using mmt::io::wav_audio;

// Little-endian byte builders for hand-made WAV files.
std::string u16(unsigned v) { return {static_cast<char>(v & 0xFF), static_cast<char>((v >> 8) & 0xFF)}; }
std::string u32(std::uint32_t v) { return u16(v & 0xFFFF) + u16(v >> 16); }

std::string chunk(const std::string& id, const std::string& body) {
    return id + u32(static_cast<std::uint32_t>(body.size())) + body + (body.size() % 2 ? std::string(1, '\0') : "");
}

std::string riff(const std::string& chunks) {
    return "RIFF" + u32(static_cast<std::uint32_t>(4 + chunks.size())) + "WAVE" + chunks;
}

std::string fmt_chunk(unsigned tag, unsigned channels, std::uint32_t rate, unsigned bits) {
    unsigned block = channels * ((bits + 7) / 8);
    return chunk("fmt ", u16(tag) + u16(channels) + u32(rate) + u32(rate * block) + u16(block) + u16(bits));
}

// WAVE_FORMAT_EXTENSIBLE with a KSDATAFORMAT_SUBTYPE for `sub_format` (1 PCM, 3 float).
std::string extensible_chunk(unsigned sub_format, unsigned channels, std::uint32_t rate, unsigned bits,
                             unsigned valid_bits, const std::string& guid_tail = std::string(
                                                      "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71", 14)) {
    unsigned block = channels * bits / 8;
    return chunk("fmt ", u16(0xFFFE) + u16(channels) + u32(rate) + u32(rate * block) + u16(block) + u16(bits) +
                             u16(22) + u16(valid_bits) + u32(0) + u16(sub_format) + guid_tail);
}

std::string int_samples(const std::vector<std::int64_t>& values, unsigned bytes) {
    std::string s;
    for (std::int64_t v : values)
        for (unsigned b = 0; b < bytes; ++b) s += static_cast<char>((static_cast<std::uint64_t>(v) >> (8 * b)) & 0xFF);
    return s;
}

template <class T>
std::string float_samples(const std::vector<T>& values) {
    std::string s(values.size() * sizeof(T), '\0');
    std::memcpy(s.data(), values.data(), s.size());
    return s;
}

wav_audio decode_wav_bytes(const std::string& bytes, const mmt::io::wav_read_options& options = {}) {
    return mmt::io::decode_wav(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), "test.wav", options);
}

// Writes the bytes to a file and reads them back, so read_wav's mapping is exercised too.
wav_audio round_trip(const std::string& bytes, const std::string& name) {
    auto path = mmt::test::scratch_dir("aud_wav") / name;
    std::ofstream(path, std::ios::binary) << bytes;
    return read_wav(path);
}

void check_samples(const wav_audio& audio, const std::vector<double>& expected) {
    REQUIRE(audio.samples.size() == expected.size());
    for (std::size_t i = 0; i < expected.size(); ++i) {
        INFO("sample ", i);
        CHECK(audio.samples[i] == static_cast<float>(expected[i]));
    }
}

}  // namespace

TEST_CASE("io.wav: PCM 8, 16, 24 and 32 bit scale as libsndfile" * doctest::test_suite("unit")) {
    auto pcm8 = round_trip(riff(fmt_chunk(1, 1, 8000, 8) + chunk("data", int_samples({0, 128, 255, 64, 192}, 1))), "u8.wav");
    CHECK(pcm8.sample_rate == 8000);
    CHECK(pcm8.channels == 1);
    check_samples(pcm8, {-1.0, 0.0, 127.0 / 128, -0.5, 0.5});  // odd data size: padded chunk

    auto pcm16 = round_trip(riff(fmt_chunk(1, 1, 22050, 16) + chunk("data", int_samples({-32768, 0, 32767, 16384, -1}, 2))),
                            "s16.wav");
    check_samples(pcm16, {-1.0, 0.0, 32767.0 / 32768, 0.5, -1.0 / 32768});

    auto pcm24 = round_trip(
        riff(fmt_chunk(1, 1, 96000, 24) + chunk("data", int_samples({-8388608, 1, 8388607, -4194304}, 3))), "s24.wav");
    CHECK(pcm24.sample_rate == 96000);
    check_samples(pcm24, {-1.0, 1.0 / 8388608, 8388607.0 / 8388608, -0.5});

    auto pcm32 = round_trip(riff(fmt_chunk(1, 1, 44100, 32) +
                                 chunk("data", int_samples({INT32_MIN, 256, INT32_MAX, 1 << 30}, 4))),
                            "s32.wav");
    check_samples(pcm32, {-1.0, 256.0 / 2147483648.0, 2147483647.0 / 2147483648.0, 0.5});
}

TEST_CASE("io.wav: IEEE float 32 and 64 bit" * doctest::test_suite("unit")) {
    auto f32 = round_trip(riff(fmt_chunk(3, 1, 16000, 32) + chunk("data", float_samples<float>({0.25f, -1.5f, 1e-30f}))),
                          "f32.wav");
    check_samples(f32, {0.25, -1.5, 1e-30f});  // values beyond [-1, 1] are kept, as soundfile does
    auto f64 = round_trip(riff(fmt_chunk(3, 1, 16000, 64) + chunk("data", float_samples<double>({0.1, -2.0, 1.0 / 3}))),
                          "f64.wav");
    check_samples(f64, {static_cast<float>(0.1), -2.0, static_cast<float>(1.0 / 3)});
}

TEST_CASE("io.wav: channels are averaged to mono" * doctest::test_suite("unit")) {
    auto three = decode_wav_bytes(riff(fmt_chunk(1, 3, 16000, 16) + chunk("data", int_samples({3000, 6000, -3000, 1, 2, 3}, 2))));
    CHECK(three.channels == 3);
    check_samples(three, {2000.0 / 32768, 2.0 / 32768});
    auto stereo = decode_wav_bytes(riff(fmt_chunk(3, 2, 16000, 32) + chunk("data", float_samples<float>({0.5f, -0.25f, 1.0f, 1.0f}))));
    check_samples(stereo, {0.125, 1.0});
}

TEST_CASE("io.wav: WAVE_FORMAT_EXTENSIBLE PCM and float" * doctest::test_suite("unit")) {
    // 20 valid bits left-justified in a 24-bit container read as the container: v / 2^19.
    auto pcm = decode_wav_bytes(riff(extensible_chunk(1, 1, 48000, 24, 20) +
                           chunk("data", int_samples({(1 << 4) * 3, -(1 << 4) * (1 << 18)}, 3))));
    check_samples(pcm, {3.0 / 524288, -0.5});
    auto flt = decode_wav_bytes(riff(extensible_chunk(3, 2, 48000, 32, 32) + chunk("data", float_samples<float>({0.5f, 0.25f}))));
    check_samples(flt, {0.375});
}

TEST_CASE("io.wav: chunks in any order with odd-size padding" * doctest::test_suite("unit")) {
    std::string data = chunk("data", int_samples({100, -200, 300}, 2));
    std::string list = chunk("LIST", std::string("INFOISFT\x03\x00\x00\x00" "abc", 15));  // odd: padded to 16
    auto audio = decode_wav_bytes(riff(list + data + chunk("junk", "x") + fmt_chunk(1, 1, 11025, 16)));
    CHECK(audio.sample_rate == 11025);
    check_samples(audio, {100.0 / 32768, -200.0 / 32768, 300.0 / 32768});
    // A RIFF size of 0 (streaming writers) is ignored in favour of the file size.
    std::string bytes = riff(fmt_chunk(1, 1, 8000, 16) + data);
    bytes.replace(4, 4, u32(0));
    CHECK(decode_wav_bytes(bytes).samples.size() == 3);
    CHECK(decode_wav_bytes(bytes).duration_seconds() == doctest::Approx(3.0 / 8000));
}

TEST_CASE("io.wav: writer round trip, PCM16 and float32" * doctest::test_suite("unit")) {
    auto dir = mmt::test::scratch_dir("aud_wav_writer");
    std::vector<float> samples = {0.0f, 0.5f, -1.0f, 12345.0f / 32768, -1.0f / 32768};
    mmt::io::write_wav(dir / "pcm16.wav", samples, 16000);
    auto pcm = read_wav(dir / "pcm16.wav");
    CHECK(pcm.sample_rate == 16000);
    CHECK(pcm.samples == samples);
    CHECK(std::filesystem::file_size(dir / "pcm16.wav") == 44 + 2 * samples.size());

    // PCM16 clips to [-1, 32767 / 32768].
    mmt::io::write_wav(dir / "clip.wav", {1.5f, -3.0f, 1.0f}, 8000);
    CHECK(read_wav(dir / "clip.wav").samples == std::vector<float>{32767.0f / 32768, -1.0f, 32767.0f / 32768});

    std::vector<float> wide = {0.1f, -2.5f, 1e-8f, 3.0f};
    mmt::io::write_wav(dir / "float.wav", wide, 44100, mmt::io::wav_encoding::float32);
    auto flt = read_wav(dir / "float.wav");
    CHECK(flt.sample_rate == 44100);
    CHECK(flt.samples == wide);

    CHECK_THROWS_WITH_AS(mmt::io::encode_wav({0.0f, std::nanf("")}, 16000),
                         doctest::Contains("sample 1 is nan; expected a finite value"), mmt::input_error);
    CHECK_THROWS_WITH_AS(mmt::io::encode_wav({0.0f}, 0), doctest::Contains("sample rate must be positive, got 0"),
                         mmt::input_error);
    CHECK_THROWS_WITH_AS(mmt::io::write_wav(dir / "missing" / "x.wav", {0.0f}, 16000),
                         doctest::Contains("cannot open"), mmt::io_error);
}

TEST_CASE("io.wav: not a RIFF/WAVE file" * doctest::test_suite("unit")) {
    CHECK_THROWS_WITH_AS(read_wav(mmt::test::data_path("wav2vec2-audio/missing.wav")),
                         doctest::Contains("missing.wav"), mmt::io_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes("ID3\x03 not a wav file"),
                         doctest::Contains("test.wav: not a RIFF/WAVE file; expected 'RIFF' ... 'WAVE', got 'ID3\\x03'"),
                         mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes("RIF"), doctest::Contains("got only 3 bytes"), mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes("RIFF" + u32(4) + "AVI "), doctest::Contains("got 'RIFF' ... 'AVI '"),
                         mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes("RIFX" + u32(4) + "WAVE"), doctest::Contains("big-endian RIFX"), mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes("RF64" + u32(0xFFFFFFFF) + "WAVE"), doctest::Contains("RF64"), mmt::format_error);
    auto path = mmt::test::scratch_dir("aud_wav_errors") / "named.wav";
    std::ofstream(path, std::ios::binary) << "RIFF";
    std::string message = "read_wav: '" + path.string() + "': not a RIFF/WAVE file";
    CHECK_THROWS_WITH_AS(read_wav(path), doctest::Contains(message.c_str()), mmt::format_error);
}

TEST_CASE("io.wav: missing or broken chunks" * doctest::test_suite("unit")) {
    std::string data = chunk("data", int_samples({1, 2}, 2));
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(data)), doctest::Contains("missing fmt chunk"), mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(fmt_chunk(1, 1, 16000, 16) + chunk("LIST", "abc"))),
                         doctest::Contains("missing data chunk"), mmt::format_error);
    // The data chunk declares 4000 bytes, the file holds 4.
    std::string truncated = riff(fmt_chunk(1, 1, 16000, 16) + "data" + u32(4000) + int_samples({1, 2}, 2));
    CHECK_THROWS_WITH_AS(decode_wav_bytes(truncated), doctest::Contains("truncated data chunk; declares 4000 bytes, only 4 remain"),
                         mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(fmt_chunk(1, 2, 16000, 16) + chunk("data", int_samples({1, 2, 3}, 2)))),
                         doctest::Contains("expected a multiple of 4 bytes (whole frames), got 6"), mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(chunk("fmt ", u16(1) + u16(1)) + data)),
                         doctest::Contains("fmt chunk too short; expected at least 16 bytes, got 4"), mmt::format_error);
}

TEST_CASE("io.wav: FFmpeg's streamed sizes (0xFFFFFFFF) read to the end of the file; a wrong RIFF size is named" *
          doctest::test_suite("unit")) {
    // ffmpeg -i in.mp3 -f wav - | ...: RIFF and data sizes left at 0xFFFFFFFF, as FFmpeg, sox and libsndfile read them.
    const std::string samples = int_samples({1000, -2000, 3000}, 2);
    const std::string streamed = "RIFF" + u32(0xFFFFFFFF) + "WAVE" + fmt_chunk(1, 1, 16000, 16) + "data" + u32(0xFFFFFFFF) + samples;
    check_samples(decode_wav_bytes(streamed), {1000 / 32768.0, -2000 / 32768.0, 3000 / 32768.0});
    check_samples(decode_wav_bytes(streamed + "\x7f"), {1000 / 32768.0, -2000 / 32768.0, 3000 / 32768.0});  // a cut last frame is dropped
    check_samples(round_trip(streamed, "streamed.wav"), {1000 / 32768.0, -2000 / 32768.0, 3000 / 32768.0});

    // A RIFF size of 4 ends the file before its chunks: said so, not "missing fmt chunk".
    const std::string body = fmt_chunk(1, 1, 16000, 16) + chunk("data", samples);
    CHECK_THROWS_WITH_AS(decode_wav_bytes("RIFF" + u32(4) + "WAVE" + body),
                         doctest::Contains("test.wav: RIFF size 4 ends the RIFF chunk at byte 12 of 50 with no 'fmt ' chunk in it; "
                                           "expected a RIFF size of 42 (the file's bytes after the first 8): a wrong RIFF size?"),
                         mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes("RIFF" + u32(28) + "WAVE" + body), doctest::Contains("RIFF size 28 ends the RIFF chunk at byte 36 of 50 with no 'data' chunk"),
                         mmt::format_error);
}

TEST_CASE("io.wav: refused formats name what they found" * doctest::test_suite("unit")) {
    std::string data = chunk("data", int_samples({1, 2}, 2));
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(fmt_chunk(1, 0, 16000, 16) + data)),
                         doctest::Contains("declares 0 channels; expected at least 1"), mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(fmt_chunk(0x0055, 1, 16000, 16) + data)),
                         doctest::Contains("compressed or unsupported WAVE format 0x0055 (MP3); expected PCM (0x0001) "
                                           "or IEEE float (0x0003)"),
                         mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(fmt_chunk(0x0011, 1, 16000, 4) + data)),
                         doctest::Contains("0x0011 (IMA ADPCM)"), mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(extensible_chunk(0x0006, 1, 8000, 16, 16) + data)),
                         doctest::Contains("0x0006 (A-law)"), mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(extensible_chunk(1, 1, 8000, 16, 16, std::string(14, 'x')) + data)),
                         doctest::Contains("sub-format GUID is not a KSDATAFORMAT_SUBTYPE"), mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(extensible_chunk(1, 1, 8000, 16, 24) + data)),
                         doctest::Contains("valid bits per sample exceed the container; expected at most 16, got 24"),
                         mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(fmt_chunk(3, 1, 16000, 16) + data)),
                         doctest::Contains("unsupported bits per sample for IEEE float; expected 32 or 64, got 16"),
                         mmt::format_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(fmt_chunk(1, 1, 0, 16) + data)), doctest::Contains("sample rate of 0 Hz"),
                         mmt::format_error);
    std::string bad_align = fmt_chunk(1, 2, 16000, 16);
    bad_align.replace(8 + 12, 2, u16(3));
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(bad_align + data)),
                         doctest::Contains("block align does not match 2 channels of 2 bytes; expected 4, got 3"),
                         mmt::format_error);
}

TEST_CASE("io.wav: non-finite samples and the duration limit" * doctest::test_suite("unit")) {
    const float inf = std::numeric_limits<float>::infinity();
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(fmt_chunk(3, 1, 16000, 32) + chunk("data", float_samples<float>({0.0f, std::nanf("")})))),
                         doctest::Contains("sample 1 of channel 0 is nan; expected finite float32 samples"),
                         mmt::input_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(fmt_chunk(3, 2, 16000, 32) + chunk("data", float_samples<float>({0.0f, -inf})))),
                         doctest::Contains("sample 0 of channel 1 is -inf"), mmt::input_error);
    CHECK_THROWS_WITH_AS(decode_wav_bytes(riff(fmt_chunk(3, 1, 16000, 64) + chunk("data", float_samples<double>({1e300})))),
                         doctest::Contains("sample 0 of channel 0 is 1e+300; expected finite float32 samples"),
                         mmt::input_error);

    // 3 s of 8 kHz audio against a 2 s limit: refused from the header alone.
    std::string long_file = riff(fmt_chunk(1, 1, 8000, 16) + chunk("data", std::string(2 * 24000, '\0')));
    mmt::io::wav_read_options options;
    options.max_duration_seconds = 2.0;
    CHECK_THROWS_WITH_AS(decode_wav_bytes(long_file, options),
                         doctest::Contains("audio too long; expected at most 2 s, got 3 s (24000 frames at 8000 Hz)"),
                         mmt::input_error);
    options.max_duration_seconds = 3.0;
    CHECK(decode_wav_bytes(long_file, options).samples.size() == 24000);
}
