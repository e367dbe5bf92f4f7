// CLIP on bad input: broken checkpoints and configs, out-of-range ids, wrong shapes,
// each checked by exception type and message. Also config parsing of real CLIP
// config.json files, batching without padding leaks, and the two pooling rules.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"
#include "support/tolerances.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {

const fs::path tiny = test::data_path("clip-tiny");




// ids [rows, cols] from a list, row-major.
int_tensor<2> ids_tensor(std::size_t rows, std::size_t cols, const std::vector<std::int64_t>& values) {
    int_tensor<2> t({rows, cols});
    std::copy(values.begin(), values.end(), t.begin());
    return t;
}

}  // namespace

TEST_CASE("models.clip_errors: a missing config or model file is an io_error naming it" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("unit_clip_missing");
    fs::copy_file(tiny / "config.json", dir / "config.json");
    test::check_throws<io_error>([&] { clip::clip_model::from_pretrained(dir); },
                                 {dir.string(), "none of model.safetensors, model.safetensors.index.json, pytorch_model.bin"});
    fs::remove(dir / "config.json");
    fs::copy_file(tiny / "model.safetensors", dir / "model.safetensors");
    test::check_throws<io_error>([&] { clip::clip_model::from_pretrained(dir); }, {(dir / "config.json").string(), "cannot open"});
}

TEST_CASE("models.clip_errors: a truncated model.safetensors is a format_error naming the file" * doctest::test_suite("unit")) {
    const fs::path dir = test::copy_model(tiny, "unit_clip_truncated");
    const fs::path model = dir / "model.safetensors";
    fs::resize_file(model, fs::file_size(model) / 2);  // cut inside the data
    test::check_throws<format_error>([&] { clip::clip_model::from_pretrained(dir); }, {model.string(), "past the data section", "truncated"});
    fs::resize_file(model, 100);  // cut inside the header
    test::check_throws<format_error>([&] { clip::clip_model::from_pretrained(dir); }, {model.string(), "past the end of the file", "truncated"});
}

TEST_CASE("models.clip_errors: a corrupt header is a format_error naming the file" * doctest::test_suite("unit")) {
    const fs::path dir = test::copy_model(tiny, "unit_clip_corrupt");
    const fs::path model = dir / "model.safetensors";
    {
        std::fstream f(model, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(8);
        f.put('x');  // the header's opening brace
    }
    test::check_throws<format_error>([&] { clip::clip_model::from_pretrained(dir); }, {model.string(), "not valid JSON"});
}

TEST_CASE("models.clip_errors: a tensor of the wrong shape names it and both shapes" * doctest::test_suite("unit")) {
    const fs::path dir = test::copy_model(tiny, "unit_clip_wrong_shape");
    test::rewrite_checkpoint(dir, [](const std::string& name, dyn_tensor<float>& t) {
        if (name == "text_model.final_layer_norm.weight") t = dyn_tensor<float>(std::vector<std::size_t>{31}, 1.0f);
        return true;
    });
    test::check_throws<weight_error>([&] { clip::clip_model::from_pretrained(dir); },
                                     {(dir / "model.safetensors").string(), "'text_model.final_layer_norm.weight'", "[31]", "expected [32]"});
}

TEST_CASE("models.clip_errors: a missing tensor names it and its shape" * doctest::test_suite("unit")) {
    const fs::path dir = test::copy_model(tiny, "unit_clip_missing_tensor");
    test::rewrite_checkpoint(dir, [](const std::string& name, dyn_tensor<float>&) { return name != "vision_model.post_layernorm.bias"; });
    test::check_throws<weight_error>([&] { clip::clip_model::from_pretrained(dir); },
                                     {"missing tensor 'vision_model.post_layernorm.bias'", "[48]"});
}

TEST_CASE("models.clip_errors: an unused tensor is an error, the position_ids buffer is not" * doctest::test_suite("unit")) {
    const fs::path dir = test::copy_model(tiny, "unit_clip_extra");
    test::rewrite_checkpoint(
        dir, [](const std::string&, dyn_tensor<float>&) { return true; },
        [](io::safetensors_writer& w) {
            int_tensor<2> position_ids({1, 16});
            for (std::size_t i = 0; i < 16; ++i) position_ids(0, i) = std::int64_t(i);
            w.add("text_model.embeddings.position_ids", position_ids);
        });
    CHECK(clip::clip_model::from_pretrained(dir).text_model.has_value());

    const fs::path extra = test::copy_model(tiny, "unit_clip_extra_unused");
    test::rewrite_checkpoint(
        extra, [](const std::string&, dyn_tensor<float>&) { return true; },
        [](io::safetensors_writer& w) { w.add("text_model.encoder.layers.2.mlp.fc1.bias", dyn_tensor<float>(std::vector<std::size_t>{37}, 0.0f)); });
    test::check_throws<weight_error>([&] { clip::clip_model::from_pretrained(extra); },
                                     {"does not use", "'text_model.encoder.layers.2.mlp.fc1.bias'"});
}

TEST_CASE("models.clip_errors: config.json with an unknown architecture or activation" * doctest::test_suite("unit")) {
    const fs::path dir = test::copy_model(tiny, "unit_clip_config");
    const std::string config = (dir / "config.json").string();
    test::edit_config(dir, [](io::json& j) { j["architectures"] = {"CLIPForImageClassification"}; });
    test::check_throws<config_error>([&] { clip::clip_model::from_pretrained(dir); }, {config, "\"CLIPForImageClassification\""});

    test::edit_config(dir, [](io::json& j) {
        j["architectures"] = {"CLIPModel"};
        j["text_config"]["hidden_act"] = "gelu_fancy";
    });
    test::check_throws<config_error>([&] { clip::clip_model::from_pretrained(dir); }, {config, "text_config.hidden_act", "\"gelu_fancy\""});

    test::edit_config(dir, [](io::json& j) {
        j["text_config"].erase("hidden_act");
        j["vision_config"]["num_attention_heads"] = 5;
    });
    test::check_throws<config_error>([&] { clip::clip_model::from_pretrained(dir); },
                                     {config, "vision_config", "hidden_size 48", "num_attention_heads 5"});

    test::edit_config(dir, [](io::json& j) {
        j["vision_config"]["num_attention_heads"] = 4;
        j["text_config"]["num_hidden_layers"] = -2;
    });
    test::check_throws<config_error>([&] { clip::clip_model::from_pretrained(dir); }, {config, "\"num_hidden_layers\"", "-2"});
}

TEST_CASE("models.clip_errors: bad inputs to a loaded model" * doctest::test_suite("unit")) {
    const auto model = clip::clip_model::from_pretrained(tiny);
    const int_tensor<2> no_mask;

    test::check_throws<input_error>([&] { model.text_forward(ids_tensor(1, 4, {0, 5, 99, 98}), no_mask); },
                                    {"input_ids", "id 99", "position 2", "99 rows"});
    test::check_throws<input_error>([&] { model.text_forward(ids_tensor(2, 3, {0, 5, 98, 0, -3, 98}), no_mask); },
                                    {"input_ids", "id -3", "position 4"});

    const int_tensor<2> ids = ids_tensor(2, 4, {0, 5, 6, 98, 0, 7, 98, 1});
    test::check_throws<shape_error>([&] { model.text_forward(ids, int_tensor<2>({2, 3})); }, {"attention_mask", "[2, 3]", "[2, 4]"});
    test::check_throws<shape_error>([&] { model.text_forward(ids, int_tensor<2>({1, 4})); }, {"attention_mask", "[1, 4]"});

    const int_tensor<2> long_ids({1, 17});
    test::check_throws<input_error>([&] { model.text_forward(long_ids, no_mask); }, {"17 tokens", "max_position_embeddings = 16"});
    test::check_throws<input_error>([&] { model.text_forward(int_tensor<2>({0, 4}), no_mask); }, {"input_ids", "empty"});

    test::check_throws<shape_error>([&] { model.vision_forward(tensor<4>({1, 3, 31, 30})); }, {"pixel_values", "[1, 3, 31, 30]", "[batch >= 1, 3, 30, 30]"});
    test::check_throws<shape_error>([&] { model.vision_forward(tensor<4>({2, 1, 30, 30})); }, {"pixel_values", "[2, 1, 30, 30]"});
    test::check_throws<shape_error>([&] { model.vision_forward(tensor<4>({0, 3, 30, 30})); }, {"pixel_values", "[0, 3, 30, 30]"});
}

TEST_CASE("models.clip_errors: the CLIP configs in tests/data/configs parse to the file's numbers" * doctest::test_suite("unit")) {
    int clip_configs = 0;
    for (const auto& entry : fs::directory_iterator(test::data_path("configs"))) {
        const io::json j = io::read_json_file(entry.path());
        if (j.value("model_type", "") != "clip") continue;  // the other families have their own parsers
        ++clip_configs;
        CAPTURE(entry.path().filename().string());
        const clip::config c = clip::config::from_file(entry.path());
        CHECK(c.arch == clip::architecture::clip_model);
        CHECK(c.projection_dim == j["projection_dim"].get<std::size_t>());
        CHECK(c.logit_scale_init_value == j["logit_scale_init_value"].get<float>());
        const io::json& t = j["text_config"];
        CHECK(c.text.vocab_size == t["vocab_size"].get<std::size_t>());
        CHECK(c.text.hidden_size == t["hidden_size"].get<std::size_t>());
        CHECK(c.text.intermediate_size == t["intermediate_size"].get<std::size_t>());
        CHECK(c.text.projection_dim == t["projection_dim"].get<std::size_t>());
        CHECK(c.text.num_hidden_layers == t["num_hidden_layers"].get<std::size_t>());
        CHECK(c.text.num_attention_heads == t["num_attention_heads"].get<std::size_t>());
        CHECK(c.text.max_position_embeddings == t["max_position_embeddings"].get<std::size_t>());
        CHECK(c.text.hidden_act == t["hidden_act"].get<std::string>());
        CHECK(c.text.layer_norm_eps == t["layer_norm_eps"].get<float>());
        CHECK(c.text.eos_token_id == t["eos_token_id"].get<std::int64_t>());
        CHECK(c.text.bos_token_id == t["bos_token_id"].get<std::int64_t>());
        CHECK(c.text.pad_token_id == t["pad_token_id"].get<std::int64_t>());
        const io::json& v = j["vision_config"];
        CHECK(c.vision.hidden_size == v["hidden_size"].get<std::size_t>());
        CHECK(c.vision.intermediate_size == v["intermediate_size"].get<std::size_t>());
        CHECK(c.vision.projection_dim == v["projection_dim"].get<std::size_t>());
        CHECK(c.vision.num_hidden_layers == v["num_hidden_layers"].get<std::size_t>());
        CHECK(c.vision.num_attention_heads == v["num_attention_heads"].get<std::size_t>());
        CHECK(c.vision.num_channels == v["num_channels"].get<std::size_t>());
        CHECK(c.vision.image_size == v["image_size"].get<std::size_t>());
        CHECK(c.vision.patch_size == v["patch_size"].get<std::size_t>());
        CHECK(c.vision.hidden_act == v["hidden_act"].get<std::string>());
        CHECK(c.vision.layer_norm_eps == v["layer_norm_eps"].get<float>());
    }
    CHECK(clip_configs == 2);

    // Spot checks that the large model's numbers (not HF's defaults) came through.
    const clip::config large = clip::config::from_file(test::data_path("configs/clip-vit-large-patch14.json"));
    CHECK(large.text.hidden_size == 768);
    CHECK(large.vision.hidden_size == 1024);
    CHECK(large.vision.num_hidden_layers == 24);
    CHECK(large.vision.patch_size == 14);
    CHECK(large.vision.num_patches() == 256);
    CHECK(large.projection_dim == 768);
}

TEST_CASE("models.clip_errors: keys clip-tiny's config.json omits take HF's defaults" * doctest::test_suite("unit")) {
    const clip::config c = clip::config::from_file(tiny / "config.json");
    CHECK(c.arch == clip::architecture::clip_model);
    CHECK(c.projection_dim == 16);
    CHECK(c.text.hidden_size == 32);
    CHECK(c.text.vocab_size == 99);
    CHECK(c.text.max_position_embeddings == 16);
    CHECK(c.text.eos_token_id == 2);
    CHECK(c.text.hidden_act == "quick_gelu");  // absent from the file
    CHECK(c.text.layer_norm_eps == 1e-5f);
    CHECK(c.text.pad_token_id == 1);
    CHECK(c.vision.hidden_size == 48);
    CHECK(c.vision.image_size == 30);
    CHECK(c.vision.patch_size == 6);
    CHECK(c.vision.num_channels == 3);
    CHECK(c.vision.hidden_act == "quick_gelu");
    CHECK(c.vision.layer_norm_eps == 1e-5f);
    CHECK(c.vision.num_patches() == 25);
}

// With right padding the causal mask already hides the padded keys from every real
// token; what this checks is that rows do not mix and pooling is per row.
TEST_CASE("models.clip_errors: a padded batch equals its rows run one at a time" * doctest::test_suite("unit")) {
    const auto model = clip::clip_model::from_pretrained(tiny);
    const io::safetensors_file ref(tiny / "reference.safetensors");
    const auto ids = ref.load<std::int64_t, 2>("input.input_ids");
    const auto mask = ref.load<std::int64_t, 2>("input.attention_mask");
    const auto batched = model.text_forward(ids, mask);
    const std::size_t h = model.config.text.hidden_size;
    for (std::size_t r = 0; r < ids.shape(0); ++r) {
        std::size_t length = 0;
        while (length < ids.shape(1) && mask(r, length) == 1) ++length;
        int_tensor<2> row({1, length});
        int_tensor<2> ones({1, length});
        for (std::size_t s = 0; s < length; ++s) {
            row(0, s) = ids(r, s);
            ones(0, s) = 1;
        }
        tensor<3> expected({1, length, h});
        tensor<2> expected_pooled({1, h});
        for (std::size_t i = 0; i < h; ++i) {
            for (std::size_t s = 0; s < length; ++s) expected(0, s, i) = batched.last_hidden_state(r, s, i);
            expected_pooled(0, i) = batched.pooler_output(r, i);
        }
        for (const auto& row_mask : {ones, int_tensor<2>()}) {  // an all-ones mask and no mask at all
            const auto alone = model.text_forward(row, row_mask);
            test::check_close(alone.last_hidden_state, expected, test::tol::model_abs, "row " + std::to_string(r) + " alone");
            test::check_close(alone.pooler_output, expected_pooled, test::tol::model_abs, "row " + std::to_string(r) + " pooled alone");
        }
    }
}

TEST_CASE("models.clip_errors: a batch of images equals the images run one at a time" * doctest::test_suite("unit")) {
    const auto model = clip::clip_model::from_pretrained(tiny);
    const io::safetensors_file ref(tiny / "reference.safetensors");
    const auto pixels = ref.load<float, 4>("input.pixel_values");
    const auto batched = model.vision_forward(pixels);
    for (std::size_t b = 0; b < pixels.shape(0); ++b) {
        const tensor<4> one = xt::view(pixels, xt::range(b, b + 1), xt::all(), xt::all(), xt::all());
        const tensor<3> expected = xt::view(batched.last_hidden_state, xt::range(b, b + 1), xt::all(), xt::all());
        const tensor<2> expected_pooled = xt::view(batched.pooler_output, xt::range(b, b + 1), xt::all());
        const auto alone = model.vision_forward(one);
        test::check_close(alone.last_hidden_state, expected, test::tol::model_abs, "image " + std::to_string(b) + " alone");
        test::check_close(alone.pooler_output, expected_pooled, test::tol::model_abs, "image " + std::to_string(b) + " pooled alone");
    }
}

TEST_CASE("models.clip_errors: pooling at the largest id (eos_token_id 2) or the first eos_token_id" * doctest::test_suite("unit")) {
    clip::text_transformer legacy;
    legacy.config.eos_token_id = 2;
    const int_tensor<2> ids = ids_tensor(3, 6, {0, 5, 9, 3, 9, 1,  //
                                                4, 4, 4, 4, 4, 4,  //
                                                0, 7, 2, 7, 98, 1});
    CHECK(legacy.end_token_position(ids, 0) == 2);  // the first of two maxima, as torch.argmax
    CHECK(legacy.end_token_position(ids, 1) == 0);
    CHECK(legacy.end_token_position(ids, 2) == 4);  // not the 2 at position 2: the legacy rule ignores the id

    clip::text_transformer fixed;
    fixed.config.eos_token_id = 7;
    CHECK(fixed.end_token_position(ids, 0) == 0);  // no 7 in the row: position 0, as HF's argmax of all-false
    CHECK(fixed.end_token_position(ids, 2) == 1);  // the first 7, not the largest id

    // And through forward: the pooled row is the last hidden state at that position.
    auto model = clip::clip_model::from_pretrained(tiny);
    const int_tensor<2> input = ids_tensor(2, 6, {0, 5, 9, 97, 9, 1,  //
                                                  0, 9, 3, 9, 4, 2});
    auto pooled_at = [&](const clip::tower_output& out, std::size_t b, std::size_t s) {
        for (std::size_t i = 0; i < model.config.text.hidden_size; ++i)
            if (out.pooler_output(b, i) != out.last_hidden_state(b, s, i)) return false;
        return true;
    };
    const auto legacy_out = model.text_forward(input, int_tensor<2>());
    CHECK(pooled_at(legacy_out, 0, 3));
    CHECK(pooled_at(legacy_out, 1, 1));
    model.text_model->config.eos_token_id = 9;
    const auto fixed_out = model.text_forward(input, int_tensor<2>());
    CHECK(pooled_at(fixed_out, 0, 2));
    CHECK(pooled_at(fixed_out, 1, 1));
    CHECK_FALSE(pooled_at(fixed_out, 0, 3));
}
