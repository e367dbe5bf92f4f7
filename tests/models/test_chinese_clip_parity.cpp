// ChineseCLIPModel on the tiny fixture against HF transformers' own outputs: the
// BERT text tower (no pooler, [CLS] projected), CLIP's vision tower, the logits.
#include <doctest/doctest.h>

#include <cstdint>
#include <string>

#include "mmt/io/safetensors.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/chinese_clip/chinese_clip_model.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

namespace {

const io::safetensors_file& chinese_clip_reference() {
    static const io::safetensors_file ref(test::data_path("chinese-clip-tiny/reference.safetensors"));
    return ref;
}

template <std::size_t N>
void expect_chinese_clip(const tensor<N>& actual, const std::string& name) {
    test::check_close(actual, chinese_clip_reference().load<float>("output." + name), test::tol::model_abs, name);
}

}  // namespace

TEST_CASE("models.chinese_clip: chinese-clip-tiny matches every HF output (padded texts with token types, [CLS] projection)" *
          doctest::test_suite("parity")) {
    const auto model = chinese_clip::chinese_clip_model::from_pretrained(test::data_path("chinese-clip-tiny"));
    const auto& ref = chinese_clip_reference();
    const auto input_ids = ref.load<std::int64_t, 2>("input.input_ids");
    const auto attention_mask = ref.load<std::int64_t, 2>("input.attention_mask");
    const auto token_type_ids = ref.load<std::int64_t, 2>("input.token_type_ids");
    const auto pixel_values = ref.load<float, 4>("input.pixel_values");
    const auto out = model.forward(input_ids, attention_mask, token_type_ids, pixel_values);
    expect_chinese_clip(out.logits_per_image, "logits_per_image");
    expect_chinese_clip(out.logits_per_text, "logits_per_text");
    expect_chinese_clip(out.text_embeds, "text_embeds");
    expect_chinese_clip(out.image_embeds, "image_embeds");
    expect_chinese_clip(out.text_last_hidden_state, "text_model.last_hidden_state");
    expect_chinese_clip(out.vision_model_output.last_hidden_state, "vision_model.last_hidden_state");
    expect_chinese_clip(out.vision_model_output.pooler_output, "vision_model.pooler_output");

    // get_*_features are the unnormalised embeddings; an absent token_type_ids means all 0.
    test::check_close(clip::l2_normalize(model.get_text_features(input_ids, attention_mask, {})), out.text_embeds, 0.0,
                      "text features without token_type_ids");
    test::check_close(clip::l2_normalize(model.get_image_features(pixel_values)), out.image_embeds, 0.0, "image features");

    // Every output by name through auto_model, as `mmt forward` runs it, and nothing else.
    const named_outputs named = auto_model::from_pretrained(test::data_path("chinese-clip-tiny")).forward(named_inputs::from_file(ref));
    CHECK(named.size() == 7);
    for (const auto& [name, value] : named)
        test::check_close(value, ref.load<float>("output." + name), test::tol::model_abs, "auto_model " + name);
}

TEST_CASE("models.chinese_clip: bad inputs and configs are clear errors" * doctest::test_suite("unit")) {
    const auto model = chinese_clip::chinese_clip_model::from_pretrained(test::data_path("chinese-clip-tiny"));
    const auto& ref = chinese_clip_reference();
    const auto input_ids = ref.load<std::int64_t, 2>("input.input_ids");  // [3, 10]
    int_tensor<2> types = xt::zeros<std::int64_t>({3, 10});
    types(1, 4) = 2;  // type_vocab_size is 2
    test::check_throws<input_error>([&] { model.get_text_features(input_ids, {}, types); },
                                    {"token_type_ids", "id 2 at flat position 14", "0..1"});
    int_tensor<2> mask = xt::ones<std::int64_t>({3, 9});
    test::check_throws<shape_error>([&] { model.get_text_features(input_ids, mask, {}); },
                                    {"attention_mask has shape [3, 9]", "[3, 10]"});
    int_tensor<2> too_long = xt::zeros<std::int64_t>({1, 65});
    test::check_throws<input_error>([&] { model.get_text_features(too_long, {}, {}); }, {"65 tokens", "max_position_embeddings = 64"});

    const auto dir = test::copy_model(test::data_path("chinese-clip-tiny"), "chinese_clip_bad_config");
    test::edit_config(dir, [](io::json& c) { c["text_config"]["num_attention_heads"] = 5; });
    test::check_throws<config_error>([&] { chinese_clip::chinese_clip_model::from_pretrained(dir); },
                                     {"text_config", "hidden_size 32 is not divisible by num_attention_heads 5"});
}
