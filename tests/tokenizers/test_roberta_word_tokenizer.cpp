// LayoutLMv3's tokenizer: every case of the layoutlmv3-tokenizer fixture (ids, boxes,
// attention mask, labels, tokens), the chain to the LayoutLMv3 and LiLT fixtures' inputs,
// windows over a long document, RoBERTa's BPE on its own, and the errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/tokenizers/roberta_word_tokenizer.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"

namespace {

namespace tk = mmt::tokenizers;
using v3_ids = std::vector<std::int64_t>;
using v3_boxes = std::vector<tk::word_box>;
using v3_words = std::vector<std::string>;

const tk::roberta_word_tokenizer& v3_tokenizer() {
    static const auto t = tk::roberta_word_tokenizer::from_pretrained(mmt::test::data_path("layoutlmv3-tokenizer"));
    return t;
}

// A copy of the fixture's tokenizer files with tokenizer_config.json replaced.
std::filesystem::path v3_dir_with_config(const std::string& name, const std::string& config) {
    const auto dir = mmt::test::scratch_dir(name);
    for (const char* file : {"vocab.json", "merges.txt"}) {
        std::filesystem::copy_file(mmt::test::data_path("layoutlmv3-tokenizer") / file, dir / file);
    }
    mmt::test::write_file(dir / "tokenizer_config.json", config);
    return dir;
}

}  // namespace

TEST_CASE("tokenizers.layoutlmv3: every fixture case, ids, boxes, masks, labels and tokens" * doctest::test_suite("unit")) {
    const auto cases = mmt::io::read_json_file(mmt::test::data_path("layoutlmv3-tokenizer/cases.json"))["cases"];
    REQUIRE(cases.size() == 12);
    std::size_t exact = 0;
    for (const auto& c : cases) {
        CAPTURE(c["words"].dump());
        const auto words = c["words"].get<v3_words>();
        const auto boxes = c["boxes"].get<v3_boxes>();
        tk::boxed_options options;
        options.max_length = c["max_length"].get<std::size_t>();
        const bool pair = c.contains("question");
        const auto labels = c.contains("word_labels") ? c["word_labels"].get<v3_ids>() : v3_ids{};
        const auto got = pair ? tk::encode_question(v3_tokenizer(), c["question"].get<std::string>(), words, boxes, options)
                              : tk::encode_words(v3_tokenizer(), words, boxes, options, labels);
        const auto want_tokens = c["tokens"].get<v3_words>();
        const auto want_labels = c.contains("labels") ? c["labels"].get<v3_ids>() : v3_ids{};
        CHECK(got.input_ids == c["input_ids"].get<v3_ids>());
        CHECK(got.bbox == c["bbox"].get<v3_boxes>());
        CHECK(got.attention_mask == c["attention_mask"].get<v3_ids>());
        CHECK(got.labels == want_labels);
        CHECK(v3_tokenizer().convert_ids_to_tokens(got.input_ids) == want_tokens);

        // tokenize() spells the same pieces: the question's kept ones (before the first
        // "</s>"), then the words' in turn, as far as they were kept.
        const auto sep = std::find(got.input_ids.begin(), got.input_ids.end(), v3_tokenizer().sep_token_id());
        const auto asked = pair ? std::size_t(sep - got.input_ids.begin()) - 1 : 0;
        v3_words pieces, want_pieces(want_tokens.begin() + 1, want_tokens.begin() + 1 + std::ptrdiff_t(asked));
        if (pair) {
            pieces = v3_tokenizer().tokenize(c["question"].get<std::string>());
            pieces.resize(asked);
        }
        for (std::size_t i = 0; i < got.word_ids.size(); ++i) {
            if (got.word_ids[i] >= 0) want_pieces.push_back(want_tokens[i]);
        }
        for (const auto& word : words) {
            const auto word_pieces = v3_tokenizer().tokenize(word);
            pieces.insert(pieces.end(), word_pieces.begin(), word_pieces.end());
        }
        REQUIRE(pieces.size() >= want_pieces.size());
        pieces.resize(want_pieces.size());
        CHECK(pieces == want_pieces);
        exact += got.input_ids == c["input_ids"].get<v3_ids>() && got.bbox == c["bbox"].get<v3_boxes>() &&
                 got.attention_mask == c["attention_mask"].get<v3_ids>() && got.labels == want_labels && pieces == want_pieces;
    }
    MESSAGE("layoutlmv3 tokenizer: ", exact, " of ", cases.size(), " fixture cases exact");
    CHECK(exact == cases.size());
}

TEST_CASE("tokenizers.layoutlmv3: the words and boxes of layoutlmv3-tiny-*'s and lilt-tiny-token-cls's metadata give their "
          "input_ids, bbox and attention_mask" * doctest::test_suite("unit")) {
    for (const char* fixture : {"layoutlmv3-tiny-token-cls", "layoutlmv3-tiny-base", "lilt-tiny-token-cls"}) {
        CAPTURE(fixture);
        const mmt::io::safetensors_file ref(mmt::test::data_path(fixture) / "reference.safetensors");
        const auto words = mmt::io::parse_json(ref.metadata().at("words"), "words").get<std::vector<v3_words>>();
        const auto boxes = mmt::io::parse_json(ref.metadata().at("boxes"), "boxes").get<std::vector<v3_boxes>>();
        const auto input_ids = ref.load<std::int64_t, 2>("input.input_ids");  // [2, 20]
        const auto bbox = ref.load<std::int64_t, 3>("input.bbox");            // [2, 20, 4]
        const auto mask = ref.load<std::int64_t, 2>("input.attention_mask");  // [2, 20]
        REQUIRE(words.size() == input_ids.shape(0));
        tk::boxed_options options;
        options.max_length = std::stoul(ref.metadata().at("max_length"));
        REQUIRE(options.max_length == input_ids.shape(1));
        for (std::size_t i = 0; i < words.size(); ++i) {
            CAPTURE(i);
            const auto got = tk::encode_words(v3_tokenizer(), words[i], boxes[i], options);
            const std::size_t n = options.max_length;
            CHECK(got.input_ids == v3_ids(&input_ids(i, 0), &input_ids(i, 0) + n));
            CHECK(got.attention_mask == v3_ids(&mask(i, 0), &mask(i, 0) + n));
            v3_boxes want(n);
            for (std::size_t s = 0; s < n; ++s) want[s] = {bbox(i, s, 0), bbox(i, s, 1), bbox(i, s, 2), bbox(i, s, 3)};
            CHECK(got.bbox == want);
        }
    }
}

TEST_CASE("tokenizers.layoutlmv3: windows over a long document keep labels on first pieces and zero boxes on specials" *
          doctest::test_suite("unit")) {
    // "Invoice" -> ĠI n voice, "Total" -> ĠT ot al, "Due" -> ĠD ue: 8 pieces, windows of 4 with stride 2.
    const v3_words words = {"Invoice", "Total", "Due"};
    const v3_boxes boxes = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
    tk::boxed_options options;
    options.max_length = 6;
    const auto windows = tk::encode_words_windows(v3_tokenizer(), words, boxes, 2, options, {7, 8, 9});
    REQUIRE(windows.size() == 3);  // pieces [0, 4), [2, 6), [4, 8)
    CHECK(windows[0].input_ids == v3_ids{0, 390, 81, 488, 286, 2});
    CHECK(windows[1].input_ids == v3_ids{0, 488, 286, 340, 318, 2});
    CHECK(windows[2].input_ids == v3_ids{0, 340, 318, 424, 386, 2});
    CHECK(windows[0].labels == v3_ids{-100, 7, -100, -100, 8, -100});
    CHECK(windows[1].labels == v3_ids{-100, -100, 8, -100, -100, -100});  // "voice" is not Invoice's first piece
    CHECK(windows[2].labels == v3_ids{-100, -100, -100, 9, -100, -100});
    CHECK(windows[2].word_ids == v3_ids{-1, 1, 1, 2, 2, -1});
    CHECK(windows[2].bbox == v3_boxes{{0, 0, 0, 0}, boxes[1], boxes[1], boxes[2], boxes[2], {0, 0, 0, 0}});
    // Unlabelled windows carry no labels; a short last window is padded with <pad> at zeros.
    options.max_length = 8;
    const auto unlabelled = tk::encode_words_windows(v3_tokenizer(), words, boxes, 2, options);
    REQUIRE(unlabelled.size() == 2);  // pieces [0, 6), [4, 8)
    CHECK(unlabelled[1].input_ids == v3_ids{0, 340, 318, 424, 386, 2, 1, 1});
    CHECK(unlabelled[1].bbox.back() == tk::word_box{0, 0, 0, 0});
    CHECK(unlabelled[1].labels.empty());
}

TEST_CASE("tokenizers.layoutlmv3: RoBERTa's BPE, settings and decode" * doctest::test_suite("unit")) {
    const auto& t = v3_tokenizer();
    CHECK(t.vocab_size() == 561);
    CHECK(t.model_max_length() == 512);
    CHECK(t.cls_token_id() == 0);
    CHECK(t.pad_token_id() == 1);
    CHECK(t.sep_token_id() == 2);
    CHECK(t.unk_token_id() == 3);
    CHECK(t.mask_token_id() == 560);
    CHECK(t.boxes().sep_token_box == tk::word_box{0, 0, 0, 0});
    // add_prefix_space: words start with "Ġ" unless they start with whitespace or an added token.
    CHECK(t.tokenize("it's  two\tx") == v3_words{"Ġit", "'s", "Ġ", "Ġtwo", "ĉ", "x"});
    CHECK(t.tokenize("<mask>total") == v3_words{"<mask>", "t", "ot", "al"});
    // "<mask>" takes the space before it (lstrip); "</s>" takes none.
    CHECK(t.tokenize("a <mask> b") == v3_words{"Ġa", "<mask>", "Ġb"});
    CHECK(t.tokenize("a </s> b") == v3_words{"Ġa", "Ġ", "</s>", "Ġb"});
    CHECK(t.encode_word("<mask>", true) == v3_ids{560});
    // Bytes come back whole, words keep the space before them; specials skipped on request.
    CHECK(t.decode(t.encode_word("Café", false)) == " Café");
    CHECK(t.decode({0, 390, 81, 488, 2}, false) == "<s> Invoice</s>");
    CHECK(t.decode({0, 390, 81, 488, 2}) == " Invoice");
    CHECK(t.decode({166, 249}) == "\uFFFD");  // two of 日's three bytes
}

TEST_CASE("tokenizers.layoutlmv3: a question pair is truncated longest first" * doctest::test_suite("unit")) {
    const v3_words words = {"Total", "Due"};  // ĠT ot al ĠD ue
    const v3_boxes boxes = {{1, 1, 2, 2}, {3, 3, 4, 4}};
    tk::boxed_options options;
    options.max_length = 9;  // room for 5 of "Ġto t al ?" (4) and the words' (5): 3 + 2 kept
    const auto cut = tk::encode_question(v3_tokenizer(), "total?", words, boxes, options);
    CHECK(cut.input_ids == v3_ids{0, 288, 87, 318, 2, 2, 286, 340, 2});
    CHECK(cut.word_ids == v3_ids{-1, -1, -1, -1, -1, -1, 0, 0, -1});
    CHECK(cut.labels.empty());
    options.max_length = 16;
    options.pad_to_max_length = false;
    const auto whole = tk::encode_question(v3_tokenizer(), "total?", words, boxes, options);
    CHECK(whole.input_ids == v3_ids{0, 288, 87, 318, 34, 2, 2, 286, 340, 318, 424, 386, 2});
    CHECK(whole.bbox[1] == tk::word_box{0, 0, 0, 0});
    CHECK(whole.bbox[10] == boxes[1]);
}

TEST_CASE("tokenizers.layoutlmv3: bad input and broken files say what and where" * doctest::test_suite("unit")) {
    const v3_words words = {"Total", "Due"};
    const v3_boxes boxes = {{1, 1, 2, 2}, {3, 3, 4, 4}};
    mmt::test::check_throws<mmt::input_error>([&] { tk::encode_words(v3_tokenizer(), words, boxes, {}, {1}); },
                                              {"2 words but 1 word labels", "one label per word"});
    mmt::test::check_throws<mmt::input_error>([&] { tk::encode_words(v3_tokenizer(), {"ok", "\xc3"}, boxes); },
                                              {"word 1", "invalid UTF-8 at byte offset 0"});
    mmt::test::check_throws<mmt::input_error>([&] { tk::encode_question(v3_tokenizer(), "", words, boxes); },
                                              {"question: \"\" has no tokens"});
    mmt::test::check_throws<mmt::input_error>([&] { v3_tokenizer().tokenize("why\xff?"); }, {"byte offset 3"});
    tk::boxed_options tiny;
    tiny.max_length = 3;
    mmt::test::check_throws<mmt::input_error>([&] { tk::encode_question(v3_tokenizer(), "why?", words, boxes, tiny); },
                                              {"max_length 3", "at least 4"});
    tk::boxed_options strict;
    strict.max_length = 8;
    strict.truncation = false;
    mmt::test::check_throws<mmt::input_error>([&] { tk::encode_question(v3_tokenizer(), "why?", words, boxes, strict); },
                                              {"question has 4 pieces and the words 5", "at most 4"});
    mmt::test::check_throws<mmt::input_error>([&] { v3_tokenizer().decode({2, 561}); }, {"id 561 at position 1"});

    const auto missing = mmt::test::scratch_dir("v3_missing_merges");
    std::filesystem::copy_file(mmt::test::data_path("layoutlmv3-tokenizer/vocab.json"), missing / "vocab.json");
    mmt::test::check_throws<mmt::io_error>([&] { tk::roberta_word_tokenizer::from_pretrained(missing); }, {"merges.txt"});
    mmt::test::check_throws<mmt::config_error>(
        [&] { tk::roberta_word_tokenizer::from_pretrained(v3_dir_with_config("v3_bad_box", R"({"sep_token_box": [0, 0, 0]})")); },
        {"tokenizer_config.json", "sep_token_box", "got 3 numbers"});
    mmt::test::check_throws<mmt::config_error>(
        [&] { tk::roberta_word_tokenizer::from_pretrained(v3_dir_with_config("v3_labels", R"({"pad_token_label": 0})")); },
        {"pad_token_label\" is 0", "expected -100"});
    mmt::test::check_throws<mmt::config_error>(
        [&] { tk::roberta_word_tokenizer::from_pretrained(v3_dir_with_config("v3_no_pad", R"({"pad_token": "[PAD]"})")); },
        {"vocab.json", "pad_token \"[PAD]\""});
    // Without tokenizer_config.json: LayoutLMv3Tokenizer's defaults, the same ids.
    const auto bare = v3_dir_with_config("v3_bare", "{}");
    CHECK(tk::roberta_word_tokenizer::from_pretrained(bare).encode_word("Invoice", true) == v3_ids{390, 81, 488});
}
