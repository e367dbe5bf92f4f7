#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/tokenizers/layoutlm_words.hpp"
#include "support/data.hpp"
#include "support/tokenizers.hpp"

namespace {

namespace tk = mmt::tokenizers;
using ids = std::vector<std::int64_t>;
using boxes = std::vector<tk::word_box>;

const std::vector<std::string> invoice_words = {"Invoice", "Number:", "12345", "Date:", "2019-12-31"};
const boxes invoice_boxes = {{10, 20, 80, 40}, {100, 20, 170, 40}, {190, 20, 260, 40}, {280, 20, 350, 40},
                             {370, 20, 440, 40}};
// The 14 word pieces of the invoice line and the word each comes from.
const ids invoice_pieces = {14, 19, 23, 118, 45, 46, 47, 15, 23, 116, 25, 118, 25, 119};
const ids invoice_piece_words = {0, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4, 4, 4, 4};

}  // namespace

TEST_CASE("tokenizers.layoutlm_words: every boxed fixture case" * doctest::test_suite("unit")) {
    const auto cases = mmt::io::read_json_file(mmt::test::data_path("layoutlm-tokenizer/boxed_cases.json"))["cases"];
    REQUIRE(cases.size() == 8);
    std::size_t exact = 0;
    for (const auto& c : cases) {
        const auto words = c["words"].get<std::vector<std::string>>();
        CAPTURE(c["words"].dump());
        tk::boxed_options options;
        options.max_length = c["max_length"].get<std::size_t>();
        const auto got = tk::encode_words(mmt::test::bert_tokenizer(), words, c["boxes"].get<boxes>(), options);
        const bool match = got.input_ids == c["input_ids"].get<ids>() && got.bbox == c["bbox"].get<boxes>() &&
                           got.attention_mask == c["attention_mask"].get<ids>() &&
                           got.token_type_ids == c["token_type_ids"].get<ids>();
        CHECK(got.input_ids == c["input_ids"].get<ids>());
        CHECK(got.bbox == c["bbox"].get<boxes>());
        CHECK(got.attention_mask == c["attention_mask"].get<ids>());
        CHECK(got.token_type_ids == c["token_type_ids"].get<ids>());
        // word_ids agree with the boxes: -1 exactly where a special or padding box sits.
        REQUIRE(got.word_ids.size() == got.input_ids.size());
        for (std::size_t i = 0; i < got.word_ids.size(); ++i) {
            if (got.word_ids[i] >= 0) CHECK(got.bbox[i] == c["boxes"][static_cast<std::size_t>(got.word_ids[i])].get<tk::word_box>());
        }
        exact += match;
    }
    MESSAGE("layoutlm_words: ", exact, " of ", cases.size(), " boxed fixture cases exact");
    CHECK(exact == cases.size());
}

TEST_CASE("tokenizers.layoutlm_words: word ids, truncation and no padding" * doctest::test_suite("unit")) {
    tk::boxed_options options;
    options.max_length = 16;
    const auto full = tk::encode_words(mmt::test::bert_tokenizer(), invoice_words, invoice_boxes, options);
    ids expected_words = {-1};
    expected_words.insert(expected_words.end(), invoice_piece_words.begin(), invoice_piece_words.end());
    expected_words.push_back(-1);
    CHECK(full.word_ids == expected_words);

    options.max_length = 6;
    const auto cut = tk::encode_words(mmt::test::bert_tokenizer(), invoice_words, invoice_boxes, options);
    CHECK(cut.input_ids == ids{2, 14, 19, 23, 118, 3});
    CHECK(cut.word_ids == ids{-1, 0, 1, 1, 2, -1});
    CHECK(cut.bbox.back() == tk::word_box{1000, 1000, 1000, 1000});

    options.max_length = 20;
    options.pad_to_max_length = false;
    CHECK(tk::encode_words(mmt::test::bert_tokenizer(), invoice_words, invoice_boxes, options).input_ids.size() == 16);

    // An empty word gives no pieces but keeps its index.
    options.pad_to_max_length = true;
    const auto gap = tk::encode_words(mmt::test::bert_tokenizer(), {"Total", "", "Due"}, {{1, 1, 2, 2}, {3, 3, 4, 4}, {5, 5, 6, 6}}, options);
    CHECK(gap.word_ids[1] == 0);
    CHECK(gap.word_ids[2] == 2);
    CHECK(gap.bbox[2] == tk::word_box{5, 5, 6, 6});
}

TEST_CASE("tokenizers.layoutlm_words: windows over a long document" * doctest::test_suite("unit")) {
    tk::boxed_options options;
    options.max_length = 8;  // six word pieces a window
    const auto windows = tk::encode_words_windows(mmt::test::bert_tokenizer(), invoice_words, invoice_boxes, 2, options);
    REQUIRE(windows.size() == 3);  // pieces [0, 6), [4, 10), [8, 14)
    for (std::size_t w = 0; w < windows.size(); ++w) {
        CAPTURE(w);
        const auto& window = windows[w];
        const std::size_t begin = 4 * w;
        ids expected_ids = {2}, expected_words = {-1};
        for (std::size_t i = begin; i < begin + 6; ++i) {
            expected_ids.push_back(invoice_pieces[i]);
            expected_words.push_back(invoice_piece_words[i]);
        }
        expected_ids.push_back(3);
        expected_words.push_back(-1);
        CHECK(window.input_ids == expected_ids);
        CHECK(window.word_ids == expected_words);
        CHECK(window.attention_mask == ids(8, 1));
        CHECK(window.bbox.front() == tk::word_box{0, 0, 0, 0});
        CHECK(window.bbox[1] == invoice_boxes[static_cast<std::size_t>(expected_words[1])]);
        CHECK(window.bbox.back() == tk::word_box{1000, 1000, 1000, 1000});
    }
    // A short document is one padded window, the same as encode_words.
    options.max_length = 32;
    const auto single = tk::encode_words_windows(mmt::test::bert_tokenizer(), invoice_words, invoice_boxes, 4, options);
    REQUIRE(single.size() == 1);
    CHECK(single[0].input_ids == tk::encode_words(mmt::test::bert_tokenizer(), invoice_words, invoice_boxes, options).input_ids);
    CHECK(single[0].bbox.back() == tk::word_box{0, 0, 0, 0});
    // The last window is padded when it is short: pieces [0, 6), [5, 11), [10, 14).
    options.max_length = 8;
    const auto uneven = tk::encode_words_windows(mmt::test::bert_tokenizer(), invoice_words, invoice_boxes, 1, options);
    REQUIRE(uneven.size() == 3);
    CHECK(uneven[2].input_ids == ids{2, 25, 118, 25, 119, 3, 0, 0});
    CHECK(uneven[2].word_ids == ids{-1, 4, 4, 4, 4, -1, -1, -1});
}

TEST_CASE("tokenizers.layoutlm_words: normalize_box truncates like int()" * doctest::test_suite("unit")) {
    CHECK(tk::normalize_box({10, 20, 80, 40}, 612, 792) == tk::word_box{16, 25, 130, 50});
    // 1000 * (67.32 / 612) is 109.99999999999999 in double, so HF gets 109 (not 110).
    CHECK(tk::normalize_box({67.32, 0, 612, 792}, 612, 792) == tk::word_box{109, 0, 1000, 1000});
    CHECK_THROWS_WITH_AS(tk::normalize_box({0, 0, 1, 1}, 0, 792), doctest::Contains("page size 0 x 792"),
                         mmt::input_error);
    CHECK_THROWS_WITH_AS(tk::normalize_box({0, 0, 1, 1}, 612, -1), doctest::Contains("page size 612 x -1"),
                         mmt::input_error);
}

TEST_CASE("tokenizers.layoutlm_words: bad input names the word" * doctest::test_suite("unit")) {
    const std::vector<std::string> words = {"Total", "Due"};
    CHECK_THROWS_WITH_AS(tk::encode_words(mmt::test::bert_tokenizer(), words, {{0, 0, 1, 1}}), doctest::Contains("2 words but 1 boxes"),
                         mmt::input_error);
    CHECK_THROWS_WITH_AS(tk::encode_words(mmt::test::bert_tokenizer(), {}, {}), doctest::Contains("no words"), mmt::input_error);
    CHECK_THROWS_WITH_AS(tk::encode_words(mmt::test::bert_tokenizer(), words, {{0, 0, 1, 1}, {0, 0, 1001, 1}}),
                         doctest::Contains("word 1 (\"Due\") has x1 = 1001"), mmt::input_error);
    CHECK_THROWS_WITH_AS(tk::encode_words(mmt::test::bert_tokenizer(), words, {{0, -2, 1, 1}, {0, 0, 1, 1}}),
                         doctest::Contains("word 0 (\"Total\") has y0 = -2"), mmt::input_error);
    CHECK_THROWS_WITH_AS(tk::encode_words(mmt::test::bert_tokenizer(), words, {{5, 0, 4, 1}, {0, 0, 1, 1}}),
                         doctest::Contains("word 0 (\"Total\") has box [5, 0, 4, 1]; expected x0 <= x1"),
                         mmt::input_error);
    CHECK_THROWS_WITH_AS(tk::encode_words(mmt::test::bert_tokenizer(), words, {{0, 0, 1, 1}, {0, 9, 1, 8}}),
                         doctest::Contains("word 1 (\"Due\") has box [0, 9, 1, 8]"), mmt::input_error);
    CHECK_THROWS_WITH_AS(tk::encode_words(mmt::test::bert_tokenizer(), {"Total", "\xff"}, {{0, 0, 1, 1}, {0, 0, 1, 1}}),
                         doctest::Contains("word 1: text: invalid UTF-8 at byte offset 0"), mmt::input_error);

    tk::boxed_options clamp;
    clamp.clamp_boxes = true;
    clamp.max_length = 4;
    const auto clamped = tk::encode_words(mmt::test::bert_tokenizer(), words, {{-5, 10, 1200, 20}, {0, 0, 1, 1}}, clamp);
    CHECK(clamped.bbox[1] == tk::word_box{0, 10, 1000, 20});

    tk::boxed_options strict;
    strict.max_length = 3;
    strict.truncation = false;
    CHECK_THROWS_WITH_AS(tk::encode_words(mmt::test::bert_tokenizer(), words, {{0, 0, 1, 1}, {0, 0, 1, 1}}, strict),
                         doctest::Contains("2 word pieces; expected at most 1"), mmt::input_error);
    CHECK_THROWS_WITH_AS(tk::encode_words_windows(mmt::test::bert_tokenizer(), words, {{0, 0, 1, 1}, {0, 0, 1, 1}}, 1, strict),
                         doctest::Contains("stride 1 with max_length 3"), mmt::input_error);
}
