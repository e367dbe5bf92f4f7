// The CLIP pipelines on the demo model (real tokenizer and image processor,
// random weights): what they compute must follow from the model's own outputs.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/pipelines/clip_embedder.hpp"
#include "mmt/pipelines/image_search.hpp"
#include "mmt/pipelines/zero_shot_image_classification.hpp"
#include "support/data.hpp"
#include "support/demo_model.hpp"

using namespace mmt;

namespace {
const pipelines::clip_embedder& demo() {
    static const auto clip = pipelines::clip_embedder::from_pretrained(test::clip_demo_model());
    return clip;
}

// The demo embedder, recording the largest batch each forward pass was given.
class batch_recording_embedder : public interfaces::text_image_embedder {
public:
    mutable std::size_t largest_text_batch = 0, largest_image_batch = 0;

    tensor<2> embed_texts(const std::vector<std::string>& texts) const override {
        largest_text_batch = std::max(largest_text_batch, texts.size());
        return demo().embed_texts(texts);
    }
    tensor<3> preprocess_image(const io::rgb_image& image) const override { return demo().preprocess_image(image); }
    io::image_limits image_limits() const override { return demo().image_limits(); }
    tensor<2> embed_pixels(const tensor<4>& pixel_values) const override {
        largest_image_batch = std::max(largest_image_batch, pixel_values.shape(0));
        return demo().embed_pixels(pixel_values);
    }
    tensor<2> image_text_scores(const tensor<2>& image_embeds, const tensor<2>& text_embeds) const override {
        return demo().image_text_scores(image_embeds, text_embeds);
    }
};
}  // namespace

TEST_CASE("pipelines.zero_shot: CLIP's probabilities are the softmax of the scaled similarities of HF's prompts, best first" *
          doctest::test_suite("unit")) {
    CHECK(pipelines::default_hypothesis_template == "This is a photo of {}.");  // ZeroShotImageClassificationPipeline's
    const auto image = io::read_image(test::data_path("clip-images/chelsea.png"));
    const std::vector<std::string> labels{"cat", "dog", "rocket"};
    const auto results = pipelines::classify_image(demo(), image, labels);
    REQUIRE(results.size() == 3);
    const tensor<2> logits = demo().model().similarity(
        demo().embed_images({image}),
        demo().embed_texts({"This is a photo of cat.", "This is a photo of dog.", "This is a photo of rocket."}));
    double total = 0;
    for (std::size_t i = 0; i < 3; ++i) total += std::exp(double(logits(0, i)));
    float sum = 0;
    for (const auto& r : results) {
        const std::size_t i = std::size_t(std::find(labels.begin(), labels.end(), r.label) - labels.begin());
        REQUIRE(i < 3);
        CHECK(r.score == doctest::Approx(std::exp(double(logits(0, i))) / total).epsilon(1e-5));
        sum += r.score;
    }
    CHECK(sum == doctest::Approx(1.0f).epsilon(1e-5));
    CHECK(results[0].score >= results[1].score);
    CHECK(results[1].score >= results[2].score);
}

TEST_CASE("pipelines.zero_shot: a template without {} or no labels is an input_error" * doctest::test_suite("unit")) {
    const auto image = io::read_image(test::data_path("clip-images/chelsea.png"));
    CHECK_THROWS_WITH_AS(pipelines::classify_image(demo(), image, {"cat"}, "a photo"), doctest::Contains("has no \"{}\""), input_error);
    CHECK_THROWS_WITH_AS(pipelines::classify_image(demo(), image, {}), doctest::Contains("at least one label"), input_error);
}

TEST_CASE("pipelines.clip_embedder: text over 77 tokens is truncated, not an error" * doctest::test_suite("unit")) {
    std::string long_text;
    for (int i = 0; i < 200; ++i) long_text += "word ";
    const auto batch = demo().tokenize({long_text, "a cat"});
    CHECK(batch.input_ids.shape(1) == 77);
    CHECK(batch.input_ids(0, 76) == demo().tokenizer().eos_token_id());
    const tensor<2> e = demo().embed_texts({long_text});
    CHECK(std::fabs(double(xt::sum(xt::square(e))()) - 1.0) < 1e-5);
}

TEST_CASE("pipelines.image_search: ranks by cosine to the query's embedding" * doctest::test_suite("unit")) {
    std::vector<io::rgb_image> images;
    for (const char* f : {"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"})
        images.push_back(io::read_image(test::data_path(std::string("clip-images/") + f)));
    const tensor<2> embeds = demo().embed_images(images);
    const tensor<2> query = demo().embed_texts({"a rocket"});
    const auto hits = pipelines::rank_images(demo(), "a rocket", embeds);
    REQUIRE(hits.size() == 4);
    for (std::size_t r = 0; r < hits.size(); ++r) {
        const float expected = xt::sum(xt::view(embeds, hits[r].index) * xt::view(query, 0))();
        CHECK(hits[r].score == doctest::Approx(expected).epsilon(1e-6));
        if (r > 0) CHECK(hits[r - 1].score >= hits[r].score);
    }
    // Embedding in groups of 8 or one by one gives the same rows.
    const tensor<2> single = demo().embed_images({images[3]});
    CHECK(double(xt::amax(xt::abs(xt::view(embeds, 3) - xt::view(single, 0)))()) < 1e-6);
}

// Thousands of labels went through the text tower in one forward pass (activations of
// [labels, 77, hidden] per layer); now texts_per_forward at a time, with the same bits.
TEST_CASE("pipelines.zero_shot: many labels go through the text tower texts_per_forward at a time, with the scores of one pass" *
          doctest::test_suite("unit")) {
    const auto image = io::read_image(test::data_path("clip-images/chelsea.png"));
    std::vector<std::string> labels, prompts;
    for (std::size_t i = 0; i < 2 * interfaces::text_image_embedder::texts_per_forward + 7; ++i) {
        labels.push_back("thing number " + std::to_string(i) + (i % 3 ? " with a longer name" : ""));
        prompts.push_back(pipelines::fill_template(pipelines::default_hypothesis_template, labels.back()));
    }
    const batch_recording_embedder recording;
    const auto results = pipelines::classify_image(recording, image, labels);
    CHECK(recording.largest_text_batch == interfaces::text_image_embedder::texts_per_forward);
    const tensor<2> one_pass = demo().embed_texts(prompts);  // [labels, dim]
    CHECK(recording.embed_many_texts(prompts) == one_pass);
    const tensor<2> scores = demo().image_text_scores(demo().embed_images({image}), one_pass);
    REQUIRE(results.size() == labels.size());
    for (const auto& r : results) {
        const std::size_t i = std::size_t(std::find(labels.begin(), labels.end(), r.label) - labels.begin());
        CHECK(r.score == scores(0, i));
    }
}

// mmt embed and mmt search decoded every image before the first forward pass.
TEST_CASE("pipelines.embedder: image files are decoded a group at a time, with the embeddings of decoded images" *
          doctest::test_suite("unit")) {
    std::vector<std::filesystem::path> files;
    std::vector<io::rgb_image> images;
    for (std::size_t i = 0; i < interfaces::text_image_embedder::images_per_forward + 3; ++i) {
        const char* names[] = {"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"};
        files.push_back(test::data_path(std::string("clip-images/") + names[i % 4]));
        images.push_back(io::read_image(files.back()));
    }
    const batch_recording_embedder recording;
    CHECK(recording.embed_image_files(files) == demo().embed_images(images));
    CHECK(recording.largest_image_batch == interfaces::text_image_embedder::images_per_forward);
    CHECK_THROWS_WITH_AS(recording.embed_image_files({}), doctest::Contains("at least one image"), input_error);
}
