// LiltForTokenClassification on the tiny fixture against HF transformers' own
// logits: the RoBERTa text stream, the layout stream, and the attention whose
// scores both streams share.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "mmt/io/safetensors.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/lilt/heads.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

namespace {

lilt::model_inputs lilt_inputs(const io::safetensors_file& ref) {
    return {ref.load<std::int64_t, 2>("input.input_ids"), ref.load<std::int64_t, 3>("input.bbox"),
            ref.load<std::int64_t, 2>("input.attention_mask"), {}, {}};
}

}  // namespace

TEST_CASE("models.lilt: lilt-tiny-token-cls matches HF's logits, through the library and auto_model" * doctest::test_suite("parity")) {
    const io::safetensors_file ref(test::data_path("lilt-tiny-token-cls/reference.safetensors"));
    const auto model = lilt::pretrained_model::from_pretrained(test::data_path("lilt-tiny-token-cls"));
    test::check_close(model.token_logits(lilt_inputs(ref)), ref.load<float, 3>("output.logits"), test::tol::model_abs, "logits");
    const named_outputs named = auto_model::from_pretrained(test::data_path("lilt-tiny-token-cls")).forward(named_inputs::from_file(ref));
    REQUIRE(named.size() == 1);
    test::check_close(named[0].second, ref.load<float>("output.logits"), test::tol::model_abs, "auto_model logits");
}

TEST_CASE("models.lilt: a batch past group_bytes goes through in groups of items, each item's logits unchanged" *
          doctest::test_suite("unit")) {
    const io::safetensors_file ref(test::data_path("lilt-tiny-token-cls/reference.safetensors"));
    auto model = lilt::pretrained_model::from_pretrained(test::data_path("lilt-tiny-token-cls"));
    const auto in = lilt_inputs(ref);
    REQUIRE(in.input_ids.shape(0) >= 2);  // the fixture's sequences, the second padded
    const tensor<3> whole = model.token_logits(in);
    model.lilt.group_bytes = 1;  // less than an item: one at a time
    test::check_close(model.token_logits(in), whole, 0.0, "one sequence at a time");
    test::check_close(model.token_logits(in), ref.load<float, 3>("output.logits"), test::tol::model_abs, "against HF's logits");
}

TEST_CASE("models.lilt: bad boxes, a page image and bad configs are clear errors" * doctest::test_suite("unit")) {
    const io::safetensors_file ref(test::data_path("lilt-tiny-token-cls/reference.safetensors"));
    const auto model = lilt::pretrained_model::from_pretrained(test::data_path("lilt-tiny-token-cls"));
    auto in = lilt_inputs(ref);
    in.bbox(0, 2, 2) = in.bbox(0, 2, 0) - 1;  // x1 < x0: HF would index a negative width
    test::check_throws<input_error>([&] { model.token_logits(in); }, {"bbox of token 2 in sequence 0", "0 <= x0 <= x1 <= 1023"});
    in = lilt_inputs(ref);
    in.pixel_values = xt::zeros<float>({2, 3, 8, 8});
    test::check_throws<input_error>([&] { model.token_logits(in); }, {"LiLT reads no page image"});
    CHECK(model.max_tokens() == 38);

    const auto dir = test::copy_model(test::data_path("lilt-tiny-token-cls"), "lilt_bad_config");
    test::edit_config(dir, [](io::json& c) { c["channel_shrink_ratio"] = 5; });
    test::check_throws<config_error>([&] { lilt::pretrained_model::from_pretrained(dir); },
                                     {"hidden_size 48 is not divisible by num_attention_heads 4 * channel_shrink_ratio 5"});
}
