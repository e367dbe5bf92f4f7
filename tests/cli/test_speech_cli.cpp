// The mmt tool on the speech families beyond Wav2Vec2 and on the heads and
// options they brought: forward on HuBERT, WavLM, Data2VecAudio and the
// sequence-classification and MMS fixtures, classify-audio, and --language.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/io/json.hpp"
#include "mmt/io/wav.hpp"
#include "mmt/pipelines/audio_classification.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/programs.hpp"
#include "support/tool_forward.hpp"

using namespace mmt;
using namespace mmt::test;

namespace {

const std::string speech_wav = data_path("wav2vec2-audio/speech_22050.wav").string();

std::string speech_model(const std::string& fixture) { return " --model " + quote(data_path(fixture).string()) + " "; }

}  // namespace

TEST_CASE("cli.speech: mmt forward reproduces every output of the HuBERT, WavLM, Data2VecAudio, classification and MMS fixtures" *
          doctest::test_suite("parity")) {
    for (const auto& [fixture, outputs] : {std::pair<std::string, std::size_t>{"hubert-tiny-ctc", 2},
                                           {"hubert-tiny-stable-seq-cls", 2},
                                           {"wavlm-tiny-ctc", 3},
                                           {"data2vec-audio-tiny-ctc", 3},
                                           {"wav2vec2-tiny-seq-cls", 3}}) {
        CAPTURE(fixture);
        CHECK(check_tool_forward(data_path(fixture), "speech_cli_forward") == outputs);
    }
    // The MMS fixture's reference.safetensors holds the French outputs.
    CHECK(check_tool_forward(data_path("wav2vec2-tiny-mms-adapter"), "speech_cli_forward", {}, "--language fra") == 3);
}

TEST_CASE("cli.speech: transcribe runs every CTC variant as the pipeline does, with word timestamps" * doctest::test_suite("unit")) {
    pipelines::transcription_options words;
    words.timestamps = pipelines::timestamp_level::word;
    for (const std::string fixture : {"hubert-tiny-ctc", "wavlm-tiny-ctc", "data2vec-audio-tiny-ctc"}) {
        CAPTURE(fixture);
        const auto expected = pipelines::speech_recognizer::from_pretrained(data_path(fixture)).transcribe_file(speech_wav, words);
        const auto r = run(tool() + " transcribe --format json --timestamps word" + speech_model(fixture) + quote(speech_wav));
        REQUIRE(r.exit_code == 0);
        const io::json j = io::json::parse(r.output);
        CHECK(j["text"] == expected.text);
        REQUIRE(j["chunks"].size() == expected.chunks.size());
        for (std::size_t i = 0; i < expected.chunks.size(); ++i) {
            CHECK(j["chunks"][i]["text"] == expected.chunks[i].text);
            CHECK(j["chunks"][i]["timestamp"][0].get<double>() == doctest::Approx(expected.chunks[i].start));
        }
    }
}

TEST_CASE("cli.speech: classify-audio prints the pipeline's labels, best first, and HF's JSON" * doctest::test_suite("unit")) {
    const auto classifier = pipelines::audio_classifier::from_pretrained(data_path("hubert-tiny-stable-seq-cls"));
    const auto expected = classifier.classify_file(speech_wav);
    REQUIRE(expected.size() == 5);

    const auto text = run(tool() + " classify-audio" + speech_model("hubert-tiny-stable-seq-cls") + quote(speech_wav));
    REQUIRE(text.exit_code == 0);
    CHECK(count_lines(text.output) == 5);
    CHECK(text.output.find(expected[0].label) < text.output.find(expected[1].label));

    const auto top2 = run(tool() + " classify-audio --json --top-k 2" + speech_model("hubert-tiny-stable-seq-cls") + quote(speech_wav));
    REQUIRE(top2.exit_code == 0);
    const io::json j = io::json::parse(top2.output);
    REQUIRE(j.size() == 2);
    for (std::size_t i = 0; i < 2; ++i) {
        CHECK(j[i]["label"] == expected[i].label);
        CHECK(j[i]["score"].get<double>() == doctest::Approx(expected[i].score).epsilon(1e-6));
    }
}

TEST_CASE("cli.speech: --language picks an MMS adapter and its vocabulary; a wrong one lists those present" *
          doctest::test_suite("unit")) {
    load_options french;
    french.target_lang = "fra";
    const auto recognizer = pipelines::speech_recognizer::from_pretrained(data_path("wav2vec2-tiny-mms-adapter"), french);
    const auto r = run(tool() + " transcribe --language fra" + speech_model("wav2vec2-tiny-mms-adapter") + quote(speech_wav));
    REQUIRE(r.exit_code == 0);
    CHECK(r.output == recognizer.transcribe_file(speech_wav).text + "\n");
    const auto english = run(tool() + " transcribe" + speech_model("wav2vec2-tiny-mms-adapter") + quote(speech_wav));
    REQUIRE(english.exit_code == 0);
    CHECK(english.output != r.output);  // another adapter, head and vocabulary

    const auto missing = run(tool() + " transcribe --language deu" + speech_model("wav2vec2-tiny-mms-adapter") + quote(speech_wav), true);
    CHECK(missing.exit_code == 1);
    CHECK(count_lines(missing.output) == 1);
    CHECK(missing.output.find("language \"deu\"") != std::string::npos);
    CHECK(missing.output.find("the languages present are eng or fra") != std::string::npos);

    // align spells the transcript in the chosen language's vocabulary: "é" is French only.
    const auto french_align =
        run(tool() + " align --json --language fra --text \"été là\"" + speech_model("wav2vec2-tiny-mms-adapter") + quote(speech_wav));
    REQUIRE(french_align.exit_code == 0);
    CHECK(io::json::parse(french_align.output)["words"].size() == 2);
    const auto english_align = run(tool() + " align --text \"été là\"" + speech_model("wav2vec2-tiny-mms-adapter") + quote(speech_wav), true);
    CHECK(english_align.exit_code == 1);
    CHECK(english_align.output.find("is not in the model's vocabulary") != std::string::npos);

    const auto plain = run(tool() + " transcribe --language fra" + speech_model("wav2vec2-tiny-ctc") + quote(speech_wav), true);
    CHECK(plain.exit_code == 1);
    CHECK(plain.output.find("has no language adapters") != std::string::npos);
}

TEST_CASE("cli.speech: classify-audio refuses a model without the head, too short and too long audio" * doctest::test_suite("unit")) {
    const auto no_head = run(tool() + " classify-audio" + speech_model("hubert-tiny-ctc") + quote(speech_wav), true);
    CHECK(no_head.exit_code == 1);
    CHECK(count_lines(no_head.output) == 1);
    CHECK(no_head.output.find("needs a HubertForSequenceClassification checkpoint; this one is HubertForCTC") != std::string::npos);

    const auto dir = scratch_dir("speech_cli_errors");
    io::write_wav(dir / "short.wav", std::vector<float>(100, 0.0f), 16000);
    const auto short_audio = run(tool() + " classify-audio" + speech_model("wav2vec2-tiny-seq-cls") + quote((dir / "short.wav").string()), true);
    CHECK(short_audio.exit_code == 1);
    CHECK(short_audio.output.find("shorter than one frame of the model") != std::string::npos);

    const auto long_audio =
        run(tool() + " classify-audio --max-seconds 0.5" + speech_model("wav2vec2-tiny-seq-cls") + quote(speech_wav), true);
    CHECK(long_audio.exit_code == 1);
    CHECK(long_audio.output.find("longer than the 0.5 s allowed") != std::string::npos);
    CHECK(long_audio.output.find("classified whole, as HF does") != std::string::npos);

    const auto bad_k = run(tool() + " classify-audio --top-k 0" + speech_model("wav2vec2-tiny-seq-cls") + quote(speech_wav), true);
    CHECK(bad_k.exit_code != 0);
}
