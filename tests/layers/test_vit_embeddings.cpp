// layers::vit_embeddings, as SigLIP (patch bias, no class token, no pre-norm) and as
// CLIP (class token and pre_layrnorm) configure it, loaded from a small random
// checkpoint and checked against a naive double-precision block built from the same weights.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "mmt/io/checkpoint.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/vit_embeddings.hpp"
#include "support/data.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/random_checkpoint.hpp"
#include "support/threads.hpp"
#include "support/throws.hpp"

using namespace mmt;
namespace fs = std::filesystem;
using test::naive::array;

namespace {

const layers::vit_embeddings_names names{"embeddings", "pre_layrnorm"};

// Random weights for `c` under "vision_model.", written to a checkpoint; also kept in double for the twin.
struct random_embeddings {
    fs::path path;
    std::map<std::string, array> weights;  // name relative to "vision_model." -> values

    random_embeddings(const std::string& name, const layers::vit_embeddings_config& c, bool class_token) {
        test::random_checkpoint checkpoint(name, "vision_model.", 300);
        const std::size_t h = c.hidden_size, p = c.patch_size;
        if (class_token) checkpoint.add("embeddings.class_embedding", {h}, -1.0f, 1.0f);
        checkpoint.add("embeddings.patch_embedding.weight", {h, c.num_channels, p, p}, -0.3f, 0.3f);
        if (c.patch_bias) checkpoint.add("embeddings.patch_embedding.bias", {h}, -0.5f, 0.5f);
        checkpoint.add("embeddings.position_embedding.weight", {c.num_patches() + (class_token ? 1 : 0), h}, -1.0f, 1.0f);
        if (c.pre_norm) {
            checkpoint.add("pre_layrnorm.weight", {h}, 0.5f, 1.5f);
            checkpoint.add("pre_layrnorm.bias", {h}, -0.2f, 0.2f);
        }
        path = checkpoint.save();
        weights = std::move(checkpoint.weights);
    }
};

// CLIPVisionEmbeddings / SiglipVisionEmbeddings (+ pre_layrnorm) in double: the patch
// convolution, the class token in front, the position embeddings, the LayerNorm.
array naive_embeddings(const std::map<std::string, array>& w, const layers::vit_embeddings_config& c, const array& pixels) {
    const array none;
    const array patches = test::naive::patch_conv(pixels, w.at("embeddings.patch_embedding.weight"),
                                                  c.patch_bias ? w.at("embeddings.patch_embedding.bias") : none);
    const array& positions = w.at("embeddings.position_embedding.weight");
    const std::size_t batch = pixels.shape(0), np = patches.shape(1), h = c.hidden_size, first = c.class_token ? 1 : 0;
    array x = test::naive::zeros({batch * (first + np), h});  // rows of [batch, num_positions, hidden]
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t s = 0; s < first + np; ++s)
            for (std::size_t i = 0; i < h; ++i) {
                const double token = s < first ? w.at("embeddings.class_embedding")(i) : patches(b, s - first, i);
                x(b * (first + np) + s, i) = token + positions(s, i);
            }
    if (c.pre_norm) x = test::naive::layer_norm(x, w.at("pre_layrnorm.weight"), w.at("pre_layrnorm.bias"), c.layer_norm_eps);
    x.reshape({batch, first + np, h});
    return x;
}

void check_embeddings(const std::string& scratch, const std::string& what, const layers::vit_embeddings_config& c, std::size_t batch) {
    const random_embeddings weights(scratch, c, c.class_token);
    io::weight_loader loader(io::checkpoint::open(weights.path), {});
    const layers::vit_embeddings block = layers::vit_embeddings::load(loader.root().child("vision_model"), names, c);
    loader.check_all_used();

    const tensor<4> pixels = test::random_tensor<4>({batch, c.num_channels, c.image_size, c.image_size}, 7, -2.0f, 2.0f);
    const array expected = naive_embeddings(weights.weights, c, test::naive::to_double(pixels));
    test::check_op([&] { return block.forward(pixels); }, expected, what);
}

}  // namespace

TEST_CASE("layers.vit_embeddings: SigLIP's layout, patch bias and no class token, on a 3 x 3 grid" * doctest::test_suite("unit")) {
    layers::vit_embeddings_config c{37, 3, 15, 5};
    c.patch_bias = true;
    CHECK(c.num_positions() == 9);
    check_embeddings("unit_vit_embeddings_siglip", "no class token, 37 wide", c, 2);
}

TEST_CASE("layers.vit_embeddings: CLIP's layout, class token and pre-norm, one channel and one patch" * doctest::test_suite("unit")) {
    layers::vit_embeddings_config c{17, 1, 4, 4};
    c.class_token = true;
    c.pre_norm = true;
    c.layer_norm_eps = 1e-6f;
    CHECK(c.num_positions() == 2);
    check_embeddings("unit_vit_embeddings_clip", "class token, pre-norm, one patch", c, 3);
}

TEST_CASE("layers.vit_embeddings: a class token the config lacks, or pixels of another size, are errors naming the tensor" *
          doctest::test_suite("unit")) {
    const layers::vit_embeddings_config c{8, 3, 6, 3};
    const random_embeddings weights("unit_vit_embeddings_errors", c, true);  // written with a class token, positions 5
    {
        io::weight_loader loader(io::checkpoint::open(weights.path), {});
        test::check_throws<weight_error>([&] { layers::vit_embeddings::load(loader.root().child("vision_model"), names, c); },
                                         {"'vision_model.embeddings.position_embedding.weight'", "[5, 8]", "expected [4, 8]"});
    }
    layers::vit_embeddings_config with_class = c;
    with_class.class_token = true;
    io::weight_loader loader(io::checkpoint::open(weights.path), {});
    const auto block = layers::vit_embeddings::load(loader.root().child("vision_model"), names, with_class);
    loader.check_all_used();
    test::check_throws<shape_error>([&] { block.forward(tensor<4>({1, 3, 6, 7})); },
                                    {"vision embeddings", "pixel_values", "[1, 3, 6, 7]", "expected [batch >= 1, 3, 6, 6]"});
}
