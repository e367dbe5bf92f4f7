// Forced alignment on the bundled speech with the tiny CTC model: the pipeline
// equals ctc_forced_align run by hand on the model's log-probabilities, aligning
// the model's own greedy transcript gives back its greedy character timestamps
// (whole and chunked), any transcript gets monotone times inside the audio, and
// bad transcripts and audio are clear errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/io/wav.hpp"
#include "mmt/pipelines/alignment.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "support/data.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

const std::filesystem::path aligned_speech = test::data_path("wav2vec2-audio/speech_22050.wav");
constexpr double aligned_speech_seconds = 44555.0 / 16000;  // at the model's rate

const pipelines::speech_recognizer& ctc_model() {
    static const auto r = pipelines::speech_recognizer::from_pretrained(test::data_path("wav2vec2-tiny-ctc"));
    return r;
}

// The tiny model's greedy path has no blank and no delimiter but many </s> and <unk>: the
// same model with a character for each special token spells its greedy transcript as one word.
const pipelines::speech_recognizer& ctc_model_spelling_specials() {
    static const auto r = [] {
        tokenizers::ordered_json vocab = tokenizers::ordered_json::object();
        const io::json tiny = io::read_json_file(test::data_path("wav2vec2-tiny-ctc/vocab.json"));
        const std::map<std::string, std::string> one_character{{"<s>", "^"}, {"</s>", "#"}, {"<unk>", "?"}};
        for (const auto& entry : tiny.items()) {
            const auto renamed = one_character.find(entry.key());
            vocab[renamed == one_character.end() ? entry.key() : renamed->second] = entry.value().get<std::int64_t>();
        }
        tokenizers::wav2vec2_ctc_tokenizer tokenizer(vocab, {}, "vocab with one-character specials");
        return pipelines::speech_recognizer(ctc_model().model(), std::move(tokenizer), ctc_model().feature_extractor());
    }();
    return r;
}

// Times in order, inside the audio; each word the span of its characters.
void check_timeline(const pipelines::speech_recognizer& r, const pipelines::alignment& a, std::size_t words, std::size_t characters) {
    REQUIRE(a.words.size() == words);
    REQUIRE(a.characters.size() == characters);
    for (std::size_t i = 0; i < a.characters.size(); ++i) {
        const auto& c = a.characters[i];
        CHECK(c.start >= 0.0);
        CHECK(c.start < c.end);
        CHECK(c.end <= aligned_speech_seconds);
        CHECK(c.score > 0.0);
        CHECK(c.score <= 1.0);
        if (i) CHECK(a.characters[i - 1].end <= c.start);
    }
    std::size_t first = 0;
    for (const auto& w : a.words) {
        const std::size_t length = tokenizers::encode_transcript(r.tokenizer(), w.text).targets.size();
        CHECK(w.start == a.characters[first].start);
        CHECK(w.end == a.characters[first + length - 1].end);
        first += length;
    }
}

}  // namespace

TEST_CASE("pipelines.alignment: the pipeline is ctc_forced_align on the model's log-probabilities" * doctest::test_suite("unit")) {
    const auto& r = ctc_model();
    const auto a = pipelines::align_file(r, aligned_speech, "hello world");
    check_timeline(r, a, 2, 10);
    CHECK(a.words[0].text == "hello");
    CHECK(a.characters[4].text == "o");

    // By hand: the whole audio through the model, log_softmax over all 32 classes, then the path.
    const auto features = r.feature_extractor()({preprocess::resample(io::read_wav(aligned_speech).samples, 22050, 16000)}, 16000);
    const tensor<3> logits = r.model().forward_ctc(features.input_values).logits;
    tensor<2> log_probs = xt::view(logits, 0, xt::all(), xt::all());
    for (std::size_t t = 0; t < log_probs.shape(0); ++t) {
        double sum = 0.0;
        for (std::size_t v = 0; v < log_probs.shape(1); ++v) sum += std::exp(double(log_probs(t, v)));
        for (std::size_t v = 0; v < log_probs.shape(1); ++v) log_probs(t, v) = float(double(log_probs(t, v)) - std::log(sum));
    }
    const std::vector<std::int64_t> targets = tokenizers::encode_transcript(r.tokenizer(), "HELLO WORLD").targets;
    const auto path = tokenizers::ctc_forced_align(log_probs, targets, 0);
    std::vector<float> probabilities;
    for (float s : path.scores) probabilities.push_back(std::exp(s));
    const auto spans = tokenizers::merge_tokens(path.tokens, probabilities, 0);
    REQUIRE(spans.size() == 11);  // with the delimiter
    for (std::size_t i = 0, c = 0; i < spans.size(); ++i) {
        if (spans[i].token == 4) continue;
        CHECK(a.characters[c].start == double(spans[i].start * 320) / 16000);
        CHECK(a.characters[c].end == double(spans[i].end * 320) / 16000);
        CHECK(a.characters[c].score == doctest::Approx(spans[i].score).epsilon(1e-5));
        ++c;
    }

    // The transcript's case does not matter to an upper-case vocabulary; in-memory audio is the same.
    const auto upper = pipelines::align(r, io::read_wav(aligned_speech).samples, 22050, "HELLO WORLD");
    REQUIRE(upper.characters.size() == a.characters.size());
    for (std::size_t i = 0; i < a.characters.size(); ++i) {
        CHECK(upper.characters[i].start == a.characters[i].start);
        CHECK(upper.characters[i].end == a.characters[i].end);
        CHECK(upper.characters[i].score == doctest::Approx(a.characters[i].score).epsilon(1e-6));
    }
}

TEST_CASE("pipelines.alignment: the model's greedy transcript aligns to its greedy character timestamps, whole and chunked" *
          doctest::test_suite("unit")) {
    const auto& r = ctc_model_spelling_specials();
    for (double chunk_s : {0.0, 1.0}) {
        CAPTURE(chunk_s);
        pipelines::transcription_options chars;
        chars.timestamps = pipelines::timestamp_level::character;
        chars.chunk_length_s = chunk_s;
        const auto greedy = r.transcribe_file(aligned_speech, chars);
        REQUIRE(greedy.text.find(' ') == std::string::npos);
        const auto a = pipelines::align_file(r, aligned_speech, greedy.text, {chunk_s, std::nullopt});
        check_timeline(r, a, 1, greedy.chunks.size());
        for (std::size_t i = 0; i < greedy.chunks.size(); ++i) {
            CHECK(a.characters[i].text == greedy.chunks[i].text);
            CHECK(a.characters[i].start == greedy.chunks[i].start);
            CHECK(a.characters[i].end == greedy.chunks[i].end);
        }
        CHECK(a.words[0].start == 0.0);
        CHECK(a.words[0].end == doctest::Approx(aligned_speech_seconds).epsilon(0.01));
    }
}

TEST_CASE("pipelines.alignment: characters outside the vocabulary, too long a transcript and too short audio are errors" *
          doctest::test_suite("unit")) {
    const auto& r = ctc_model();
    test::check_throws<input_error>([&] { pipelines::align_file(r, aligned_speech, "hello wörld"); },
                                    {"character 'ö' (U+00F6) at position 7 (in \"wörld\") is not in the model's vocabulary"});
    test::check_throws<input_error>([&] { pipelines::align_file(r, aligned_speech, std::string(100, 'A')); },
                                    {aligned_speech.string(), "are 138 frames of the model", "need at least 199 frames (3.98 s)"});
    test::check_throws<input_error>([&] { pipelines::align(r, std::vector<float>(300, 0.1f), 16000, "A"); },
                                    {"shorter than one frame of the model; expected at least 400 samples"});
    test::check_throws<input_error>([&] { pipelines::align_file(r, aligned_speech, "  "); }, {"has no words to align"});
}
