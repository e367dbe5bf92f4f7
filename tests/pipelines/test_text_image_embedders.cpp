// pipelines::text_image_embedder_from_pretrained: the embedder picked by config.json's
// model_type (CLIP's for the demo model, SigLIP's, Chinese-CLIP's), and a clear error
// for any other; the SigLIP and Chinese-CLIP embedders against HF end to end.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mmt/io/safetensors.hpp"
#include "mmt/pipelines/text_image_embedders.hpp"
#include "mmt/pipelines/zero_shot_image_classification.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/demo_model.hpp"
#include "support/throws.hpp"
#include "support/tolerances.hpp"

using namespace mmt;
namespace fs = std::filesystem;

TEST_CASE("pipelines.text_image_embedders: a CLIP checkpoint gives CLIP's embedder" * doctest::test_suite("unit")) {
    const auto embedder = pipelines::text_image_embedder_from_pretrained(test::clip_demo_model());
    const auto* clip = dynamic_cast<const pipelines::clip_embedder*>(embedder.get());
    REQUIRE(clip != nullptr);
    const auto direct = pipelines::clip_embedder::from_pretrained(test::clip_demo_model());
    const auto image = io::read_image(test::data_path("clip-images/chelsea.png"));
    test::check_close(embedder->embed_images({image}), direct.embed_images({image}), 0.0, "image_embeds via the factory");
    test::check_close(embedder->embed_texts({"a cat"}), direct.embed_texts({"a cat"}), 0.0, "text_embeds via the factory");
}

TEST_CASE("pipelines.text_image_embedders: a model_type no embedder reads is a config_error naming it and the known ones" *
          doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("unit_text_image_model_type");
    const std::string config = (dir / "config.json").string();
    for (const char* model_type : {"wav2vec2", "layoutlm"}) {
        std::ofstream(dir / "config.json", std::ios::trunc) << R"({"model_type": ")" << model_type << R"("})";
        test::check_throws<config_error>([&] { pipelines::text_image_embedder_from_pretrained(dir); },
                                         {config, "text-image embedding", std::string("model_type \"") + model_type + "\" is not supported",
                                          "expected clip, clip_text_model, clip_vision_model, siglip"});
    }
    fs::remove(dir / "config.json");
    test::check_throws<io_error>([&] { pipelines::text_image_embedder_from_pretrained(dir); }, {config});
}

TEST_CASE("pipelines.siglip_embedder: siglip-tiny's texts and photographs give HF's embeddings and sigmoid scores" *
          doctest::test_suite("parity")) {
    const auto embedder = pipelines::text_image_embedder_from_pretrained(test::siglip_tiny_model());
    REQUIRE(dynamic_cast<const pipelines::siglip_embedder*>(embedder.get()) != nullptr);
    const io::safetensors_file ref(test::data_path("siglip-tiny/reference.safetensors"));
    const auto texts = io::parse_json(ref.metadata().at("texts"), "texts").get<std::vector<std::string>>();
    const tensor<2> text_embeds = embedder->embed_texts(texts);  // padded to 64: the fixture's input_ids
    test::check_close(text_embeds, ref.load<float, 2>("output.text_embeds"), test::tol::model_abs, "text_embeds");
    const tensor<2> image_embeds = embedder->embed_images({io::read_image(test::data_path("clip-images/chelsea.png")),
                                                           io::read_image(test::data_path("clip-images/coffee.png"))});
    test::check_close(image_embeds, ref.load<float, 2>("output.image_embeds"), test::tol::model_abs, "image_embeds");

    // HF's pipeline: torch.sigmoid(logits_per_image), each pair on its own.
    tensor<2> expected = ref.load<float, 2>("output.logits_per_image");  // [2 images, 3 texts]
    for (float& x : expected) x = float(1.0 / (1.0 + std::exp(-double(x))));
    test::check_close(embedder->image_text_scores(image_embeds, text_embeds), expected, test::tol::model_abs, "sigmoid scores");
}

TEST_CASE("pipelines.zero_shot: SigLIP's scores are sigmoids of its logits for HF's prompts, best first" *
          doctest::test_suite("unit")) {
    const auto siglip = pipelines::siglip_embedder::from_pretrained(test::siglip_tiny_model());
    const auto image = io::read_image(test::data_path("clip-images/coffee.png"));
    const std::vector<std::string> labels{"cat", "cup of coffee", "horse"};
    const auto results = pipelines::classify_image(siglip, image, labels);
    REQUIRE(results.size() == 3);
    const int_tensor<2> ids = siglip.tokenize({"This is a photo of cat."});
    CHECK(ids.shape(1) == 64);  // padded to max_length, as HF's pipeline does for SigLIP
    const tensor<2> logits = siglip.model().similarity(
        siglip.embed_images({image}),
        siglip.embed_texts({"This is a photo of cat.", "This is a photo of cup of coffee.", "This is a photo of horse."}));
    for (const auto& r : results) {
        const std::size_t i = std::size_t(std::find(labels.begin(), labels.end(), r.label) - labels.begin());
        REQUIRE(i < 3);
        CHECK(r.score == doctest::Approx(1.0 / (1.0 + std::exp(-double(logits(0, i))))).epsilon(1e-6));
    }
    CHECK(results[0].score >= results[1].score);
    CHECK(results[1].score >= results[2].score);
}

TEST_CASE("pipelines.chinese_clip_embedder: chinese-clip-tiny's texts give HF's text_embeds; images and scores follow the model" *
          doctest::test_suite("parity")) {
    const auto embedder = pipelines::text_image_embedder_from_pretrained(test::chinese_clip_tiny_model());
    const auto* chinese = dynamic_cast<const pipelines::chinese_clip_embedder*>(embedder.get());
    REQUIRE(chinese != nullptr);
    const io::safetensors_file ref(test::data_path("chinese-clip-tiny/reference.safetensors"));
    const auto texts = io::parse_json(ref.metadata().at("texts"), "texts").get<std::vector<std::string>>();
    CHECK(chinese->tokenize(texts).input_ids == ref.load<std::int64_t, 2>("input.input_ids"));  // padded to the longest
    const tensor<2> text_embeds = embedder->embed_texts(texts);
    test::check_close(text_embeds, ref.load<float, 2>("output.text_embeds"), test::tol::model_abs, "text_embeds");
    // Padding is masked out: a text alone embeds as in the padded batch.
    test::check_close(embedder->embed_texts({texts[0]}), xt::view(text_embeds, xt::range(0, 1)), 1e-6, "text 0 alone");

    // The fixture's pixel_values are random, so an image is checked against the model on the processor's output.
    const auto image = io::read_image(test::data_path("clip-images/chelsea.png"));
    const tensor<2> image_embeds = embedder->embed_images({image});
    test::check_close(image_embeds,
                      clip::l2_normalize(chinese->model().get_image_features(chinese->processor().preprocess(std::vector{image}))),
                      0.0, "image_embeds");
    const tensor<2> scores = embedder->image_text_scores(image_embeds, text_embeds);  // [1, 3]: softmax over the texts
    const tensor<2> logits = chinese->model().similarity(image_embeds, text_embeds);
    double total = 0;
    for (std::size_t i = 0; i < 3; ++i) total += std::exp(double(logits(0, i)));
    for (std::size_t i = 0; i < 3; ++i) CHECK(scores(0, i) == doctest::Approx(std::exp(double(logits(0, i))) / total).epsilon(1e-6));
}
