// layers::encoder_layer, pre- and post-norm, loaded from a small random checkpoint
// and checked against a naive double-precision layer built from the same weights.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "mmt/io/checkpoint.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder_layer.hpp"
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

// Wav2Vec2EncoderLayerStableLayerNorm's names for the pre-norm layer, BertLayer's for the post-norm one.
const layers::encoder_layer_names pre_names{
    {"attention.q_proj", "attention.k_proj", "attention.v_proj", "attention.out_proj"},
    "layer_norm",
    {"feed_forward.intermediate_dense", "feed_forward.output_dense"},
    "final_layer_norm"};
const layers::encoder_layer_names post_names{
    {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"},
    "attention.output.LayerNorm",
    {"intermediate.dense", "output.dense"},
    "output.LayerNorm"};

const char* prefix = "encoder.layer.0.";

// Random weights of one layer under `prefix`, written to a checkpoint; also kept in double for the twin.
struct random_layer {
    fs::path path;
    std::map<std::string, array> weights;  // name relative to the layer -> values

    random_layer(const std::string& name, const layers::encoder_layer_names& names, std::size_t hidden, std::size_t intermediate) {
        test::random_checkpoint checkpoint(name, prefix, 100);
        auto add_linear = [&](const std::string& key, std::size_t in, std::size_t out) {
            const float bound = 1.0f / std::sqrt(float(in));
            checkpoint.add(key + ".weight", {out, in}, -bound, bound);
            checkpoint.add(key + ".bias", {out}, -bound, bound);
        };
        auto add_norm = [&](const std::string& key) {
            checkpoint.add(key + ".weight", {hidden}, 0.5f, 1.5f);
            checkpoint.add(key + ".bias", {hidden}, -0.2f, 0.2f);
        };
        for (const auto& proj : {names.attention.q_proj, names.attention.k_proj, names.attention.v_proj, names.attention.out_proj})
            add_linear(proj, hidden, hidden);
        add_norm(names.norm1);
        add_linear(names.feed_forward.fc1, hidden, intermediate);
        add_linear(names.feed_forward.fc2, intermediate, hidden);
        add_norm(names.norm2);
        path = checkpoint.save();
        weights = std::move(checkpoint.weights);
    }
};

// The naive layer, from HF's modules: CLIPEncoderLayer / Wav2Vec2EncoderLayerStableLayerNorm (pre)
// and BertLayer / Wav2Vec2EncoderLayer (post). x: [batch, seq_len, hidden] in double.
array naive_layer(const std::map<std::string, array>& w, const layers::encoder_layer_names& names, const layers::encoder_layer_config& c,
                  const array& x, bool causal, const std::vector<std::int64_t>& padding) {
    const std::size_t batch = x.shape(0), seq_len = x.shape(1), hidden = x.shape(2);
    auto rows = [&](array a) {  // [batch, seq_len, n] -> [batch * seq_len, n]
        a.reshape({batch * seq_len, a.size() / (batch * seq_len)});
        return a;
    };
    auto tokens = [&](array a) {  // [batch * seq_len, hidden] -> [batch, seq_len, hidden]
        a.reshape({batch, seq_len, hidden});
        return a;
    };
    auto linear = [&](const array& in, const std::string& key) {
        return test::naive::linear(in, w.at(key + ".weight"), w.at(key + ".bias"));
    };
    auto norm = [&](const array& in, const std::string& key) {
        return test::naive::layer_norm(in, w.at(key + ".weight"), w.at(key + ".bias"), c.layer_norm_eps);
    };
    auto attention = [&](const array& in) {  // [rows, hidden] -> [rows, hidden]
        const auto& a = names.attention;
        const array context = test::naive::attention(tokens(linear(in, a.q_proj)), tokens(linear(in, a.k_proj)),
                                                     tokens(linear(in, a.v_proj)), c.num_attention_heads, causal, padding,
                                                     1.0 / std::sqrt(double(hidden / c.num_attention_heads)));
        return linear(rows(context), a.out_proj);
    };
    auto feed_forward = [&](const array& in) {
        array h = linear(in, names.feed_forward.fc1);
        for (auto& v : h) v = test::naive::activate(c.hidden_act, v);
        return linear(h, names.feed_forward.fc2);
    };
    const array x2 = rows(x);
    if (c.norm == layers::norm_position::pre) {
        const array h = x2 + attention(norm(x2, names.norm1));
        const array out = h + feed_forward(norm(h, names.norm2));
        return tokens(out);
    }
    const array h = norm(array(x2 + attention(x2)), names.norm1);
    return tokens(norm(array(h + feed_forward(h)), names.norm2));
}

// `scratch` names the test case's own directory (CTest may run test cases in parallel).
void check_layer(const std::string& scratch, const std::string& what, const layers::encoder_layer_names& names,
                 const layers::encoder_layer_config& c, std::size_t batch, std::size_t seq_len, bool causal,
                 const std::vector<std::int64_t>& padding) {
    const random_layer weights(scratch, names, c.hidden_size, c.intermediate_size);
    io::weight_loader loader(io::checkpoint::open(weights.path), {});
    const layers::encoder_layer layer = layers::encoder_layer::load(loader.root().child("encoder").child("layer").child(0), names, c);
    loader.check_all_used();

    const tensor<3> x = test::random_tensor<3>({batch, seq_len, c.hidden_size}, 42, -2.0f, 2.0f);
    const array expected = naive_layer(weights.weights, names, c, test::naive::to_double(x), causal, padding);
    test::check_op([&] { return layer.forward(x, {causal, padding.empty() ? nullptr : padding.data()}); }, expected, what);
}

}  // namespace

TEST_CASE("layers.encoder_layer: pre-norm, hidden 37 with 1 head, causal and padded" * doctest::test_suite("unit")) {
    const layers::encoder_layer_config c{37, 61, 1, ops::activation::quick_gelu, 1e-5f, layers::norm_position::pre};
    const std::vector<std::int64_t> padding{1, 1, 1, 1, 1, 1, 1,  //
                                            1, 1, 1, 1, 0, 0, 0};
    check_layer("unit_encoder_layer_pre_37", "pre-norm, 37 / 1 head", pre_names, c, 2, 7, true, padding);
}

TEST_CASE("layers.encoder_layer: pre-norm, hidden 36 with 3 heads, no mask" * doctest::test_suite("unit")) {
    const layers::encoder_layer_config c{36, 17, 3, ops::activation::gelu_new, 1e-5f, layers::norm_position::pre};
    check_layer("unit_encoder_layer_pre_36", "pre-norm, 36 / 3 heads", pre_names, c, 3, 5, false, {});
    check_layer("unit_encoder_layer_pre_36", "pre-norm, 36 / 3 heads, one token", pre_names, c, 1, 1, false, {});
}

TEST_CASE("layers.encoder_layer: post-norm, hidden 37 with 1 head, padded" * doctest::test_suite("unit")) {
    const layers::encoder_layer_config c{37, 61, 1, ops::activation::gelu, 1e-12f, layers::norm_position::post};
    const std::vector<std::int64_t> padding{1, 1, 1, 1, 1, 0,  //
                                            1, 1, 1, 1, 1, 1};
    check_layer("unit_encoder_layer_post_37", "post-norm, 37 / 1 head", post_names, c, 2, 6, false, padding);
}

TEST_CASE("layers.encoder_layer: post-norm, hidden 36 with 3 heads, a fully padded row" * doctest::test_suite("unit")) {
    const layers::encoder_layer_config c{36, 40, 3, ops::activation::relu, 1e-12f, layers::norm_position::post};
    const std::vector<std::int64_t> padding{1, 1, 0, 0, 0,  //
                                            0, 0, 0, 0, 0};
    check_layer("unit_encoder_layer_post_36", "post-norm, 36 / 3 heads", post_names, c, 2, 5, false, padding);
}

TEST_CASE("layers.encoder_layer: heads that do not divide the hidden size are a config_error" * doctest::test_suite("unit")) {
    const random_layer weights("unit_encoder_layer_heads", pre_names, 37, 61);
    io::weight_loader loader(io::checkpoint::open(weights.path), {});
    const layers::encoder_layer_config c{37, 61, 3, ops::activation::gelu, 1e-5f, layers::norm_position::pre};
    test::check_throws<config_error>([&] { layers::encoder_layer::load(loader.root().child("encoder").child("layer").child(0), pre_names, c); },
                                     {"num_attention_heads", "37", "3 heads"});
}

TEST_CASE("layers.encoder_layer: a config that does not match the weights is a weight_error" * doctest::test_suite("unit")) {
    const random_layer weights("unit_encoder_layer_mismatch", post_names, 36, 40);
    io::weight_loader loader(io::checkpoint::open(weights.path), {});
    const layers::encoder_layer_config c{36, 41, 3, ops::activation::gelu, 1e-5f, layers::norm_position::post};
    test::check_throws<weight_error>([&] { layers::encoder_layer::load(loader.root().child("encoder").child("layer").child(0), post_names, c); },
                                     {"'encoder.layer.0.intermediate.dense.weight'", "[40, 36]", "expected [41, 36]"});
}
