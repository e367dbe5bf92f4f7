// The wav2vec2_transcribe example on the tiny CTC fixture; stdout must equal its expected_output.txt.
#include <algorithm>

#include <doctest/doctest.h>

#include "support/data.hpp"
#include "support/programs.hpp"

using namespace mmt::test;

TEST_CASE("example.wav2vec2_transcribe: output on wav2vec2-tiny-ctc equals expected_output.txt" * doctest::test_suite("example")) {
    const auto r = run(example_binary("wav2vec2_transcribe") + " " + quote(data_path("wav2vec2-tiny-ctc").string()) + " " +
                       quote(data_path("wav2vec2-audio/speech_22050.wav").string()));
    CHECK(r.exit_code == 0);
    CHECK(r.output == read_file(example_source("wav2vec2_transcribe") + "/expected_output.txt"));
}

TEST_CASE("example.wav2vec2_transcribe: a file that is not a WAV is one line on stderr and exit 1" * doctest::test_suite("example")) {
    const auto r = run(example_binary("wav2vec2_transcribe") + " " + quote(data_path("wav2vec2-tiny-ctc").string()) + " " +
                       quote(data_path("wav2vec2-tiny-ctc/config.json").string()), true);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("wav2vec2_transcribe: read_wav: '") == 0);
    CHECK(r.output.find("not a RIFF/WAVE file") != std::string::npos);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
}
