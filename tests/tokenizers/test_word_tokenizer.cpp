// encode_words and encode_words_windows through the word_tokenizer interface: with a
// made-up tokenizer every id (word pieces, CLS, SEP, padding), the boxes of the
// specials and padding, and the byte limit come from it, and boxes follow the pieces
// as with WordPiece.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mmt/tokenizers/layoutlm_words.hpp"
#include "support/throws.hpp"
#include "support/word_tokenizers.hpp"

namespace {

namespace tk = mmt::tokenizers;
using id_list = std::vector<std::int64_t>;
using box_list = std::vector<tk::word_box>;

// "ab" -> 7 10 11 (the first word), "cde" -> 12 13 14, "" -> nothing, "f" -> 15.
const std::vector<std::string> letter_words = {"ab", "cde", "", "f"};
const box_list letter_boxes = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 9, 9, 9}, {10, 11, 12, 13}};

}  // namespace

TEST_CASE("tokenizers.word_tokenizer: encode_words takes pieces, specials and padding from the tokenizer" * doctest::test_suite("unit")) {
    const mmt::test::letter_word_tokenizer tokenizer;
    tk::boxed_options options;
    options.max_length = 12;
    const auto e = tk::encode_words(tokenizer, letter_words, letter_boxes, options);
    CHECK(e.input_ids == id_list{3, 7, 10, 11, 12, 13, 14, 15, 4, 5, 5, 5});
    CHECK(e.word_ids == id_list{-1, 0, 0, 0, 1, 1, 1, 3, -1, -1, -1, -1});
    CHECK(e.attention_mask == id_list{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0});
    CHECK(e.token_type_ids == id_list(12, 0));
    const auto &b0 = letter_boxes[0], &b1 = letter_boxes[1], &b3 = letter_boxes[3];
    const auto specials = tokenizer.boxes();
    const auto pad = specials.pad_token_box;
    CHECK(e.bbox == box_list{specials.cls_token_box, b0, b0, b0, b1, b1, b1, b3, specials.sep_token_box, pad, pad, pad});

    // "First" is the first word with text: an empty word before it does not take it.
    const auto late = tk::encode_words(tokenizer, {"", "ab"}, {{0, 0, 1, 1}, {0, 0, 1, 1}}, options);
    CHECK(id_list(late.input_ids.begin(), late.input_ids.begin() + 5) == id_list{3, 7, 10, 11, 4});

    // Truncation keeps the tokenizer's SEP.
    options.max_length = 4;
    CHECK(tk::encode_words(tokenizer, letter_words, letter_boxes, options).input_ids == id_list{3, 7, 10, 4});
}

TEST_CASE("tokenizers.word_tokenizer: windows come from the tokenizer's pieces and specials" * doctest::test_suite("unit")) {
    const mmt::test::letter_word_tokenizer tokenizer;
    tk::boxed_options options;
    options.max_length = 5;  // 3 pieces a window
    options.pad_to_max_length = false;
    const auto windows = tk::encode_words_windows(tokenizer, letter_words, letter_boxes, 1, options);
    REQUIRE(windows.size() == 3);
    CHECK(windows[0].input_ids == id_list{3, 7, 10, 11, 4});
    CHECK(windows[1].input_ids == id_list{3, 11, 12, 13, 4});
    CHECK(windows[2].input_ids == id_list{3, 13, 14, 15, 4});
    CHECK(windows[0].word_ids == id_list{-1, 0, 0, 0, -1});
    CHECK(windows[1].word_ids == id_list{-1, 0, 1, 1, -1});
    CHECK(windows[2].word_ids == id_list{-1, 1, 1, 3, -1});
    CHECK(windows[2].bbox[3] == letter_boxes[3]);
    CHECK(windows[1].bbox[1] == letter_boxes[0]);
}

TEST_CASE("tokenizers.word_tokenizer: the tokenizer's errors and byte limit reach encode_words" * doctest::test_suite("unit")) {
    mmt::test::check_throws<mmt::input_error>(
        [] { tk::encode_words(mmt::test::letter_word_tokenizer(), {"ab", "Cd"}, {{0, 0, 1, 1}, {0, 0, 1, 1}}); },
        {"layoutlm words: word 1", "letter_word_tokenizer", "expected a..z"});
    mmt::test::check_throws<mmt::input_error>(
        [] { tk::encode_words(mmt::test::letter_word_tokenizer(4), {"ab", "cde"}, {{0, 0, 1, 1}, {0, 0, 1, 1}}); },
        {"text of 5 bytes", "at most 4"});
}
