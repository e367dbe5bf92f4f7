#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/tokenizers/siglip_tokenizer.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"

namespace {

using mmt::tokenizers::siglip_tokenizer;

const siglip_tokenizer& siglip_fixture_tokenizer() {
    static const auto tokenizer = siglip_tokenizer::from_pretrained(mmt::test::data_path("siglip-tokenizer"));
    return tokenizer;
}

// The fixture tokenizer's files copied into a scratch directory, spiece.model replaced
// by `model_bytes` (or left out when null).
std::filesystem::path siglip_dir_with_model(const std::string& name, const std::string* model_bytes) {
    const auto dir = mmt::test::scratch_dir(name);
    const auto source = mmt::test::data_path("siglip-tokenizer");
    for (const char* f : {"tokenizer_config.json", "special_tokens_map.json"}) std::filesystem::copy_file(source / f, dir / f);
    if (model_bytes) mmt::test::write_file(dir / "spiece.model", *model_bytes);
    return dir;
}

}  // namespace

TEST_CASE("tokenizers.siglip: every fixture case" * doctest::test_suite("unit")) {
    const auto cases = mmt::io::read_json_file(mmt::test::data_path("siglip-tokenizer/cases.json"))["cases"];
    REQUIRE(cases.size() == 17);
    std::size_t exact = 0;
    for (const auto& c : cases) {
        const auto text = c["text"].get<std::string>();
        CAPTURE(text);
        const auto expected_ids = c["input_ids"].get<std::vector<std::int64_t>>();
        const auto expected_tokens = c["tokens"].get<std::vector<std::string>>();
        const auto ids = siglip_fixture_tokenizer().encode(text);
        const auto tokens = siglip_fixture_tokenizer().tokens(text);
        CHECK(ids == expected_ids);
        CHECK(tokens == expected_tokens);
        exact += ids == expected_ids && tokens == expected_tokens;
    }
    MESSAGE("siglip_tokenizer: ", exact, " of ", cases.size(), " fixture cases exact");
    CHECK(exact == cases.size());
}

TEST_CASE("tokenizers.siglip: settings from the saved files" * doctest::test_suite("unit")) {
    const auto& t = siglip_fixture_tokenizer();
    CHECK(t.model_max_length() == 64);
    CHECK(t.eos_token_id() == 1);
    CHECK(t.pad_token_id() == 1);
    CHECK(t.vocab_size() > 3);
}

// The chain to the model: the texts the SigLIP reference was computed from give its input_ids.
TEST_CASE("tokenizers.siglip: the siglip-tiny reference's input_ids" * doctest::test_suite("unit")) {
    const mmt::io::safetensors_file reference(mmt::test::data_path("siglip-tiny/reference.safetensors"));
    const auto texts = mmt::io::json::parse(reference.metadata().at("texts")).get<std::vector<std::string>>();
    const auto max_length = std::stoul(reference.metadata().at("max_length"));
    const auto expected = reference.load<std::int64_t, 2>("input.input_ids");
    REQUIRE(expected.shape(0) == texts.size());
    REQUIRE(expected.shape(1) == max_length);
    const auto batch = siglip_fixture_tokenizer().encode_batch(texts, max_length);
    REQUIRE(batch.size() == texts.size());
    for (std::size_t i = 0; i < texts.size(); ++i) {
        CAPTURE(texts[i]);
        REQUIRE(batch[i].size() == max_length);
        for (std::size_t j = 0; j < max_length; ++j) CHECK(batch[i][j] == expected(i, j));
    }
}

TEST_CASE("tokenizers.siglip: truncation, padding and special tokens in the text" * doctest::test_suite("unit")) {
    const auto& t = siglip_fixture_tokenizer();
    // Truncation keeps max_length - 1 pieces and "</s>"; without padding nothing is added.
    const auto short_ids = t.encode("a photo of a cat", 4);
    CHECK(short_ids == std::vector<std::int64_t>{8, 159, 15, 1});
    CHECK(t.encode("a photo of a cat", 64, false) == std::vector<std::int64_t>{8, 159, 15, 8, 317, 1});
    // A "</s>" written in the text is the special token; the ids then end with it and
    // no second one is added; the "▁" in front and the spaces beside it go.
    CHECK(t.tokens("A cat </s>") == std::vector<std::string>{"▁a", "▁cat", "</s>"});
    CHECK(t.tokens("</s>") == std::vector<std::string>{"</s>"});
    // "▁" in the text is a space.
    CHECK(t.encode("a\u2581photo") == t.encode("a photo"));
}

TEST_CASE("tokenizers.siglip: unreadable model files are clear errors" * doctest::test_suite("unit")) {
    const auto missing = siglip_dir_with_model("siglip-no-model", nullptr);
    mmt::test::check_throws<mmt::io_error>([&] { siglip_tokenizer::from_pretrained(missing); },
                                           {(missing / "spiece.model").string()});
    const std::string garbage = "this is not a protobuf \xff\xff\xff\xff";
    const auto corrupt = siglip_dir_with_model("siglip-corrupt-model", &garbage);
    mmt::test::check_throws<mmt::format_error>([&] { siglip_tokenizer::from_pretrained(corrupt); },
                                               {(corrupt / "spiece.model").string(), "not a SentencePiece model"});
    const std::string empty;
    const auto blank = siglip_dir_with_model("siglip-empty-model", &empty);
    mmt::test::check_throws<mmt::format_error>([&] { siglip_tokenizer::from_pretrained(blank); },
                                               {(blank / "spiece.model").string()});
}

TEST_CASE("tokenizers.siglip: invalid input is an input_error" * doctest::test_suite("unit")) {
    auto t = siglip_fixture_tokenizer();
    mmt::test::check_throws<mmt::input_error>([&] { t.encode("bad \xff utf-8"); }, {});
    t.set_max_input_bytes(4);
    mmt::test::check_throws<mmt::input_error>([&] { t.encode("a photo"); }, {"siglip_tokenizer", "at most 4"});
}

// The appended normalizer_spec really switches add_dummy_prefix off: "a" alone is the
// piece "a" instead of "▁a", and the vocabulary stays the same.
TEST_CASE("tokenizers.sentencepiece: add_dummy_prefix switched off" * doctest::test_suite("unit")) {
    const auto path = mmt::test::data_path("siglip-tokenizer/spiece.model");
    const auto with = mmt::tokenizers::sentencepiece_model::load(path);
    const auto without = mmt::tokenizers::sentencepiece_model::load(path, false);
    CHECK(with.size() == without.size());
    REQUIRE(with.encode("a").size() == 1);
    CHECK(with.id_to_piece(with.encode("a")[0]) == "\u2581a");
    REQUIRE(without.encode("a").size() == 1);
    CHECK(without.id_to_piece(without.encode("a")[0]) == "a");
    // Leading whitespace is still stripped, which is why SigLIP encodes "<unk>" first.
    CHECK(without.encode("\u2581a") == without.encode("a"));
    CHECK(without.id_to_piece(without.encode("<unk>\u2581a").back()) == "\u2581a");
    CHECK(without.piece_to_id("</s>") == 1);
    CHECK(without.piece_to_id("no such piece") == -1);
}
