#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/tokenizers/clip_bpe.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/tokenizers.hpp"

namespace {

using mmt::tokenizers::clip_bpe_tokenizer;


// A five-merge tokenizer directory for the error paths.
std::filesystem::path tiny_clip_dir(const std::string& name, const std::string& merges, bool with_specials = true) {
    const auto dir = mmt::test::scratch_dir(name);
    std::string vocab = R"({"a": 0, "b": 1, "a</w>": 2, "b</w>": 3, "ab</w>": 4)";
    if (with_specials) vocab += R"(, "<|startoftext|>": 5, "<|endoftext|>": 6)";
    mmt::test::write_file(dir / "vocab.json", vocab + "}");
    mmt::test::write_file(dir / "merges.txt", merges);
    return dir;
}

}  // namespace

TEST_CASE("tokenizers.clip_bpe: every fixture case" * doctest::test_suite("unit")) {
    const auto cases = mmt::io::read_json_file(mmt::test::data_path("clip-tokenizer/cases.json"))["cases"];
    REQUIRE(cases.size() == 18);
    std::size_t exact = 0;
    for (const auto& c : cases) {
        const auto text = c["text"].get<std::string>();
        CAPTURE(text);
        const auto expected_ids = c["input_ids"].get<std::vector<std::int64_t>>();
        const auto expected_mask = c["attention_mask"].get<std::vector<std::int64_t>>();
        const auto got = mmt::test::clip_tokenizer().encode(text, 77);
        CHECK(got.input_ids == expected_ids);
        CHECK(got.attention_mask == expected_mask);
        CHECK(got.token_type_ids.empty());
        // The fixture's tokens list the untruncated texts with their two special tokens.
        const auto tokens = c["tokens"].get<std::vector<std::string>>();
        const auto real = static_cast<std::size_t>(std::count(expected_mask.begin(), expected_mask.end(), 1));
        if (tokens.size() == real) {
            CHECK(mmt::test::clip_tokenizer().tokenize(text) == std::vector<std::string>(tokens.begin() + 1, tokens.end() - 1));
        }
        exact += got.input_ids == expected_ids && got.attention_mask == expected_mask;
    }
    MESSAGE("clip_bpe: ", exact, " of ", cases.size(), " fixture cases exact");
    CHECK(exact == cases.size());
}

TEST_CASE("tokenizers.clip_bpe: settings from the saved files" * doctest::test_suite("unit")) {
    CHECK(mmt::test::clip_tokenizer().vocab_size() == 49408);
    CHECK(mmt::test::clip_tokenizer().model_max_length() == 77);
    CHECK(mmt::test::clip_tokenizer().bos_token_id() == 49406);
    CHECK(mmt::test::clip_tokenizer().eos_token_id() == 49407);
    CHECK(mmt::test::clip_tokenizer().pad_token_id() == 49407);
    CHECK(mmt::test::clip_tokenizer().unk_token_id() == 49407);
}

// The reference (slow CLIPTokenizer without ftfy) cuts a CJK run into one word per
// ideograph; CLIPTokenizerFast and OpenAI's tokenizer keep "\p{L}+" runs whole, and we
// follow them. "日本語" is the bytes E6 97 A5 | E6 9C AC | E8 AA 9E, byte-mapped to
// "æĹ¥æľ¬èªŀ"; its best-ranked merges then give æĹ¥ (39121) + æľ¬ (44353) + èª (34002)
// + ŀ</w> (508), the last byte taking the end-of-word suffix. The slow tokenizer would
// give æĹ¥</w> æľ ¬</w> èª ŀ</w> = 37156 19277 361 34002 508 instead. (Derived by hand
// from merges.txt and checked with an independent Python BPE over the same files.)
TEST_CASE("tokenizers.clip_bpe: a CJK run stays one word, as in the fast tokenizer" * doctest::test_suite("unit")) {
    CHECK(mmt::test::clip_tokenizer().tokenize("日本語") == std::vector<std::string>{"æĹ¥", "æľ¬", "èª", "ŀ</w>"});
    const auto got = mmt::test::clip_tokenizer().encode("日本語", 77, false);
    CHECK(got.input_ids == std::vector<std::int64_t>{49406, 39121, 44353, 34002, 508, 49407});
    CHECK(got.attention_mask == std::vector<std::int64_t>(6, 1));
    // Kana are letters too, so "日本語のテキスト" is a single word; 東京 before it is another.
    CHECK(mmt::test::clip_tokenizer().convert_tokens_to_ids(mmt::test::clip_tokenizer().tokenize("東京 tower 日本語のテキスト")) ==
          std::vector<std::int64_t>{48338, 21078, 361, 4730, 39121, 44353, 34002, 252, 21575, 2429, 228, 47121, 32421, 486});
}

TEST_CASE("tokenizers.clip_bpe: truncation keeps the end token, padding is optional" * doctest::test_suite("unit")) {
    const auto truncated = mmt::test::clip_tokenizer().encode("a photo of a cat", 5);
    CHECK(truncated.input_ids == std::vector<std::int64_t>{49406, 320, 1125, 539, 49407});
    CHECK(truncated.attention_mask == std::vector<std::int64_t>{1, 1, 1, 1, 1});
    const auto unpadded = mmt::test::clip_tokenizer().encode("a photo of a cat", 77, false);
    CHECK(unpadded.input_ids == std::vector<std::int64_t>{49406, 320, 1125, 539, 320, 2368, 49407});
    CHECK(mmt::test::clip_tokenizer().encode("", 2).input_ids == std::vector<std::int64_t>{49406, 49407});
    CHECK_THROWS_WITH_AS(mmt::test::clip_tokenizer().encode("a", 1), doctest::Contains("max_length 1"), mmt::input_error);
}

TEST_CASE("tokenizers.clip_bpe: special tokens written in the text" * doctest::test_suite("unit")) {
    CHECK(mmt::test::clip_tokenizer().tokenize("a<|endoftext|>!") == std::vector<std::string>{"a</w>", "<|endoftext|>", "!</w>"});
    // Lower-casing turns this one into the literal the split pattern knows.
    CHECK(mmt::test::clip_tokenizer().convert_tokens_to_ids(mmt::test::clip_tokenizer().tokenize("<|STARTOFTEXT|>")) == std::vector<std::int64_t>{49406});
}

TEST_CASE("tokenizers.clip_bpe: text clean-up" * doctest::test_suite("unit")) {
    // Control characters vanish, any whitespace separates words, NFD input is composed first.
    CHECK(mmt::test::clip_tokenizer().tokenize("cat\x01\u200b dog\u3000\u2028fish") == mmt::test::clip_tokenizer().tokenize("cat dog fish"));
    CHECK(mmt::test::clip_tokenizer().tokenize("cafe\u0301") == mmt::test::clip_tokenizer().tokenize("caf\u00e9"));
    CHECK(mmt::test::clip_tokenizer().tokenize("\u0130") == mmt::test::clip_tokenizer().tokenize("i\u0307"));
    // The pattern is case-insensitive: the long s matches the "'s" contraction, so "'ſ"
    // is one word (bytes 27 C5 BF), not "'" and "ſ".
    CHECK(mmt::test::clip_tokenizer().tokenize("it'\u017f") == std::vector<std::string>{"it</w>", "'", "Å", "¿</w>"});
}

TEST_CASE("tokenizers.clip_bpe: decode" * doctest::test_suite("unit")) {
    const auto ids = mmt::test::clip_tokenizer().encode("A Photo Of A CAT!! it's 3 cats", 77, false).input_ids;
    CHECK(mmt::test::clip_tokenizer().decode(ids) == "a photo of a cat!! it's 3 cats");
    CHECK(mmt::test::clip_tokenizer().decode(ids, false) == "<|startoftext|>a photo of a cat!! it's 3 cats <|endoftext|>");
    CHECK(mmt::test::clip_tokenizer().decode(mmt::test::clip_tokenizer().encode("naïve café 🐈 日本語", 77).input_ids) == "naïve café 🐈 日本語");
    // Half of a multi-byte character decodes to U+FFFD, as errors="replace" does.
    CHECK(mmt::test::clip_tokenizer().decode({39121, 44353, 34002}) == "日本\uFFFD");
    CHECK_THROWS_WITH_AS(mmt::test::clip_tokenizer().decode({320, 49408}), doctest::Contains("id 49408 at position 1"), mmt::input_error);
    CHECK_THROWS_WITH_AS(mmt::test::clip_tokenizer().decode({-1}), doctest::Contains("id -1 at position 0"), mmt::input_error);
}

TEST_CASE("tokenizers.clip_bpe: invalid UTF-8 names the byte offset" * doctest::test_suite("unit")) {
    CHECK_THROWS_WITH_AS(mmt::test::clip_tokenizer().tokenize("ab\xff"), doctest::Contains("byte offset 2"), mmt::input_error);
    // Offsets count from the start of the text, across added tokens.
    CHECK_THROWS_WITH_AS(mmt::test::clip_tokenizer().tokenize("<|endoftext|>\xe6\x97"), doctest::Contains("byte offset 13"),
                         mmt::input_error);
}

TEST_CASE("tokenizers.clip_bpe: one tokenizer serves many threads" * doctest::test_suite("unit")) {
    const std::vector<std::string> texts = {"a photo of a cat", "pneumonoultramicroscopicsilicovolcanoconiosis",
                                            "日本語", "don't won't can't"};
    std::vector<std::vector<std::int64_t>> expected;
    for (const auto& t : texts) expected.push_back(mmt::test::clip_tokenizer().encode(t, 77).input_ids);
    std::vector<int> mismatches(4, 0);
    std::vector<std::thread> threads;
    for (int k = 0; k < 4; ++k) {
        threads.emplace_back([&, k] {
            for (int round = 0; round < 50; ++round) {
                const auto i = static_cast<std::size_t>((k + round) % 4);
                mismatches[static_cast<std::size_t>(k)] += mmt::test::clip_tokenizer().encode(texts[i], 77).input_ids != expected[i];
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(mismatches == std::vector<int>(4, 0));
}

TEST_CASE("tokenizers.clip_bpe: loading errors name the file" * doctest::test_suite("unit")) {
    const auto good = tiny_clip_dir("clip_good", "#version: 0.2\na b</w>\n");
    const auto tiny = clip_bpe_tokenizer::from_directory(good);
    CHECK(tiny.tokenize("ab") == std::vector<std::string>{"ab</w>"});
    CHECK(tiny.model_max_length() == mmt::tokenizers::no_max_length);

    const auto missing = mmt::test::scratch_dir("clip_missing");
    CHECK_THROWS_WITH_AS(clip_bpe_tokenizer::from_directory(missing), doctest::Contains("vocab.json"), mmt::io_error);
    mmt::test::write_file(missing / "vocab.json", R"({"<|startoftext|>": 0, "<|endoftext|>": 1})");
    CHECK_THROWS_WITH_AS(clip_bpe_tokenizer::from_directory(missing), doctest::Contains("merges.txt"), mmt::io_error);

    const auto three = tiny_clip_dir("clip_three", "#version: 0.2\na b</w>\na b c\n");
    CHECK_THROWS_WITH_AS(clip_bpe_tokenizer::from_directory(three), doctest::Contains("merges.txt line 3"),
                         mmt::format_error);
    const auto unknown = tiny_clip_dir("clip_unknown", "#version: 0.2\nb a\n");
    CHECK_THROWS_WITH_AS(clip_bpe_tokenizer::from_directory(unknown), doctest::Contains("line 2: merge result \"ba\""),
                         mmt::format_error);
    const auto no_specials = tiny_clip_dir("clip_no_specials", "#version: 0.2\na b</w>\n", false);
    CHECK_THROWS_WITH_AS(clip_bpe_tokenizer::from_directory(no_specials),
                         doctest::Contains("vocab.json: special token bos_token \"<|startoftext|>\""),
                         mmt::config_error);
    const auto bad_vocab = tiny_clip_dir("clip_bad_vocab", "#version: 0.2\n");
    mmt::test::write_file(bad_vocab / "vocab.json", R"({"a": "zero"})");
    CHECK_THROWS_WITH_AS(clip_bpe_tokenizer::from_directory(bad_vocab), doctest::Contains("token \"a\""),
                         mmt::format_error);
}
