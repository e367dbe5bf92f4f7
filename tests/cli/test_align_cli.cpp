// mmt align, and the subtitle formats of align and transcribe, run as a user
// would: the output is the pipeline's, subtitles parse as their format wants, and
// bad transcripts, audio and models are one readable line and a non-zero exit.
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/io/json.hpp"
#include "mmt/io/wav.hpp"
#include "mmt/pipelines/alignment.hpp"
#include "mmt/pipelines/subtitles.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/programs.hpp"

using namespace mmt;
using namespace mmt::test;

namespace {

const std::string align_speech = data_path("wav2vec2-audio/speech_22050.wav").string();
const std::string align_model = " --model " + quote(data_path("wav2vec2-tiny-ctc").string()) + " ";
const std::string fox = "the quick brown fox jumps over the lazy dog";

const pipelines::speech_recognizer& align_recognizer() {
    static const auto r = pipelines::speech_recognizer::from_pretrained(data_path("wav2vec2-tiny-ctc"));
    return r;
}

}  // namespace

TEST_CASE("cli.align: words with times and scores as text, JSON with each character, and SRT" * doctest::test_suite("unit")) {
    const auto expected = pipelines::align_file(align_recognizer(), align_speech, fox);

    const auto text = run(tool() + " align" + align_model + quote(align_speech) + " --text " + quote(fox));
    REQUIRE(text.exit_code == 0);
    CHECK(count_lines(text.output) == 9);
    CHECK(text.output.find("  quick\n") != std::string::npos);

    const auto json = run(tool() + " align" + align_model + quote(align_speech) + " --text " + quote(fox) + " --json");
    REQUIRE(json.exit_code == 0);
    const io::json j = io::json::parse(json.output);
    CHECK(j["text"] == fox);
    REQUIRE(j["words"].size() == expected.words.size());
    REQUIRE(j["characters"].size() == expected.characters.size());
    for (std::size_t i = 0; i < expected.words.size(); ++i) {
        CHECK(j["words"][i]["text"] == expected.words[i].text);
        CHECK(j["words"][i]["start"].get<double>() == expected.words[i].start);
        CHECK(j["words"][i]["end"].get<double>() == expected.words[i].end);
        CHECK(j["words"][i]["score"].get<double>() == doctest::Approx(expected.words[i].score).epsilon(1e-9));
    }
    CHECK(j["characters"][3]["text"] == "q");
    CHECK(j["characters"][3]["start"].get<double>() == expected.characters[3].start);
    const auto same = run(tool() + " align" + align_model + quote(align_speech) + " --text " + quote(fox) + " --format json");
    CHECK(same.output == json.output);

    // The transcript from a file, as subtitles of at most 12 characters a cue.
    const auto dir = scratch_dir("align_cli_srt");
    write_file(dir / "fox.txt", fox + "\n");
    const auto srt = run(tool() + " align" + align_model + quote(align_speech) + " --text-file " + quote((dir / "fox.txt").string()) +
                         " --format srt --max-cue-chars 12");
    REQUIRE(srt.exit_code == 0);
    pipelines::cue_options twelve;
    twelve.max_chars = 12;
    CHECK(srt.output == pipelines::to_srt(pipelines::make_cues(expected.words, twelve)));
    CHECK(srt.output.rfind("1\n00:00:00,000 --> ", 0) == 0);
    const std::regex srt_cue(R"((\d+)\n\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}\n[^\n]+\n\n)");
    CHECK(std::regex_replace(srt.output, srt_cue, "") == "");
}

TEST_CASE("cli.align: transcribe --format srt and vtt are the transcript's word cues" * doctest::test_suite("unit")) {
    pipelines::transcription_options words;
    words.timestamps = pipelines::timestamp_level::word;
    const auto cues = pipelines::make_cues(align_recognizer().transcribe_file(align_speech, words).chunks);
    const auto srt = run(tool() + " transcribe" + align_model + quote(align_speech) + " --format srt");
    CHECK(srt.exit_code == 0);
    CHECK(srt.output == pipelines::to_srt(cues));
    const auto vtt = run(tool() + " transcribe" + align_model + quote(align_speech) + " --format vtt --max-cue-seconds 1");
    CHECK(vtt.exit_code == 0);
    CHECK(vtt.output.rfind("WEBVTT\n\n00:00:00.000 --> ", 0) == 0);
    const auto text = run(tool() + " transcribe" + align_model + quote(align_speech) + " --format text");
    CHECK(text.output == align_recognizer().transcribe_file(align_speech).text + "\n");
}

TEST_CASE("cli.align: characters outside the vocabulary, short audio, a model without a CTC head and no text are errors" *
          doctest::test_suite("unit")) {
    const auto foreign = run(tool() + " align" + align_model + quote(align_speech) + " --text 'hello wörld'", true);
    CHECK(foreign.exit_code == 1);
    CHECK(count_lines(foreign.output) == 1);
    CHECK(foreign.output.find("mmt: error: transcript: character 'ö' (U+00F6) at position 7 (in \"wörld\") is not in the model's vocabulary") == 0);

    const auto dir = scratch_dir("align_cli_errors");
    io::write_wav(dir / "short.wav", std::vector<float>(100, 0.0f), 16000);
    const auto short_audio = run(tool() + " align" + align_model + quote((dir / "short.wav").string()) + " --text hi", true);
    CHECK(short_audio.exit_code == 1);
    CHECK(count_lines(short_audio.output) == 1);
    CHECK(short_audio.output.find("100 samples at 16000 Hz is shorter than one frame of the model") != std::string::npos);

    const auto too_long = run(tool() + " align" + align_model + quote(align_speech) + " --text " + std::string(150, 'A'), true);
    CHECK(too_long.exit_code == 1);
    CHECK(too_long.output.find("are 138 frames of the model; the transcript's 150 tokens") != std::string::npos);

    const auto no_head = run(tool() + " align --model " + quote(data_path("wav2vec2-tiny-pretraining").string()) + " " + quote(align_speech) +
                                 " --text hi",
                             true);
    CHECK(no_head.exit_code == 1);
    CHECK(count_lines(no_head.output) == 1);
    CHECK(no_head.output.find("needs a Wav2Vec2ForCTC checkpoint; this one is Wav2Vec2ForPreTraining") != std::string::npos);

    const auto no_text = run(tool() + " align" + align_model + quote(align_speech), true);
    CHECK(no_text.exit_code == 1);
    CHECK(no_text.output.find("give the transcript with --text or --text-file") != std::string::npos);
    const auto both = run(tool() + " align" + align_model + quote(align_speech) + " --text a --format srt --json", true);
    CHECK(both.exit_code != 0);
    const auto chars_as_cues = run(tool() + " transcribe" + align_model + quote(align_speech) + " --format vtt --timestamps char", true);
    CHECK(chars_as_cues.exit_code == 1);
    CHECK(chars_as_cues.output.find("--format vtt makes cues of words") != std::string::npos);

    const auto help = run(tool() + " align --help");
    CHECK(help.exit_code == 0);
    CHECK(help.output.find("--text-file") != std::string::npos);
}
