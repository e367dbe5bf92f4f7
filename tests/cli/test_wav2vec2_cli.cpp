// The mmt tool's Wav2Vec2 commands (forward, transcribe, speech-units,
// preprocess-audio), run as a user would.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/io/wav.hpp"
#include "mmt/pipelines/speech_units.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/programs.hpp"
#include "support/tolerances.hpp"
#include "support/tool_forward.hpp"

using namespace mmt;
using namespace mmt::test;

namespace {

const std::string speech = data_path("wav2vec2-audio/speech_22050.wav").string();

std::string model_arg(const std::string& fixture) { return " --model " + quote(data_path(fixture).string()) + " "; }


}  // namespace

TEST_CASE("cli.wav2vec2: mmt forward reproduces every output of the three fixtures" * doctest::test_suite("parity")) {
    for (const std::string fixture : {"wav2vec2-tiny-ctc", "wav2vec2-tiny-stable-ctc", "wav2vec2-tiny-pretraining"}) {
        CAPTURE(fixture);
        // codevector_indices are whole numbers: exact.
        const std::size_t compared = check_tool_forward(data_path(fixture), "w2v_cli_forward", {"output.codevector_indices"});
        CHECK(compared == (fixture == "wav2vec2-tiny-pretraining" ? 7u : 3u));
    }
}

TEST_CASE("cli.wav2vec2: transcribe prints the pipeline's text, timestamps and JSON" * doctest::test_suite("unit")) {
    const auto recognizer = pipelines::speech_recognizer::from_pretrained(data_path("wav2vec2-tiny-ctc"));
    pipelines::transcription_options words;
    words.timestamps = pipelines::timestamp_level::word;
    const auto expected = recognizer.transcribe_file(speech, words);

    const auto plain = run(tool() + " transcribe" + model_arg("wav2vec2-tiny-ctc") + quote(speech));
    CHECK(plain.exit_code == 0);
    CHECK(plain.output == expected.text + "\n");

    const auto timed = run(tool() + " transcribe" + model_arg("wav2vec2-tiny-ctc") + quote(speech) + " --timestamps word");
    CHECK(timed.exit_code == 0);
    CHECK(count_lines(timed.output) == 1 + expected.chunks.size());

    const auto json = run(tool() + " transcribe" + model_arg("wav2vec2-tiny-ctc") + quote(speech) + " --timestamps char --json");
    REQUIRE(json.exit_code == 0);
    const io::json j = io::json::parse(json.output);
    CHECK(j["text"] == expected.text);
    REQUIRE(j["chunks"].is_array());
    pipelines::transcription_options chars;
    chars.timestamps = pipelines::timestamp_level::character;
    const auto char_chunks = recognizer.transcribe_file(speech, chars).chunks;
    REQUIRE(j["chunks"].size() == char_chunks.size());
    CHECK(j["chunks"][1]["text"] == char_chunks[1].text);
    CHECK(j["chunks"][1]["timestamp"][0].get<double>() == char_chunks[1].start);
    CHECK(j["chunks"][1]["timestamp"][1].get<double>() == char_chunks[1].end);

    // Chunked (1 s chunks of the 2.8 s file) or whole: both succeed; the default 30 s chunk is the whole file.
    const auto chunked = run(tool() + " transcribe" + model_arg("wav2vec2-tiny-ctc") + quote(speech) + " --chunk-seconds 1");
    CHECK(chunked.exit_code == 0);
    CHECK(count_lines(chunked.output) == 1);
    const auto whole = run(tool() + " transcribe" + model_arg("wav2vec2-tiny-ctc") + quote(speech) + " --chunk-seconds 0");
    CHECK(whole.output == plain.output);
}

TEST_CASE("cli.wav2vec2: speech-units prints one line of codes per frame" * doctest::test_suite("unit")) {
    const auto units = pipelines::speech_unit_extractor::from_pretrained(data_path("wav2vec2-tiny-pretraining")).from_file(speech);
    const auto r = run(tool() + " speech-units" + model_arg("wav2vec2-tiny-pretraining") + quote(speech));
    REQUIRE(r.exit_code == 0);
    CHECK(count_lines(r.output) == 2 + units.codes.shape(0));
    CHECK(r.output.rfind("# 138 frames of 0.02 s, 2 codevector groups\n# frame\tstart_s\tgroup_0\tgroup_1\n", 0) == 0);
    const std::string first = "0\t0.00\t" + std::to_string(units.codes(0, 0)) + "\t" + std::to_string(units.codes(0, 1)) + "\n";
    CHECK(r.output.find(first) != std::string::npos);
}

TEST_CASE("cli.wav2vec2: preprocess-audio writes input_values, and attention_mask for LayerNorm-conv models" *
          doctest::test_suite("unit")) {
    const auto dir = scratch_dir("w2v_cli_preprocess");
    const auto resampled = preprocess::resample(io::read_wav(speech).samples, 22050, 16000);

    const auto base = run(tool() + " preprocess-audio" + model_arg("wav2vec2-tiny-ctc") + quote(speech) + " --out " +
                          quote((dir / "base.safetensors").string()));
    CHECK(base.exit_code == 0);
    CHECK(base.output == "input_values [1, 44555]\n");
    const io::safetensors_file b(dir / "base.safetensors");
    CHECK_FALSE(b.contains("attention_mask"));
    check_close(b.load<float>("input_values"), preprocess::wav2vec2_feature_extractor()({resampled}, 16000).input_values, 0.0,
                "input_values");

    const auto stable = run(tool() + " preprocess-audio" + model_arg("wav2vec2-tiny-stable-ctc") + quote(speech) + " --out " +
                            quote((dir / "stable.safetensors").string()));
    CHECK(stable.exit_code == 0);
    CHECK(stable.output == "input_values [1, 44555]\nattention_mask [1, 44555]\n");
    const io::safetensors_file s(dir / "stable.safetensors");
    CHECK(xt::all(xt::equal(s.load<std::int64_t>("attention_mask"), std::int64_t(1))));

    // A preprocessor_config.json, when there is one, decides.
    const auto with_config = scratch_dir("w2v_cli_preprocess_config");
    std::filesystem::copy_file(data_path("wav2vec2-tiny-ctc/config.json"), with_config / "config.json");
    std::ofstream(with_config / "preprocessor_config.json") << R"({"sampling_rate": 8000, "do_normalize": false, "return_attention_mask": true})";
    const auto custom = run(tool() + " preprocess-audio --model " + quote(with_config.string()) + " " + quote(speech) + " --out " +
                            quote((dir / "custom.safetensors").string()));
    CHECK(custom.exit_code == 0);
    CHECK(custom.output == "input_values [1, 22278]\nattention_mask [1, 22278]\n");
}

TEST_CASE("cli.wav2vec2: bad audio and models are one readable line and a non-zero exit" * doctest::test_suite("unit")) {
    const auto dir = scratch_dir("w2v_cli_errors");
    std::ofstream(dir / "notes.wav") << "not audio at all";
    const auto not_wav = run(tool() + " transcribe" + model_arg("wav2vec2-tiny-ctc") + quote((dir / "notes.wav").string()), true);
    CHECK(not_wav.exit_code == 1);
    CHECK(count_lines(not_wav.output) == 1);
    CHECK(not_wav.output.find("mmt: error: read_wav: '") == 0);
    CHECK(not_wav.output.find("not a RIFF/WAVE file") != std::string::npos);

    io::write_wav(dir / "short.wav", std::vector<float>(100, 0.0f), 16000);
    const auto short_audio = run(tool() + " speech-units" + model_arg("wav2vec2-tiny-pretraining") + quote((dir / "short.wav").string()), true);
    CHECK(short_audio.exit_code == 1);
    CHECK(short_audio.output.find("shorter than one frame of the model") != std::string::npos);

    const auto wrong_head = run(tool() + " speech-units" + model_arg("wav2vec2-tiny-ctc") + quote(speech), true);
    CHECK(wrong_head.exit_code == 1);
    CHECK(wrong_head.output.find("need a Wav2Vec2ForPreTraining checkpoint") != std::string::npos);

    const auto bad_level = run(tool() + " transcribe" + model_arg("wav2vec2-tiny-ctc") + quote(speech) + " --timestamps words", true);
    CHECK(bad_level.exit_code != 0);
    CHECK(count_lines(bad_level.output) == 1);

    for (const char* sub : {"transcribe", "speech-units", "preprocess-audio"}) {
        CAPTURE(sub);
        const auto help = run(tool() + " " + sub + " --help");
        CHECK(help.exit_code == 0);
        CHECK(help.output.find("Usage:") != std::string::npos);
    }
}
