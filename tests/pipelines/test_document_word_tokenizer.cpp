// document_model over the word_tokenizer interface: a made-up tokenizer (no WordPiece)
// sets the windows' ids and length and the tagging runs through it; a model_type
// without a word tokenizer is a config_error naming it.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/models/layoutlm/heads.hpp"
#include "mmt/pipelines/document_tagging.hpp"
#include "mmt/pipelines/document_tokenizers.hpp"
#include "support/data.hpp"
#include "support/throws.hpp"
#include "support/word_tokenizers.hpp"

TEST_CASE("pipelines.document: another word tokenizer slots in through the interface" * doctest::test_suite("unit")) {
    using ids = std::vector<std::int64_t>;
    const auto model = std::make_shared<const mmt::layoutlm::pretrained_model>(
        mmt::layoutlm::pretrained_model::from_pretrained(mmt::test::data_path("layoutlm-tiny-token-cls")));
    const mmt::pipelines::document_model tagger(model, std::make_shared<const mmt::test::letter_word_tokenizer>());
    CHECK(tagger.tokenizer().cls_token_id() == 3);
    CHECK(tagger.max_length({}) == 8);  // the tokenizer's model_max_length, under the model's 64 positions
    CHECK(tagger.stride({}) == 2);

    // "ab" -> 7 10 11 (the first word), "cde" -> 12 13 14, "f" -> 15: two windows of at most 6 pieces.
    const mmt::pipelines::ocr_document page{100, 100, {"ab", "cde", "f"}, {{1, 1, 5, 5}, {10, 10, 20, 20}, {30, 30, 40, 40}}};
    const auto windows = tagger.windows(page);
    REQUIRE(windows.size() == 2);
    CHECK(windows[0].input_ids == ids{3, 7, 10, 11, 12, 13, 14, 4});
    CHECK(windows[1].input_ids == ids{3, 13, 14, 15, 4});
    CHECK(windows[1].bbox[3] == mmt::tokenizers::word_box{300, 300, 400, 400});

    const auto tags = tagger.tag(page);
    REQUIRE(tags.size() == 3);
    CHECK(tags[0].window == 0);
    CHECK(tags[2].window == 1);
    for (const auto& t : tags) CHECK(t.label == model->config.id2label.at(t.label_id));
}

TEST_CASE("pipelines.document: a model_type without a word tokenizer is a config_error" * doctest::test_suite("unit")) {
    const auto dir = mmt::test::scratch_dir("document_tokenizer_model_type");
    std::ofstream(dir / "config.json") << R"({"model_type": "clip"})";
    mmt::test::check_throws<mmt::config_error>([&] { mmt::pipelines::document_tokenizer_from_pretrained(dir); },
                                               {"config.json (document word tokenizer)", "model_type \"clip\" is not supported", "layoutlm",
                                                "layoutlmv3", "lilt"});
}
