// LayoutLMv3 on the tiny fixtures against HF transformers' own outputs: the text
// tokens with RoBERTa positions and spatial embeddings, the page's visual tokens,
// the 1-D and 2-D relative position biases, and the token classification head.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "mmt/io/safetensors.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/layoutlmv3/heads.hpp"
#include "mmt/models/layoutlmv3/relative_position.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/random.hpp"
#include "support/throws.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

namespace {

layoutlmv3::model_inputs layoutlmv3_inputs(const io::safetensors_file& ref) {
    return {ref.load<std::int64_t, 2>("input.input_ids"), ref.load<std::int64_t, 3>("input.bbox"),
            ref.load<std::int64_t, 2>("input.attention_mask"), {}, ref.load<float, 4>("input.pixel_values")};
}

}  // namespace

TEST_CASE("models.layoutlmv3: T5's relative position buckets as HF computes them" * doctest::test_suite("unit")) {
    // 32 bins, distance 128 (HF's 1-D defaults): 16 per sign, 0..7 exact, then log-spaced up to 15.
    using layoutlmv3::relative_position_bucket;
    CHECK(relative_position_bucket(0, 32, 128) == 0);
    CHECK(relative_position_bucket(-7, 32, 128) == 7);
    CHECK(relative_position_bucket(7, 32, 128) == 16 + 7);
    CHECK(relative_position_bucket(-8, 32, 128) == 8);    // log(1) = 0
    CHECK(relative_position_bucket(-16, 32, 128) == 10);  // 8 + floor(log(2) / log(16) * 8) = 8 + 2
    CHECK(relative_position_bucket(-127, 32, 128) == 15);
    CHECK(relative_position_bucket(5000, 32, 128) == 31);  // capped at the last bucket of its sign
}

TEST_CASE("models.layoutlmv3: relative position biases write or add each pair's bucket weight, near and far distances alike" *
          doctest::test_suite("unit")) {
    // Coordinates spanning more than the table of bucketed distances reaches, so pairs take both paths.
    const std::int64_t far = layoutlmv3::relative_position_bias::table_reach + 700;
    const std::vector<std::int64_t> coordinate{0, 3, 17, 130, far, 9, far + 5, 64, 1000, 2};
    const std::size_t n = coordinate.size(), heads = 3, bins = 32;
    const layoutlmv3::relative_position_bias bias{bins, 128, test::random_tensor<2>({heads, bins}, 11)};
    std::vector<float> assigned(heads * n * n, std::nanf("")), added(heads * n * n, 0.5f);
    bias.assign(coordinate, assigned.data());
    bias.add(coordinate, added.data());
    for (std::size_t h = 0; h < heads; ++h)
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t j = 0; j < n; ++j) {
                CAPTURE(h);
                CAPTURE(i);
                CAPTURE(j);
                const std::size_t bucket = layoutlmv3::relative_position_bucket(coordinate[j] - coordinate[i], bins, 128);
                CHECK(assigned[(h * n + i) * n + j] == bias.weight(h, bucket));
                CHECK(added[(h * n + i) * n + j] == 0.5f + bias.weight(h, bucket));
            }
}

TEST_CASE("models.layoutlmv3: layoutlmv3-tiny-token-cls and -base match HF with the page and its relative biases" *
          doctest::test_suite("parity")) {
    for (const std::string name : {"layoutlmv3-tiny-token-cls", "layoutlmv3-tiny-base"}) {
        CAPTURE(name);
        const io::safetensors_file ref(test::data_path(name + "/reference.safetensors"));
        const auto model = layoutlmv3::pretrained_model::from_pretrained(test::data_path(name));
        const auto in = layoutlmv3_inputs(ref);
        if (model.config.arch == layoutlmv3::architecture::token_classification)
            test::check_close(model.token_logits(in), ref.load<float, 3>("output.logits"), test::tol::model_abs, "logits");
        else
            test::check_close(model.base_forward(in), ref.load<float, 3>("output.last_hidden_state"), test::tol::model_abs,
                              "last_hidden_state (20 text + 17 visual tokens)");
        // Every output by name through auto_model, as `mmt forward` runs it, and nothing else.
        const named_outputs named = auto_model::from_pretrained(test::data_path(name)).forward(named_inputs::from_file(ref));
        CHECK(named.size() == 1);
        for (const auto& [output, value] : named)
            test::check_close(value, ref.load<float>("output." + output), test::tol::model_abs, std::string("auto_model ") + output);
    }
}

TEST_CASE("models.layoutlmv3: the relative biases' buffers, kept between calls, give each call its own outputs" *
          doctest::test_suite("parity")) {
    const io::safetensors_file ref(test::data_path("layoutlmv3-tiny-token-cls/reference.safetensors"));
    const auto model = layoutlmv3::pretrained_model::from_pretrained(test::data_path("layoutlmv3-tiny-token-cls"));
    const auto with_page = layoutlmv3_inputs(ref);
    auto text_only = with_page;
    text_only.pixel_values = {};
    const tensor<3> first = model.token_logits(with_page);
    const tensor<3> text = model.token_logits(text_only);  // into the page call's larger buffers
    CHECK(model.layoutlmv3.scratch->free_buffers() == 2);  // the bias and its 2-D part, not added to
    test::check_close(model.token_logits(with_page), ref.load<float, 3>("output.logits"), test::tol::model_abs, "logits after");
    CHECK(first == model.token_logits(with_page));
    const auto fresh = layoutlmv3::pretrained_model::from_pretrained(test::data_path("layoutlmv3-tiny-token-cls"));
    CHECK(text == fresh.token_logits(text_only));  // bit for bit
}

TEST_CASE("models.layoutlmv3: without the page only the text runs, and bad inputs are clear errors" * doctest::test_suite("unit")) {
    const io::safetensors_file ref(test::data_path("layoutlmv3-tiny-token-cls/reference.safetensors"));
    const auto model = layoutlmv3::pretrained_model::from_pretrained(test::data_path("layoutlmv3-tiny-token-cls"));
    auto in = layoutlmv3_inputs(ref);
    const tensor<4> page = in.pixel_values;
    in.pixel_values = {};
    const tensor<3> text_only = model.token_logits(in);  // [2, 20, 7]
    CHECK(text_only.shape(1) == 20);
    CHECK(xt::amax(xt::abs(text_only - model.token_logits(layoutlmv3_inputs(ref))))() > 1e-3);  // the page changes the logits

    in.pixel_values = xt::view(page, xt::all(), xt::all(), xt::range(0, 24), xt::range(0, 24));
    test::check_throws<shape_error>([&] { model.token_logits(in); }, {"pixel_values has shape [2, 3, 24, 24]", "[batch >= 1, 3, 32, 32]"});
    in.pixel_values = page;
    in.bbox(1, 3, 2) = 1024;
    test::check_throws<input_error>([&] { model.token_logits(in); }, {"bbox of token 3 in sequence 1", "1024", "0..1023"});
    in = layoutlmv3_inputs(ref);
    int_tensor<2> long_ids = xt::full_like(int_tensor<2>::from_shape({1, 39}), std::int64_t(5));
    test::check_throws<input_error>([&] { model.token_logits({long_ids, {}, {}, {}, {}}); },
                                    {"more than 38 tokens", "max_position_embeddings 40"});
    CHECK(model.max_tokens() == 38);
    test::check_throws<input_error>([&] { model.sequence_logits(in); },
                                    {"needs a LayoutLMv3ForSequenceClassification checkpoint", "LayoutLMv3ForTokenClassification"});

    const auto dir = test::copy_model(test::data_path("layoutlmv3-tiny-token-cls"), "layoutlmv3_bad_config");
    test::edit_config(dir, [](io::json& c) { c["shape_size"] = 5; });
    test::check_throws<config_error>([&] { layoutlmv3::pretrained_model::from_pretrained(dir); },
                                     {"4 * coordinate_size (6) + 2 * shape_size (5) must equal hidden_size 32"});
}
