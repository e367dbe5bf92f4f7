// Chinese-CLIP's tokenizer is BERT's WordPiece with tokenize_chinese_chars: every
// case of the chinese-clip-tokenizer fixture (padding to 52, Chinese-CLIP's context
// length), and the chain to chinese-clip-tiny's inputs.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/tokenizers/wordpiece.hpp"
#include "support/data.hpp"

namespace {
using ids = std::vector<std::int64_t>;

const mmt::tokenizers::wordpiece_tokenizer& chinese_clip_tokenizer() {
    static const auto t = mmt::tokenizers::wordpiece_tokenizer::from_directory(mmt::test::data_path("chinese-clip-tokenizer"));
    return t;
}
}  // namespace

TEST_CASE("tokenizers.chinese_clip: every fixture case, ids, masks and tokens" * doctest::test_suite("unit")) {
    const auto cases = mmt::io::read_json_file(mmt::test::data_path("chinese-clip-tokenizer/cases.json"))["cases"];
    REQUIRE(cases.size() == 15);
    std::size_t exact = 0;
    for (const auto& c : cases) {
        const auto text = c["text"].get<std::string>();
        CAPTURE(text);
        const auto got = chinese_clip_tokenizer().encode(text, 52, true);
        const auto expected = c["input_ids"].get<ids>();
        CHECK(got.input_ids == expected);
        CHECK(got.attention_mask == c["attention_mask"].get<ids>());
        CHECK(got.token_type_ids == c["token_type_ids"].get<ids>());
        // The fixture's tokens include [CLS] and [SEP] around tokenize()'s pieces.
        auto tokens = chinese_clip_tokenizer().tokenize(text);
        const auto want = c["tokens"].get<std::vector<std::string>>();
        tokens.insert(tokens.begin(), "[CLS]");
        tokens.push_back("[SEP]");
        if (tokens.size() > want.size()) tokens.erase(tokens.begin() + std::ptrdiff_t(want.size()) - 1, tokens.end() - 1);
        CHECK(tokens == want);
        exact += got.input_ids == expected && tokens == want;
    }
    MESSAGE("chinese-clip tokenizer: ", exact, " of ", cases.size(), " fixture cases exact");
    CHECK(exact == cases.size());
}

TEST_CASE("tokenizers.chinese_clip: chinese-clip-tiny's texts give its input_ids, attention_mask and token_type_ids" *
          doctest::test_suite("unit")) {
    const mmt::io::safetensors_file ref(mmt::test::data_path("chinese-clip-tiny/reference.safetensors"));
    const auto texts = mmt::io::parse_json(ref.metadata().at("texts"), "texts").get<std::vector<std::string>>();
    const auto input_ids = ref.load<std::int64_t, 2>("input.input_ids");  // [3, 10]: padded to the longest
    const auto mask = ref.load<std::int64_t, 2>("input.attention_mask");
    const auto types = ref.load<std::int64_t, 2>("input.token_type_ids");
    REQUIRE(texts.size() == input_ids.shape(0));
    for (std::size_t i = 0; i < texts.size(); ++i) {
        const auto got = chinese_clip_tokenizer().encode(texts[i], input_ids.shape(1), true);
        CHECK(got.input_ids == ids(&input_ids(i, 0), &input_ids(i, 0) + input_ids.shape(1)));
        CHECK(got.attention_mask == ids(&mask(i, 0), &mask(i, 0) + mask.shape(1)));
        CHECK(got.token_type_ids == ids(&types(i, 0), &types(i, 0) + types.shape(1)));
    }
}
