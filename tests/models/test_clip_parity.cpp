// CLIPModel on fixtures/clip-tiny against HF transformers' own outputs.
#include <doctest/doctest.h>

#include "mmt/io/safetensors.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

TEST_CASE("models.clip: clip-tiny matches every HF output" * doctest::test_suite("parity")) {
    const auto dir = test::data_path("clip-tiny");
    const auto model = clip::clip_model::from_pretrained(dir);
    const io::safetensors_file ref(dir / "reference.safetensors");
    const auto out = model.forward(ref.load<std::int64_t, 2>("input.input_ids"), ref.load<std::int64_t, 2>("input.attention_mask"),
                                   ref.load<float, 4>("input.pixel_values"));
    auto expect = [&](const auto& actual, const char* name) {
        test::check_close(actual, ref.load<float>(std::string("output.") + name), test::tol::model_abs, name);
    };
    expect(out.logits_per_image, "logits_per_image");
    expect(out.logits_per_text, "logits_per_text");
    expect(out.text_embeds, "text_embeds");
    expect(out.image_embeds, "image_embeds");
    expect(out.text_model_output.last_hidden_state, "text_model.last_hidden_state");
    expect(out.text_model_output.pooler_output, "text_model.pooler_output");
    expect(out.vision_model_output.last_hidden_state, "vision_model.last_hidden_state");
    expect(out.vision_model_output.pooler_output, "vision_model.pooler_output");
}
