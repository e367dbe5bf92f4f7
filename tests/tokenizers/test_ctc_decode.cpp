#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/tokenizers/ctc_decode.hpp"
#include "support/data.hpp"
#include "support/files.hpp"

namespace {

using mmt::tokenizers::ctc_tokenizer_config;
using mmt::tokenizers::wav2vec2_ctc_tokenizer;
using ids = std::vector<std::int64_t>;

const wav2vec2_ctc_tokenizer& fixture_tokenizer() {
    static const wav2vec2_ctc_tokenizer tokenizer =
        wav2vec2_ctc_tokenizer::from_pretrained(mmt::test::data_path("wav2vec2-audio"));
    return tokenizer;
}

wav2vec2_ctc_tokenizer small_tokenizer(ctc_tokenizer_config config = {}) {
    mmt::tokenizers::ordered_json vocab = {{"<pad>", 0}, {"<unk>", 1}, {"|", 2}, {"A", 3}, {"B", 4},
                                           {"'", 5},     {"S", 6},     {".", 7}, {"Σ", 8}, {"İ", 9}};
    return wav2vec2_ctc_tokenizer(vocab, std::move(config), "test vocab");
}


}  // namespace

TEST_CASE("tokenizers.ctc_decode: every fixture case" * doctest::test_suite("parity")) {
    auto cases = mmt::io::read_json_file(mmt::test::data_path("wav2vec2-audio/ctc_cases.json"))["cases"];
    REQUIRE(cases.size() == 4);
    std::size_t exact = 0;
    for (const auto& c : cases) {
        auto text = fixture_tokenizer().decode(c["frame_ids"].get<ids>());
        CHECK(text == c["text"].get<std::string>());
        exact += text == c["text"].get<std::string>();
    }
    MESSAGE("ctc_cases.json: " << exact << " / " << cases.size() << " exact");
    CHECK(fixture_tokenizer().vocab_size() == 32);
}

TEST_CASE("tokenizers.ctc_decode: character and word offsets in frames and seconds" * doctest::test_suite("unit")) {
    // HELLO WORLD from the fixture: runs H3 E2 L3 _ L _ O _ | W3 O2 R3 _ L3 _ D2 _.
    ids frames = {11, 11, 11, 5, 5, 15, 15, 15, 0, 15, 0, 8, 0, 4, 18, 18, 18, 8, 8, 13, 13, 13, 0, 15, 15, 15, 0, 14, 14, 0};
    auto decoded = fixture_tokenizer().decode_with_offsets(frames);
    CHECK(decoded.text == "HELLO WORLD");
    std::vector<std::tuple<std::string, int, int>> chars = {{"H", 0, 3},  {"E", 3, 5},   {"L", 5, 8},   {"L", 9, 10},
                                                            {"O", 11, 12}, {" ", 13, 14}, {"W", 14, 17}, {"O", 17, 19},
                                                            {"R", 19, 22}, {"L", 23, 26}, {"D", 27, 29}};
    REQUIRE(decoded.char_offsets.size() == chars.size());
    for (std::size_t i = 0; i < chars.size(); ++i) {
        CHECK(decoded.char_offsets[i].character == std::get<0>(chars[i]));
        CHECK(decoded.char_offsets[i].start_offset == std::get<1>(chars[i]));
        CHECK(decoded.char_offsets[i].end_offset == std::get<2>(chars[i]));
    }
    REQUIRE(decoded.word_offsets.size() == 2);
    CHECK(decoded.word_offsets[0].word == "HELLO");
    CHECK(decoded.word_offsets[0].start_offset == 0);
    CHECK(decoded.word_offsets[0].end_offset == 12);
    CHECK(decoded.word_offsets[1].word == "WORLD");
    CHECK(decoded.word_offsets[1].start_offset == 14);
    CHECK(decoded.word_offsets[1].end_offset == 29);

    // The pipeline's timestamps: frame * prod(conv_stride) / sampling_rate.
    auto config = mmt::io::read_json_file(mmt::test::data_path("configs/wav2vec2-base-960h.json"));
    mmt::tokenizers::ctc_time_base time{mmt::tokenizers::inputs_to_logits_ratio(config["conv_stride"].get<std::vector<int>>()),
                                        16000};
    CHECK(time.inputs_to_logits_ratio == 320);
    CHECK(time.seconds(decoded.word_offsets[1].start_offset) == 0.28);
    CHECK(time.seconds(decoded.word_offsets[1].end_offset) == 0.58);

    auto empty = fixture_tokenizer().decode_with_offsets({});
    CHECK(empty.text.empty());
    CHECK(empty.char_offsets.empty());
    CHECK(empty.word_offsets.empty());
}

TEST_CASE("tokenizers.ctc_decode: grouping, blanks, delimiters and unknown ids" * doctest::test_suite("unit")) {
    auto tok = small_tokenizer();
    CHECK(tok.decode({3, 3, 0, 3, 2, 2, 4}) == "AA B");
    CHECK(tok.decode({3, 3, 0, 3}, false) == "AAA");
    CHECK(tok.decode({2, 2, 3, 2}) == "A");        // leading / trailing delimiters stripped
    CHECK(tok.decode({3, 2, 0, 2, 4}) == "A  B");  // a blank between delimiters keeps both
    // Ids outside the vocabulary are the unk token, and group with it by string.
    CHECK(tok.decode({99, 1, -5, 3}) == "<unk>A");
    CHECK(tok.convert_id_to_token(-1) == "<unk>");
    auto words = tok.decode_with_offsets({2, 3, 3, 2, 2, 0, 4, 2});
    REQUIRE(words.word_offsets.size() == 2);
    CHECK(words.word_offsets[0].word == "A");
    CHECK(words.word_offsets[0].start_offset == 1);
    CHECK(words.word_offsets[0].end_offset == 3);
    CHECK(words.word_offsets[1].start_offset == 6);
}

TEST_CASE("tokenizers.ctc_decode: do_lower_case, clean-up and Python whitespace" * doctest::test_suite("unit")) {
    ctc_tokenizer_config lower;
    lower.do_lower_case = true;
    auto tok = small_tokenizer(lower);
    CHECK(tok.decode({3, 4, 2, 6}) == "ab s");
    // Python's str.lower: final sigma at the end of a word, İ -> i + combining dot.
    CHECK(tok.decode({3, 8, 2, 8, 3}) == "aς σa");
    CHECK(tok.decode({9}) == "i\xCC\x87");
    auto offsets = tok.decode_with_offsets({3, 4});
    CHECK(offsets.char_offsets[0].character == "A");  // offsets keep the vocabulary's case

    ctc_tokenizer_config clean;
    clean.clean_up_tokenization_spaces = true;
    CHECK(small_tokenizer(clean).decode({3, 2, 5, 2, 6, 2, 7}) == "A'S.");
    CHECK(small_tokenizer().decode({3, 2, 5, 2, 6, 2, 7}) == "A ' S .");

    // strip() removes Unicode whitespace such as U+3000, not only ASCII.
    mmt::tokenizers::ordered_json vocab = {{"<pad>", 0}, {"\xE3\x80\x80", 1}, {"A", 2}};
    wav2vec2_ctc_tokenizer wide(vocab, {}, "wide vocab");
    CHECK(wide.decode({1, 2, 1}) == "A");
}

TEST_CASE("tokenizers.ctc_decode: tokenizer_config, special_tokens_map and nested vocab" * doctest::test_suite("unit")) {
    auto dir = mmt::test::scratch_dir("aud_ctc");
    mmt::test::write_file(dir / "vocab.json", R"({"eng": {"[PAD]": 0, "A": 1, "#": 2, "B": 3}, "fra": {"[PAD]": 0, "E": 1}})");
    mmt::test::write_file(dir / "tokenizer_config.json", R"({
        "pad_token": {"content": "[PAD]", "lstrip": false, "__type": "AddedToken"},
        "word_delimiter_token": "#", "target_lang": "eng", "unk_token": "[UNK]",
        "added_tokens_decoder": {"4": {"content": "<new>", "special": true}},
        "tokenizer_class": "Wav2Vec2CTCTokenizer"})");
    mmt::test::write_file(dir / "special_tokens_map.json", R"({"unk_token": "B"})");
    auto tok = wav2vec2_ctc_tokenizer::from_pretrained(dir);
    CHECK(tok.config().pad_token == "[PAD]");
    CHECK(tok.config().unk_token == "B");
    CHECK(tok.decode({1, 0, 1, 2, 3, 4, 7}) == "AA B<new>B");

    mmt::test::write_file(dir / "tokenizer_config.json", R"({"word_delimiter_token": null})");
    mmt::test::write_file(dir / "vocab.json", R"({"<pad>": 0, "|": 1, "A": 2})");
    std::filesystem::remove(dir / "special_tokens_map.json");
    CHECK(wav2vec2_ctc_tokenizer::from_pretrained(dir).decode({2, 1, 2}) == "A|A");
}

TEST_CASE("tokenizers.ctc_decode: broken vocabularies and configs" * doctest::test_suite("unit")) {
    auto dir = mmt::test::scratch_dir("aud_ctc_errors");
    CHECK_THROWS_WITH_AS(wav2vec2_ctc_tokenizer::from_pretrained(dir), doctest::Contains("vocab.json"), mmt::io_error);
    mmt::test::write_file(dir / "vocab.json", R"({"A": 1,)");
    CHECK_THROWS_WITH_AS(wav2vec2_ctc_tokenizer::from_pretrained(dir), doctest::Contains("not valid JSON"),
                         mmt::format_error);
    mmt::test::write_file(dir / "vocab.json", R"({"A": "one"})");
    CHECK_THROWS_WITH_AS(wav2vec2_ctc_tokenizer::from_pretrained(dir),
                         doctest::Contains("token \"A\" has id \"one\"; expected an integer"), mmt::config_error);
    mmt::test::write_file(dir / "vocab.json", R"({"eng": {"A": 1}})");
    CHECK_THROWS_WITH_AS(wav2vec2_ctc_tokenizer::from_pretrained(dir), doctest::Contains("needs target_lang"),
                         mmt::config_error);
    mmt::test::write_file(dir / "tokenizer_config.json", R"({"target_lang": "deu"})");
    CHECK_THROWS_WITH_AS(wav2vec2_ctc_tokenizer::from_pretrained(dir),
                         doctest::Contains("target_lang \"deu\" is not a vocabulary of this nested vocab.json; the languages present "
                                           "are eng"),
                         mmt::config_error);
    mmt::test::write_file(dir / "tokenizer_config.json", R"({"pad_token": 7})");
    CHECK_THROWS_WITH_AS(wav2vec2_ctc_tokenizer::from_pretrained(dir),
                         doctest::Contains("key \"pad_token\": expected a string or {\"content\": string}, got 7"),
                         mmt::config_error);
    mmt::test::write_file(dir / "tokenizer_config.json", R"({"do_lower_case": "yes"})");
    CHECK_THROWS_WITH_AS(wav2vec2_ctc_tokenizer::from_pretrained(dir),
                         doctest::Contains("\"do_lower_case\" has the wrong type"), mmt::config_error);
    mmt::test::write_file(dir / "vocab.json", R"({"A": 1})");
    mmt::test::write_file(dir / "tokenizer_config.json", R"({"added_tokens_decoder": {"x": "<a>"}})");
    CHECK_THROWS_WITH_AS(wav2vec2_ctc_tokenizer::from_pretrained(dir),
                         doctest::Contains("added_tokens_decoder key \"x\" is not an integer id"), mmt::config_error);
}

TEST_CASE("tokenizers.ctc_argmax: first maximum, NaN wins, batch decode" * doctest::test_suite("unit")) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    mmt::tensor<2> logits = {{0.1f, 0.9f, 0.9f}, {2.0f, -1.0f, 0.0f}, {0.0f, nan, 5.0f}, {-3.0f, -2.0f, -2.5f}};
    CHECK(mmt::tokenizers::ctc_argmax(logits) == ids{1, 0, 1, 1});
    CHECK_THROWS_WITH_AS(mmt::tokenizers::ctc_argmax(mmt::tensor<2>::from_shape({3, 0})),
                         doctest::Contains("no classes"), mmt::shape_error);

    mmt::int_tensor<2> batch = {{11, 5, 15, 0, 15, 8}, {0, 0, 0, 0, 0, 0}};
    CHECK(fixture_tokenizer().batch_decode(batch) == std::vector<std::string>{"HELLO", ""});
}

TEST_CASE("tokenizers.ctc_decode: MMS nested vocab.json decodes each language as HF's set_target_lang" * doctest::test_suite("unit")) {
    const auto dir = mmt::test::data_path("wav2vec2-tiny-mms-adapter");
    const mmt::io::json cases = mmt::io::read_json_file(dir / "ctc_cases.json");
    std::size_t checked = 0;
    for (const auto& c : cases["cases"]) {
        const std::string lang = c["target_lang"].get<std::string>();
        CAPTURE(lang);
        // tokenizer_config.json names eng; an explicit language overrides it.
        const auto tokenizer = wav2vec2_ctc_tokenizer::from_pretrained(dir, lang == "eng" ? std::string() : lang);
        CHECK(tokenizer.config().target_lang == lang);
        CHECK(tokenizer.decode(c["frame_ids"].get<std::vector<std::int64_t>>()) == c["text"].get<std::string>());
        ++checked;
    }
    CHECK(checked == 4);
    CHECK_THROWS_WITH_AS(wav2vec2_ctc_tokenizer::from_pretrained(dir, "deu"), doctest::Contains("the languages present are eng or fra"),
                         mmt::config_error);
}
