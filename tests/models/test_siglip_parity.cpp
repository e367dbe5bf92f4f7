// SiglipModel on the tiny fixture against HF transformers' own outputs, and the
// single-tower models built from its towers.
#include <doctest/doctest.h>

#include <cstddef>
#include <string>

#include "mmt/io/safetensors.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/siglip/siglip_model.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

namespace {

const io::safetensors_file& siglip_reference() {
    static const io::safetensors_file ref(test::data_path("siglip-tiny/reference.safetensors"));
    return ref;
}

void expect_siglip(const tensor<2>& actual, const std::string& name) {
    test::check_close(actual, siglip_reference().load<float>("output." + name), test::tol::model_abs, name);
}
void expect_siglip(const tensor<3>& actual, const std::string& name) {
    test::check_close(actual, siglip_reference().load<float>("output." + name), test::tol::model_abs, name);
}

// The fixture's tower `prefix` ("text_model" / "vision_model") as a single-tower
// checkpoint: its own config (model_type siglip_<tower>) and only its tensors.
std::filesystem::path single_tower(const std::string& prefix, const std::string& model_type, const std::string& architecture) {
    const auto dir = test::scratch_dir("siglip_" + prefix);
    io::json config = io::read_json_file(test::data_path("siglip-tiny/config.json"))[prefix == "text_model" ? "text_config" : "vision_config"];
    config["model_type"] = model_type;
    config["architectures"] = {architecture};
    test::write_file(dir / "config.json", config.dump(2));
    io::safetensors_writer writer;
    const io::safetensors_file original(test::data_path("siglip-tiny/model.safetensors"));
    for (const auto& name : original.names())
        if (name.rfind(prefix + ".", 0) == 0) writer.add(name, original.load<float>(name));
    writer.save(dir / "model.safetensors");
    return dir;
}

}  // namespace

TEST_CASE("models.siglip: siglip-tiny matches every HF output (sigmoid logits with bias, last-token text pooling, "
          "attention-pooled images)" * doctest::test_suite("parity")) {
    const auto model = siglip::siglip_model::from_pretrained(test::data_path("siglip-tiny"));
    const auto& ref = siglip_reference();
    const auto out = model.forward(ref.load<std::int64_t, 2>("input.input_ids"), {}, ref.load<float, 4>("input.pixel_values"));
    expect_siglip(out.logits_per_image, "logits_per_image");
    expect_siglip(out.logits_per_text, "logits_per_text");
    expect_siglip(out.text_embeds, "text_embeds");
    expect_siglip(out.image_embeds, "image_embeds");
    expect_siglip(out.text_model_output.last_hidden_state, "text_model.last_hidden_state");
    expect_siglip(out.text_model_output.pooler_output, "text_model.pooler_output");
    expect_siglip(out.vision_model_output.last_hidden_state, "vision_model.last_hidden_state");
    expect_siglip(out.vision_model_output.pooler_output, "vision_model.pooler_output");

    // Every output by name through auto_model, as `mmt forward` runs it, and nothing else.
    const named_outputs named = auto_model::from_pretrained(test::data_path("siglip-tiny")).forward(named_inputs::from_file(ref));
    CHECK(named.size() == 8);
    for (const auto& [name, value] : named)
        test::check_close(value, ref.load<float>("output." + name), test::tol::model_abs, "auto_model " + name);
}

TEST_CASE("models.siglip: SiglipTextModel and SiglipVisionModel from the fixture's towers give its tower outputs" *
          doctest::test_suite("parity")) {
    const auto& ref = siglip_reference();
    const auto text = siglip::siglip_model::from_pretrained(single_tower("text_model", "siglip_text_model", "SiglipTextModel"));
    const auto t = text.text_forward(ref.load<std::int64_t, 2>("input.input_ids"), {});
    expect_siglip(t.last_hidden_state, "text_model.last_hidden_state");
    expect_siglip(t.pooler_output, "text_model.pooler_output");
    const auto vision = siglip::siglip_model::from_pretrained(single_tower("vision_model", "siglip_vision_model", "SiglipVisionModel"));
    const auto v = vision.vision_forward(ref.load<float, 4>("input.pixel_values"));
    expect_siglip(v.last_hidden_state, "vision_model.last_hidden_state");
    expect_siglip(v.pooler_output, "vision_model.pooler_output");
    test::check_throws<input_error>([&] { vision.text_forward(ref.load<std::int64_t, 2>("input.input_ids"), {}); },
                                    {"SiglipVisionModel has no text tower"});
}

TEST_CASE("models.siglip: configs take HF's defaults and refuse what does not fit" * doctest::test_suite("unit")) {
    const auto c = siglip::config::from_json(io::json{{"model_type", "siglip"}}, "config.json");
    CHECK(c.arch == siglip::architecture::model);
    CHECK(c.text.vocab_size == 32000);
    CHECK(c.text.max_position_embeddings == 64);
    CHECK(c.text.layer_norm_eps == 1e-6f);
    CHECK(c.vision.patch_size == 16);
    CHECK(c.vision.hidden_act == "gelu_pytorch_tanh");
    CHECK_FALSE(c.text.transformer().causal);
    test::check_throws<config_error>(
        [] { siglip::config::from_json(io::json{{"model_type", "siglip_text_model"}, {"architectures", {"SiglipVisionModel"}}}, "c.json"); },
        {"architecture SiglipVisionModel does not fit model_type \"siglip_text_model\""});
    test::check_throws<config_error>([] { siglip::config::from_json(io::json{{"model_type", "siglip"}, {"vision_config", {{"patch_size", 0}}}}, "c.json"); },
                                     {"vision_config", "patch_size 0"});
    test::check_throws<config_error>(
        [] { siglip::config::from_json(io::json{{"model_type", "siglip"}, {"text_config", {{"num_attention_heads", 5}}}}, "c.json"); },
        {"text_config", "not divisible by num_attention_heads 5"});
}
