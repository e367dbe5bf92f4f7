#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/tokenizers/wordpiece.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/tokenizers.hpp"

namespace {

using mmt::tokenizers::wordpiece_tokenizer;
using strings = std::vector<std::string>;


}  // namespace

TEST_CASE("tokenizers.wordpiece: every fixture case" * doctest::test_suite("unit")) {
    const auto cases = mmt::io::read_json_file(mmt::test::data_path("layoutlm-tokenizer/cases.json"))["cases"];
    REQUIRE(cases.size() == 8);
    std::size_t exact = 0;
    for (const auto& c : cases) {
        const auto words = c["words"].get<strings>();
        const auto word_tokens = c["word_tokens"].get<std::vector<strings>>();
        std::string joined;
        bool words_match = true;
        for (std::size_t i = 0; i < words.size(); ++i) {
            CAPTURE(words[i]);
            const auto tokens = mmt::test::bert_tokenizer().tokenize(words[i]);
            CHECK(tokens == word_tokens[i]);
            words_match = words_match && tokens == word_tokens[i];
            joined += (i ? " " : "") + words[i];
        }
        CAPTURE(joined);
        const auto expected = c["input_ids"].get<std::vector<std::int64_t>>();
        const auto got = mmt::test::bert_tokenizer().encode(joined, 512, false);
        CHECK(got.input_ids == expected);
        CHECK(got.attention_mask == std::vector<std::int64_t>(expected.size(), 1));
        CHECK(got.token_type_ids == std::vector<std::int64_t>(expected.size(), 0));
        exact += words_match && got.input_ids == expected;
    }
    MESSAGE("wordpiece: ", exact, " of ", cases.size(), " fixture cases exact");
    CHECK(exact == cases.size());
}

TEST_CASE("tokenizers.wordpiece: settings from the saved files" * doctest::test_suite("unit")) {
    CHECK(mmt::test::bert_tokenizer().vocab_size() == 121);
    CHECK(mmt::test::bert_tokenizer().model_max_length() == 512);
    CHECK(mmt::test::bert_tokenizer().pad_token_id() == 0);
    CHECK(mmt::test::bert_tokenizer().unk_token_id() == 1);
    CHECK(mmt::test::bert_tokenizer().cls_token_id() == 2);
    CHECK(mmt::test::bert_tokenizer().sep_token_id() == 3);
    CHECK(mmt::test::bert_tokenizer().mask_token_id() == 4);
}

TEST_CASE("tokenizers.wordpiece: words over 100 characters are [UNK]" * doctest::test_suite("unit")) {
    const auto hundred = mmt::test::bert_tokenizer().tokenize(std::string(100, '1'));
    REQUIRE(hundred.size() == 100);
    CHECK(hundred.front() == "1");
    CHECK(hundred.back() == "##1");
    CHECK(mmt::test::bert_tokenizer().tokenize(std::string(101, '1')) == strings{"[UNK]"});
    // Characters, not bytes: 100 two-byte letters still fit.
    CHECK(mmt::test::bert_tokenizer().tokenize(std::string(50, 'x') + std::string(50, 'y')).size() == 100);
}

TEST_CASE("tokenizers.wordpiece: BasicTokenizer clean-up and splits" * doctest::test_suite("unit")) {
    // NUL, U+FFFD and control/format characters vanish; any whitespace separates.
    CHECK(mmt::test::bert_tokenizer().tokenize(std::string("to\0tal", 6)) == strings{"total"});
    CHECK(mmt::test::bert_tokenizer().tokenize("to\uFFFDtal\u200b tax\u00a0due\tpay") == strings{"total", "tax", "due", "pay"});
    // Ideographs split apart even inside a word; kana do not count.
    CHECK(mmt::test::bert_tokenizer().tokenize("x\u65e5\u672cy") == strings{"x", "\u65e5", "\u672c", "y"});
    // Uncased: lower-case then strip accents; NFD input gives the same result.
    CHECK(mmt::test::bert_tokenizer().tokenize("CAF\u00c9 Cafe\u0301") == strings{"cafe", "cafe"});
    // BERT's punctuation: ASCII symbols ($ ^ `) and Unicode P* (the em dash).
    CHECK(mmt::test::bert_tokenizer().tokenize("$5^`") == strings{"$", "5", "^", "`"});
    CHECK(mmt::test::bert_tokenizer().tokenize("tax\u2014total") == strings{"tax", "[UNK]", "total"});
    CHECK(mmt::test::bert_tokenizer().tokenize("  ") == strings{});
}

TEST_CASE("tokenizers.wordpiece: special tokens written in the text" * doctest::test_suite("unit")) {
    CHECK(mmt::test::bert_tokenizer().tokenize("Total[SEP]due [MASK]") == strings{"total", "[SEP]", "due", "[MASK]"});
    CHECK(mmt::test::bert_tokenizer().convert_tokens_to_ids({"[SEP]", "total", "nope"}) == std::vector<std::int64_t>{3, 16, 1});
}

TEST_CASE("tokenizers.wordpiece: encode truncates and pads" * doctest::test_suite("unit")) {
    const auto got = mmt::test::bert_tokenizer().encode("Invoice Number: 12345", 6);
    CHECK(got.input_ids == std::vector<std::int64_t>{2, 14, 19, 23, 118, 3});
    const auto padded = mmt::test::bert_tokenizer().encode("total", 5);
    CHECK(padded.input_ids == std::vector<std::int64_t>{2, 16, 3, 0, 0});
    CHECK(padded.attention_mask == std::vector<std::int64_t>{1, 1, 1, 0, 0});
    CHECK(padded.token_type_ids == std::vector<std::int64_t>{0, 0, 0, 0, 0});
}

TEST_CASE("tokenizers.wordpiece: decode" * doctest::test_suite("unit")) {
    const auto ids = mmt::test::bert_tokenizer().encode("Total Amount: $1,234.56 isn't", 64).input_ids;
    // [UNK] is a special token, so it is skipped too.
    CHECK(mmt::test::bert_tokenizer().decode(ids) == "total amount : $ 1, 234. 56 '");
    CHECK(mmt::test::bert_tokenizer().decode({2, 16, 17, 3, 0}, false) == "[CLS] total amount [SEP] [PAD]");
    CHECK(mmt::test::bert_tokenizer().decode({45, 16}) == "##3 total");
    CHECK_THROWS_WITH_AS(mmt::test::bert_tokenizer().decode({16, 121}), doctest::Contains("id 121 at position 1"), mmt::input_error);
    CHECK_THROWS_WITH_AS(mmt::test::bert_tokenizer().decode({-3}), doctest::Contains("id -3 at position 0"), mmt::input_error);
}

TEST_CASE("tokenizers.wordpiece: invalid UTF-8 names the byte offset" * doctest::test_suite("unit")) {
    CHECK_THROWS_WITH_AS(mmt::test::bert_tokenizer().tokenize("[CLS] total \xc3"), doctest::Contains("byte offset 12"), mmt::input_error);
}

TEST_CASE("tokenizers.wordpiece: loading errors name the file" * doctest::test_suite("unit")) {
    const auto dir = mmt::test::scratch_dir("wordpiece_errors");
    CHECK_THROWS_WITH_AS(wordpiece_tokenizer::from_directory(dir), doctest::Contains("vocab.txt"), mmt::io_error);

    mmt::test::write_file(dir / "vocab.txt", "[PAD]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
    CHECK_THROWS_WITH_AS(wordpiece_tokenizer::from_directory(dir),
                         doctest::Contains("vocab.txt: special token unk_token \"[UNK]\""), mmt::config_error);

    // Windows line ends, no final newline, defaults when no tokenizer_config.json exists.
    mmt::test::write_file(dir / "vocab.txt", "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nhello\r\n##s");
    const auto tiny = wordpiece_tokenizer::from_directory(dir);
    CHECK(tiny.vocab_size() == 7);
    CHECK(tiny.tokenize("Hellos") == strings{"hello", "##s"});
    CHECK(tiny.model_max_length() == mmt::tokenizers::no_max_length);

    mmt::test::write_file(dir / "vocab.txt", "[PAD]\n[UNK]\n\xff\n");
    CHECK_THROWS_WITH_AS(wordpiece_tokenizer::from_directory(dir), doctest::Contains("vocab.txt line 3"),
                         mmt::format_error);

    mmt::test::write_file(dir / "vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n");
    mmt::test::write_file(dir / "tokenizer_config.json", R"({"do_lower_case": "yes"})");
    CHECK_THROWS_WITH_AS(wordpiece_tokenizer::from_directory(dir), doctest::Contains("\"do_lower_case\""),
                         mmt::config_error);
}
