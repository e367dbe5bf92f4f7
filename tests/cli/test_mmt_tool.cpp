// The mmt command-line tool, run as a user would.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/ops/packed_gemm.hpp"
#include "mmt/ops/packed_gemm_bf16.hpp"
#include "mmt/ops/packed_gemm_int8.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/demo_model.hpp"
#include "support/files.hpp"
#include "support/peak_memory.hpp"
#include "support/programs.hpp"
#include "support/tolerances.hpp"
#include "support/tool_forward.hpp"

using namespace mmt;
using namespace mmt::test;

TEST_CASE("cli.forward: clip-tiny, siglip-tiny, chinese-clip-tiny, layoutlmv3-tiny-* and lilt-tiny-token-cls reproduce every output of reference.safetensors" * doctest::test_suite("parity")) {
    CHECK(check_tool_forward(data_path("clip-tiny"), "cli_forward") == 8);
    CHECK(check_tool_forward(data_path("siglip-tiny"), "cli_forward") == 8);
    CHECK(check_tool_forward(data_path("chinese-clip-tiny"), "cli_forward") == 7);
    CHECK(check_tool_forward(data_path("layoutlmv3-tiny-token-cls"), "cli_forward") == 1);
    CHECK(check_tool_forward(data_path("layoutlmv3-tiny-base"), "cli_forward") == 1);
    CHECK(check_tool_forward(data_path("lilt-tiny-token-cls"), "cli_forward") == 1);
}

TEST_CASE("cli.help: the tool and every subcommand answer --help" * doctest::test_suite("unit")) {
    for (const char* sub : {"", "forward", "inspect", "random-model", "tokenize", "preprocess-image", "classify-image", "embed", "search",
                            "embed-collection", "convert"}) {
        const auto r = run(tool() + " " + sub + " --help");
        INFO(sub);
        CHECK(r.exit_code == 0);
        CHECK(r.output.find("Usage:") != std::string::npos);
    }
}

TEST_CASE("cli.verbose: says which kernel each precision runs, chosen from this CPU" * doctest::test_suite("unit")) {
    const std::string file = quote(data_path("clip-tiny/model.safetensors").string());
    const struct {
        const char* precision;
        const char* kernel;
    } cases[] = {{"f32", ops::packed_gemm_kernel()}, {"bf16", ops::packed_gemm_bf16_kernel()}, {"int8", ops::packed_gemm_int8_kernel()}};
    for (const auto& c : cases) {
        // stderr alone: inspect's listing goes to /dev/null
        const auto r = run("(" + tool() + " --verbose --threads 1 --precision " + c.precision + " inspect " + file + " 2>&1 >/dev/null)");
        INFO(r.output);
        CHECK(r.exit_code == 0);
        CHECK(r.output == std::string("mmt: linear layers in ") + c.precision + ": " + c.kernel + " kernel, 1 thread\n");
    }
}

TEST_CASE("cli.errors: a failure is one readable line and a non-zero exit" * doctest::test_suite("unit")) {
    SUBCASE("missing model directory") {
        const auto r = run(tool() + " forward --model /nonexistent --inputs x --out y", true);
        CHECK(r.exit_code != 0);
        CHECK(count_lines(r.output) == 1);
        CHECK(r.output.find("mmt: error: cannot open '/nonexistent/config.json'") != std::string::npos);
    }
    SUBCASE("missing required option") {
        const auto r = run(tool() + " inspect", true);
        CHECK(r.exit_code != 0);
        CHECK(count_lines(r.output) == 1);
        CHECK(r.output.find("FILE is required") != std::string::npos);
    }
    SUBCASE("inputs without what the architecture needs") {
        const auto model = data_path("clip-tiny");
        const auto r = run(tool() + " forward --model " + quote(model.string()) + " --inputs " +
                               quote((model / "model.safetensors").string()) + " --out /tmp/mmt_unused.safetensors",
                           true);
        CHECK(r.exit_code != 0);
        CHECK(count_lines(r.output) == 1);
        CHECK(r.output.find("CLIPModel needs the") != std::string::npos);
    }
    SUBCASE("an image that is not an image") {
        const auto r = run(tool() + " preprocess-image --model " + quote(clip_demo_model().string()) + " " +
                               quote(data_path("clip-tiny/config.json").string()) + " --out /tmp/mmt_unused.safetensors",
                           true);
        CHECK(r.exit_code != 0);
        CHECK(count_lines(r.output) == 1);
        CHECK(r.output.find("config.json") != std::string::npos);
    }
    SUBCASE("a bad thread count") {
        const auto r = run(tool() + " --threads 0 inspect x", true);
        CHECK(r.exit_code != 0);
        CHECK(count_lines(r.output) == 1);
    }
}

TEST_CASE("cli.tokenize: JSON lines equal HF's ids for the fixture texts" * doctest::test_suite("unit")) {
    const auto cases = io::read_json_file(data_path("clip-tokenizer/cases.json"))["cases"];
    const auto r = run(tool() + " tokenize --model " + quote(data_path("clip-tokenizer").string()) + " " +
                       quote(cases[0]["text"].get<std::string>()) + " " + quote(cases[3]["text"].get<std::string>()));
    REQUIRE(r.exit_code == 0);
    REQUIRE(count_lines(r.output) == 2);
    const auto first = io::json::parse(r.output.substr(0, r.output.find('\n')));
    const auto second = io::json::parse(r.output.substr(r.output.find('\n') + 1));
    CHECK(first["input_ids"] == cases[0]["input_ids"]);
    CHECK(first["attention_mask"] == cases[0]["attention_mask"]);
    CHECK(second["input_ids"] == cases[3]["input_ids"]);
    CHECK(r.output.rfind("{\"input_ids\":", 0) == 0);  // HF's key order
}

TEST_CASE("cli.preprocess_image: pixel_values of a PNG equal HF's" * doctest::test_suite("parity")) {
    const auto dir = scratch_dir("cli_preprocess");
    const auto r = run(tool() + " preprocess-image --model " + quote(data_path("clip-images").string()) + " " +
                       quote(data_path("clip-images/chelsea.png").string()) + " --out " + quote((dir / "p.safetensors").string()));
    REQUIRE(r.exit_code == 0);
    const io::safetensors_file out(dir / "p.safetensors"), ref(data_path("clip-images/reference.safetensors"));
    const auto pixels = out.load<float>("pixel_values");
    REQUIRE(pixels.dimension() == 4);
    CHECK(pixels.shape(0) == 1);
    const dyn_tensor<float> first = xt::view(pixels, 0);
    check_close(first, ref.load<float>("pixel_values.chelsea"), tol::pixels_abs, "pixel_values.chelsea via the tool");
}

TEST_CASE("cli.clip: classify-image, embed and search on the demo model" * doctest::test_suite("unit")) {
    const std::string model = quote(clip_demo_model().string());
    const std::string cat = quote(data_path("clip-images/chelsea.png").string());
    const std::string rocket = quote(data_path("clip-images/rocket.jpg").string());

    const auto classify = run(tool() + " classify-image --model " + model + " " + cat + " --labels 'cat, dog,car'");
    REQUIRE(classify.exit_code == 0);
    CHECK(count_lines(classify.output) == 3);
    for (const char* label : {"  cat\n", "  dog\n", "  car\n"}) CHECK(classify.output.find(label) != std::string::npos);

    const auto dir = scratch_dir("cli_embed");
    const auto embed = run(tool() + " embed --model " + model + " --image " + cat + " " + rocket + " --text 'a cat' --out " +
                           quote((dir / "e.safetensors").string()));
    REQUIRE(embed.exit_code == 0);
    const io::safetensors_file e(dir / "e.safetensors");
    const auto images = e.load<float, 2>("image_embeds");
    const auto texts = e.load<float, 2>("text_embeds");
    CHECK(images.shape(0) == 2);
    CHECK(texts.shape(0) == 1);
    for (std::size_t r = 0; r < 2; ++r) CHECK(double(xt::sum(xt::square(xt::view(images, r)))()) == doctest::Approx(1.0).epsilon(1e-5));

    const auto search = run(tool() + " search --model " + model + " --query 'a cat' " + rocket + " " + cat);
    REQUIRE(search.exit_code == 0);
    CHECK(count_lines(search.output) == 2);
    // The ranking must follow the cosine of the embeddings written by `embed`.
    const float cat_score = xt::sum(xt::view(images, 0) * xt::view(texts, 0))();
    const float rocket_score = xt::sum(xt::view(images, 1) * xt::view(texts, 0))();
    const std::string best = cat_score > rocket_score ? "chelsea.png" : "rocket.jpg";
    CHECK(search.output.substr(0, search.output.find('\n')).find(best) != std::string::npos);
}

TEST_CASE("cli.classify-image: SigLIP's sigmoid scores for siglip-tiny's texts are HF's" * doctest::test_suite("parity")) {
    // The fixture's texts as labels with the template "{}": its prompts, so HF's logits give the scores.
    const io::safetensors_file ref(data_path("siglip-tiny/reference.safetensors"));
    const auto texts = io::parse_json(ref.metadata().at("texts"), "texts").get<std::vector<std::string>>();
    std::string labels;
    for (const auto& t : texts) labels += (labels.empty() ? "" : ",") + t;
    const auto r = run(tool() + " classify-image --model " + quote(siglip_tiny_model().string()) + " " +
                       quote(data_path("clip-images/chelsea.png").string()) + " --template '{}' --labels " + quote(labels));
    REQUIRE(r.exit_code == 0);
    CHECK(count_lines(r.output) == texts.size());
    const auto logits = ref.load<float, 2>("output.logits_per_image");  // [2 images, 3 texts]; chelsea is image 0
    for (std::size_t i = 0; i < texts.size(); ++i) {
        char line[160];
        std::snprintf(line, sizeof line, "%.4f  %s\n", 1.0 / (1.0 + std::exp(-double(logits(0, i)))), texts[i].c_str());
        CHECK_MESSAGE(r.output.find(line) != std::string::npos, "expected the line ", line, " in\n", r.output);
    }
}

TEST_CASE("cli.inspect: lists names, dtypes and shapes" * doctest::test_suite("unit")) {
    const auto r = run(tool() + " inspect " + quote(data_path("clip-tiny/model.safetensors").string()));
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("logit_scale") != std::string::npos);
    CHECK(r.output.find("vision_model.embeddings.patch_embedding.weight") != std::string::npos);
    CHECK(r.output.find("[48, 3, 6, 6]") != std::string::npos);
}

TEST_CASE("cli.random_model: f16 and bf16 checkpoints load and run" * doctest::test_suite("unit")) {
    for (const char* type : {"f16", "bf16"}) {
        const auto dir = scratch_dir(std::string("random_") + type);
        const auto r = run(tool() + " random-model --config " + quote(data_path("clip-tiny/config.json").string()) + " --out " +
                           quote(dir.string()) + " --dtype " + type);
        REQUIRE(r.exit_code == 0);
        const auto f = run(tool() + " forward --model " + quote(dir.string()) + " --inputs " +
                           quote(data_path("clip-tiny/reference.safetensors").string()) + " --out " + quote((dir / "o.safetensors").string()));
        CHECK(f.exit_code == 0);
    }
}

// The weights are packed once at load, read a panel of rows at a time, so a whole
// CLIPModel costs little more than its weight file (1.05x when this was written);
// stored in int8 by mmt quantize, the file is under 30% of float32's and the model
// runs in under 35% of float32's file.
TEST_CASE("cli.embed: peak RSS of mmt embed on a random ViT-B/32 is at most 1.1x its weight file, 0.35x of it from its int8 quantization" *
          doctest::test_suite("unit")) {
    namespace fs = std::filesystem;
    const auto dir = scratch_dir("vit_b32_random");
    REQUIRE(run(tool() + " random-model --config " + quote(data_path("configs/clip-vit-base-patch32.json").string()) + " --out " +
                quote(dir.string()))
                .exit_code == 0);
    fs::copy_file(fs::path(MMT_EXAMPLES_SRC_DIR) / "models" / "clip-demo" / "preprocessor_config.json", dir / "preprocessor_config.json");
    for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
        fs::copy_file(data_path("clip-tokenizer") / f, dir / f);
    const double weights = double(fs::file_size(dir / "model.safetensors"));
    const std::size_t peak = peak_rss_of(tool() + " --threads 1 embed --model " + quote(dir.string()) + " --image " +
                                         quote(data_path("clip-images/chelsea.png").string()) + " --text 'a photo of a cat' --out " +
                                         quote((dir / "e.safetensors").string()));
    REQUIRE(peak > 0);  // it ran and succeeded
    MESSAGE("mmt embed peak RSS ", double(peak) * 1e-6, " MB for ", weights * 1e-6, " MB of weights (", double(peak) / weights, "x)");
    CHECK(io::safetensors_file(dir / "e.safetensors").load<float, 2>("image_embeds").shape(1) == 512);
    if (peak_is_measurable) CHECK(double(peak) <= 1.1 * weights);

    const auto int8_dir = scratch_dir("vit_b32_random_int8");
    REQUIRE(run(tool() + " quantize --model " + quote(dir.string()) + " --out " + quote(int8_dir.string()) + " --precision int8").exit_code == 0);
    fs::remove(dir / "model.safetensors");  // 605 MB
    const double int8_weights = double(fs::file_size(int8_dir / "model.safetensors"));
    const std::size_t int8_peak = peak_rss_of(tool() + " --threads 1 embed --model " + quote(int8_dir.string()) + " --image " +
                                              quote(data_path("clip-images/chelsea.png").string()) + " --text 'a photo of a cat' --out " +
                                              quote((int8_dir / "e.safetensors").string()));
    REQUIRE(int8_peak > 0);
    MESSAGE("int8: file ", int8_weights * 1e-6, " MB (", int8_weights / weights, "x float32's), mmt embed peak RSS ", double(int8_peak) * 1e-6,
            " MB (", double(int8_peak) / weights, "x float32's file)");
    CHECK(int8_weights <= 0.30 * weights);
    if (peak_is_measurable) CHECK(double(int8_peak) <= 0.35 * weights);
    fs::remove(int8_dir / "model.safetensors");
}
