// pipelines::text_image_embedder_from_pretrained: the embedder picked by config.json's
// model_type (CLIP's for the demo model), and a clear error for any other.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "mmt/pipelines/text_image_embedders.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/demo_model.hpp"
#include "support/throws.hpp"

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
    for (const char* model_type : {"siglip", "layoutlm"}) {
        std::ofstream(dir / "config.json", std::ios::trunc) << R"({"model_type": ")" << model_type << R"("})";
        test::check_throws<config_error>([&] { pipelines::text_image_embedder_from_pretrained(dir); },
                                         {config, "text-image embedding", std::string("model_type \"") + model_type + "\" is not supported",
                                          "expected clip, clip_text_model or clip_vision_model"});
    }
    fs::remove(dir / "config.json");
    test::check_throws<io_error>([&] { pipelines::text_image_embedder_from_pretrained(dir); }, {config});
}
