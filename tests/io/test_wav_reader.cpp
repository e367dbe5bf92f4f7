// io::wav_reader: a WAV file read in pieces gives read_wav's samples, and refuses
// what read_wav refuses when it is opened.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "mmt/io/wav.hpp"
#include "support/data.hpp"
#include "support/throws.hpp"

using namespace mmt;

TEST_CASE("io.wav_reader: pieces read in any order equal read_wav's samples" * doctest::test_suite("unit")) {
    const auto path = test::data_path("wav2vec2-audio/speech_22050.wav");
    const io::wav_audio whole = io::read_wav(path);
    io::wav_reader reader(path);
    CHECK(reader.sample_rate() == 22050);
    CHECK(reader.channels() == whole.channels);
    REQUIRE(reader.frames() == whole.samples.size());
    // Forward in uneven pieces (pages behind are released), then back to the start.
    std::vector<float> pieces;
    for (std::size_t first = 0; first < reader.frames(); first += 4099) {
        const auto piece = reader.read(first, std::min<std::size_t>(4099, reader.frames() - first));
        pieces.insert(pieces.end(), piece.begin(), piece.end());
    }
    CHECK(pieces == whole.samples);
    CHECK(reader.read(0, 10) == std::vector<float>(whole.samples.begin(), whole.samples.begin() + 10));
    CHECK(reader.read(reader.frames(), 0).empty());
    test::check_throws<input_error>([&] { reader.read(reader.frames() - 5, 6); },
                                    {"speech_22050.wav", "outside the file's " + std::to_string(reader.frames()) + " frames"});
}

TEST_CASE("io.wav_reader: a broken file is refused when opened, a bad sample when read" * doctest::test_suite("unit")) {
    const auto dir = test::scratch_dir("w2v_wav_reader");
    std::ofstream(dir / "text.wav") << "hello, not audio";
    test::check_throws<format_error>([&] { io::wav_reader r(dir / "text.wav"); }, {"text.wav", "not a RIFF/WAVE file"});
    std::vector<float> samples(100, 0.25f);
    io::write_wav(dir / "ok.wav", samples, 8000, io::wav_encoding::float32);
    std::string bytes;
    {
        std::ifstream in(dir / "ok.wav", std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(&bytes[bytes.size() - 4 * 30], &nan, 4);  // sample 70
    std::ofstream(dir / "nan.wav", std::ios::binary) << bytes;
    io::wav_reader reader(dir / "nan.wav");
    CHECK(reader.read(0, 70).size() == 70);
    test::check_throws<input_error>([&] { reader.read(60, 20); }, {"nan.wav", "sample 70 of channel 0 is nan"});
}
