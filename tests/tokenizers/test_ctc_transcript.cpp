// A transcript as CTC targets: characters to ids in the vocabulary's case, words
// joined by the word delimiter, and clear errors for what the vocabulary cannot spell.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mmt/tokenizers/ctc_transcript.hpp"
#include "support/data.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

using tokenizers::wav2vec2_ctc_tokenizer;

const wav2vec2_ctc_tokenizer& upper_case_tokenizer() {  // wav2vec2-base-960h's vocabulary
    static const auto tokenizer = wav2vec2_ctc_tokenizer::from_pretrained(test::data_path("wav2vec2-audio"));
    return tokenizer;
}

wav2vec2_ctc_tokenizer lower_case_tokenizer(tokenizers::ctc_tokenizer_config config = {}) {
    const tokenizers::ordered_json vocab = {{"<pad>", 0}, {"|", 1}, {"a", 2}, {"b", 3}, {"é", 4}, {"ß", 5}};
    return wav2vec2_ctc_tokenizer(vocab, std::move(config), "lower-case vocab");
}

}  // namespace

TEST_CASE("tokenizers.ctc_transcript: characters in the vocabulary's case, words joined by the delimiter" * doctest::test_suite("unit")) {
    const auto hello = tokenizers::encode_transcript(upper_case_tokenizer(), "  Hello\t wOrld's\n");
    // H E L L O | W O R L D ' S in the fixture vocabulary.
    CHECK(hello.targets == std::vector<std::int64_t>{11, 5, 15, 15, 8, 4, 18, 8, 13, 15, 14, 27, 12});
    REQUIRE(hello.words.size() == 2);
    CHECK(hello.words[0].text == "Hello");
    CHECK(hello.words[0].first_target == 0);
    CHECK(hello.words[0].characters == std::vector<std::string>{"H", "e", "l", "l", "o"});
    CHECK(hello.words[1].text == "wOrld's");
    CHECK(hello.words[1].first_target == 6);
    CHECK(hello.words[1].characters.size() == 7);

    const auto lower = tokenizers::encode_transcript(lower_case_tokenizer(), "AB É ß");
    CHECK(lower.targets == std::vector<std::int64_t>{2, 3, 1, 4, 1, 5});
    CHECK(lower.words[1].characters == std::vector<std::string>{"É"});

    // Without a word delimiter the words follow each other directly.
    tokenizers::ctc_tokenizer_config no_delimiter;
    no_delimiter.word_delimiter_token = std::nullopt;
    const auto joined = tokenizers::encode_transcript(lower_case_tokenizer(no_delimiter), "ab ba");
    CHECK(joined.targets == std::vector<std::int64_t>{2, 3, 3, 2});
    CHECK(joined.words[1].first_target == 2);
}

TEST_CASE("tokenizers.ctc_transcript: a character outside the vocabulary, the blank, bad UTF-8 and no words are errors" *
          doctest::test_suite("unit")) {
    test::check_throws<input_error>([] { tokenizers::encode_transcript(upper_case_tokenizer(), "hello wörld"); },
                                    {"character 'ö' (U+00F6) at position 7 (in \"wörld\") is not in the model's vocabulary"});
    test::check_throws<input_error>([] { tokenizers::encode_transcript(upper_case_tokenizer(), "A-B"); }, {"character '-' (U+002D) at position 1"});
    tokenizers::ctc_tokenizer_config pad_is_a_letter;
    pad_is_a_letter.pad_token = "b";
    test::check_throws<input_error>([&] { tokenizers::encode_transcript(lower_case_tokenizer(pad_is_a_letter), "ab"); },
                                    {"character 'b' (U+0062) at position 1"});
    test::check_throws<input_error>([] { tokenizers::encode_transcript(upper_case_tokenizer(), "AB\xff"); }, {"invalid UTF-8 at byte offset 2"});
    test::check_throws<input_error>([] { tokenizers::encode_transcript(upper_case_tokenizer(), " \n\t"); }, {"has no words to align"});
}
