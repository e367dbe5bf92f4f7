// Subtitles: SRT and WebVTT of hand-written words against hand-checked files
// (tests/data/subtitles), every output parsed back as valid (numbering, timestamp
// format, cues in order without overlap), the cue limits, and bad words.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/pipelines/alignment.hpp"
#include "mmt/pipelines/subtitles.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

std::vector<pipelines::timed_text> hand_written_words() {
    std::vector<pipelines::timed_text> words;
    for (const auto& w : io::read_json_file(test::data_path("subtitles/words.json")))
        words.push_back({w["text"].get<std::string>(), w["start"].get<double>(), w["end"].get<double>()});
    return words;
}

struct parsed_cue {
    std::int64_t start_ms = 0, end_ms = 0;
    std::string text;
};

// Parses SRT (`vtt` false) or WebVTT as a strict reader would, CHECKing the format on the way:
// the header, cue numbers 1, 2, ..., "HH:MM:SS,mmm --> HH:MM:SS,mmm" ('.' for WebVTT), one
// line of text, a blank line after each cue, and cues that neither overlap nor run backwards.
std::vector<parsed_cue> parse_subtitles(const std::string& file, bool vtt) {
    const std::regex times(vtt ? R"((\d{2,}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2,}):(\d{2}):(\d{2})\.(\d{3}))"
                               : R"((\d{2,}):(\d{2}):(\d{2}),(\d{3}) --> (\d{2,}):(\d{2}):(\d{2}),(\d{3}))");
    std::vector<std::string> lines;
    std::istringstream in(file);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::size_t i = 0;
    if (vtt) {
        REQUIRE(lines.size() >= 2);
        CHECK(lines[0] == "WEBVTT");
        CHECK(lines[1].empty());
        i = 2;
    }
    std::vector<parsed_cue> cues;
    while (i < lines.size()) {
        if (!vtt) CHECK(lines[i++] == std::to_string(cues.size() + 1));
        REQUIRE_MESSAGE(i + 2 < lines.size(), "cue " << cues.size() + 1 << " lacks its timing, text or blank line");
        std::smatch m;
        REQUIRE_MESSAGE(std::regex_match(lines[i], m, times), "bad timing line \"" << lines[i] << "\"");
        const auto ms = [&](int k) {
            CHECK(std::stoi(m[k + 1]) < 60);
            CHECK(std::stoi(m[k + 2]) < 60);
            return ((std::stoll(m[k]) * 60 + std::stoll(m[k + 1])) * 60 + std::stoll(m[k + 2])) * 1000 + std::stoll(m[k + 3]);
        };
        const parsed_cue c{ms(1), ms(5), lines[i + 1]};
        CHECK(c.start_ms < c.end_ms);
        if (!cues.empty()) CHECK(cues.back().end_ms <= c.start_ms);
        CHECK_FALSE(c.text.empty());
        if (vtt) CHECK(c.text.find("-->") == std::string::npos);
        CHECK(lines[i + 2].empty());
        cues.push_back(c);
        i += 3;
    }
    return cues;
}

}  // namespace

TEST_CASE("pipelines.subtitles: SRT and WebVTT of the hand-written words equal the hand-checked files" * doctest::test_suite("unit")) {
    const auto cues = pipelines::make_cues(hand_written_words());
    const std::string srt = pipelines::to_srt(cues), vtt = pipelines::to_webvtt(cues);
    CHECK(srt == test::read_file(test::data_path("subtitles/expected.srt")));
    CHECK(vtt == test::read_file(test::data_path("subtitles/expected.vtt")));
    const auto parsed = parse_subtitles(srt, false);
    REQUIRE(parsed.size() == 8);
    CHECK(parse_subtitles(vtt, true).size() == 8);
    CHECK(parsed[7].start_ms == 3725500);
    CHECK(parsed[1].text == "café crème brûlée & <tags> naïve señor sí");
}

TEST_CASE("pipelines.subtitles: the cue limits are each honoured, on random words" * doctest::test_suite("unit")) {
    std::mt19937 gen(12);
    for (int round = 0; round < 20; ++round) {
        std::vector<pipelines::timed_text> words;
        double t = std::uniform_real_distribution<double>(0.0, 3.0)(gen);
        for (int i = 0; i < 200; ++i) {
            const std::size_t length = std::uniform_int_distribution<std::size_t>(1, 12)(gen);
            const double duration = std::uniform_real_distribution<double>(0.02, 0.9)(gen);
            words.push_back({std::string(length, char('a' + i % 26)), t, t + duration});
            t += duration + (gen() % 4 == 0 ? std::uniform_real_distribution<double>(0.0, 2.5)(gen) : 0.0);
        }
        pipelines::cue_options options;
        options.max_chars = 10 + std::size_t(round) * 3;
        options.max_seconds = 1.0 + round * 0.3;
        options.max_gap_seconds = 0.2 * round;
        const auto cues = pipelines::make_cues(words, options);
        CAPTURE(round);
        std::size_t next = 0;  // the words each cue gathers, in order
        for (const auto& c : cues) {
            std::size_t count = 0, chars = 0;
            while (chars < c.text.size()) chars += words[next + count++].text.size() + 1;
            CHECK(chars == c.text.size() + 1);
            CHECK(c.start == words[next].start);
            CHECK(c.end == words[next + count - 1].end);
            if (count > 1) {
                CHECK(c.text.size() <= options.max_chars);
                CHECK(c.end - c.start <= options.max_seconds);
                for (std::size_t k = next + 1; k < next + count; ++k) CHECK(words[k].start - words[k - 1].end <= options.max_gap_seconds);
            }
            next += count;
        }
        CHECK(next == words.size());
        CHECK(parse_subtitles(pipelines::to_srt(cues), false).size() == cues.size());
        CHECK(parse_subtitles(pipelines::to_webvtt(cues), true).size() == cues.size());
    }
}

TEST_CASE("pipelines.subtitles: the speech's alignment and transcription make valid subtitles" * doctest::test_suite("unit")) {
    const auto recognizer = pipelines::speech_recognizer::from_pretrained(test::data_path("wav2vec2-tiny-ctc"));
    const auto speech = test::data_path("wav2vec2-audio/speech_22050.wav");
    const auto aligned = pipelines::align_file(recognizer, speech, "the quick brown fox jumps over the lazy dog");
    pipelines::cue_options short_cues;
    short_cues.max_chars = 12;
    const auto cues = pipelines::make_cues(aligned.words, short_cues);
    CHECK(cues.size() >= 4);
    CHECK(parse_subtitles(pipelines::to_srt(cues), false).size() == cues.size());
    CHECK(parse_subtitles(pipelines::to_webvtt(cues), true).size() == cues.size());

    pipelines::transcription_options words;
    words.timestamps = pipelines::timestamp_level::word;
    const auto transcribed = pipelines::make_cues(recognizer.transcribe_file(speech, words).chunks);
    CHECK(parse_subtitles(pipelines::to_srt(transcribed), false).size() == transcribed.size());
}

TEST_CASE("pipelines.subtitles: words out of order, overlapping, empty or timeless, and bad limits are errors" *
          doctest::test_suite("unit")) {
    using words = std::vector<pipelines::timed_text>;
    test::check_throws<input_error>([] { pipelines::make_cues(words{{"a", 0.0, 1.0}, {"b", 0.5, 2.0}}); },
                                    {"word 1 (\"b\") starts at 0.5 s, before word 0 (\"a\") ends at 1 s"});
    test::check_throws<input_error>([] { pipelines::make_cues(words{{"a", 2.0, 1.0}}); }, {"word 0 (\"a\") spans 2 s to 1 s"});
    test::check_throws<input_error>([] { pipelines::make_cues(words{{"a", -1.0, 1.0}}); }, {"expected 0 <= start < end"});
    test::check_throws<input_error>([] { pipelines::make_cues(words{{"a\nb", 0.0, 1.0}}); }, {"holds a line break"});
    test::check_throws<input_error>([] { pipelines::make_cues(words{{"", 0.0, 1.0}}); }, {"word 0 (\"\") is empty"});
    pipelines::cue_options none;
    none.max_chars = 0;
    test::check_throws<input_error>([&] { pipelines::make_cues(words{}, none); }, {"max_chars 0"});
    CHECK(pipelines::to_srt({}).empty());
    CHECK(pipelines::to_webvtt({}) == "WEBVTT\n\n");
    CHECK(pipelines::subtitle_timestamp(0.0, ',') == "00:00:00,000");
    CHECK(pipelines::subtitle_timestamp(359999.9994, '.') == "99:59:59.999");
    CHECK(pipelines::subtitle_timestamp(360000.0, '.') == "100:00:00.000");
}
