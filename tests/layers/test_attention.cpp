// layers::self_attention with keys and values from another sequence, and the
// encoder_state's bias reaching every layer, against naive twins and against each
// other. Layers are built from random weights in memory.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mmt/layers/attention.hpp"
#include "mmt/layers/encoder.hpp"
#include "mmt/layers/encoder_state.hpp"
#include "support/check_close.hpp"
#include "support/naive.hpp"
#include "support/kernels.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"
#include "support/throws.hpp"

using namespace mmt;
using test::naive::array;

namespace {

// nn.Linear with weights uniform in +-1/sqrt(in), kept in double for the twin.
struct random_linear {
    layers::linear layer;
    array weight, bias;

    random_linear(std::size_t in, std::size_t out, std::uint32_t seed, mmt::precision precision = mmt::precision::f32) {
        const float bound = 1.0f / std::sqrt(float(in));
        const tensor<2> w = test::random_tensor<2>({out, in}, seed, -bound, bound);
        layer.weight = ops::pack_weights(w.data(), out, in, precision);
        layer.bias = test::random_tensor<1>({out}, seed + 1, -bound, bound);
        weight = test::naive::to_double(w);
        bias = test::naive::to_double(layer.bias);
    }
    // [batch, tokens, in] -> [batch, tokens, out]
    array forward(const array& x) const {
        array rows = x;
        rows.reshape({x.shape(0) * x.shape(1), x.shape(2)});
        array y = test::naive::linear(rows, weight, bias);
        y.reshape({x.shape(0), x.shape(1), weight.shape(0)});
        return y;
    }
};

// The layers' weights stacked as linear::load_stacked stacks them.
layers::linear stacked(const std::vector<const random_linear*>& parts, mmt::precision precision) {
    const std::size_t out = parts[0]->weight.shape(0), in = parts[0]->weight.shape(1);
    std::vector<float> w, b;
    for (const random_linear* p : parts) {
        w.insert(w.end(), p->weight.begin(), p->weight.end());  // doubles of floats: exact
        b.insert(b.end(), p->bias.begin(), p->bias.end());
    }
    layers::linear l;
    l.weight = ops::pack_weights(w.data(), parts.size() * out, in, precision, nullptr, parts.size());
    l.bias = tensor<1>::from_shape({b.size()});
    std::copy(b.begin(), b.end(), l.bias.begin());
    return l;
}

struct random_attention {
    random_linear q, k, v, out;
    layers::self_attention layer;

    random_attention(std::size_t hidden, std::size_t heads, std::uint32_t seed, mmt::precision precision = mmt::precision::f32)
        : q(hidden, hidden, seed, precision), k(hidden, hidden, seed + 2, precision), v(hidden, hidden, seed + 4, precision),
          out(hidden, hidden, seed + 6, precision),
          layer{stacked({&q, &k, &v}, precision), out.layer, heads} {}
};

layers::encoder_layer random_encoder_layer(std::size_t hidden, std::size_t heads, std::uint32_t seed,
                                           mmt::precision precision = mmt::precision::f32, std::size_t intermediate = 0) {
    if (intermediate == 0) intermediate = 2 * hidden;
    const random_attention a(hidden, heads, seed, precision);
    auto norm = [&](std::uint32_t s) {
        return layers::layer_norm{test::random_tensor<1>({hidden}, s, 0.5f, 1.5f), test::random_tensor<1>({hidden}, s + 1, -0.2f, 0.2f),
                                  1e-5f};
    };
    const layers::feed_forward ffn{random_linear(hidden, intermediate, seed + 10, precision).layer,
                                   random_linear(intermediate, hidden, seed + 12, precision).layer,
                                   ops::activation::gelu};
    return {a.layer, norm(seed + 20), ffn, norm(seed + 22), layers::norm_position::pre, std::nullopt};
}

}  // namespace

TEST_CASE("layers.attention: cross-attention equals the op on the projected tensors" * doctest::test_suite("unit")) {
    const std::size_t batch = 2, q_len = 7, kv_len = 37, hidden = 12, heads = 3;
    const random_attention a(hidden, heads, 10);
    const tensor<3> x = test::random_tensor<3>({batch, q_len, hidden}, 1, -2.0f, 2.0f);
    const tensor<3> context = test::random_tensor<3>({batch, kv_len, hidden}, 2, -2.0f, 2.0f);
    const tensor<4> bias = test::random_tensor<4>({1, heads, q_len, kv_len}, 3, -3.0f, 3.0f);
    std::vector<std::int64_t> padding(batch * kv_len, 1);
    for (std::size_t j = 30; j < kv_len; ++j) padding[kv_len + j] = 0;

    const array c = test::naive::to_double(context);
    const array heads_out = test::naive::attention(a.q.forward(test::naive::to_double(x)), a.k.forward(c), a.v.forward(c), heads, false,
                                                   padding, 1.0 / std::sqrt(double(hidden / heads)), test::naive::to_double(bias));
    test::check_op([&] { return a.layer.forward(x, {false, padding.data()}, {bias.data(), 1, heads}, &context); },
                   a.out.forward(heads_out), "7 queries over a context of 37, padded, with a bias");
}

TEST_CASE("layers.attention: without a context, keys and values come from the input" * doctest::test_suite("unit")) {
    const random_attention a(16, 2, 20);
    const tensor<3> x = test::random_tensor<3>({2, 9, 16}, 4, -2.0f, 2.0f);
    test::check_close(a.layer.forward(x, {true, nullptr}), a.layer.forward(x, {true, nullptr}, {}, &x), 0.0, "self vs x as context");
    const tensor<3> other = test::random_tensor<3>({3, 9, 16}, 5);
    test::check_throws<shape_error>([&] { a.layer.forward(x, {}, {}, &other); }, {"context has batch 3, expected the queries' batch 2"});
}

TEST_CASE("layers.attention: reduced-precision projections take bf16 products where the kernel multiplies bf16 natively" *
          doctest::test_suite("unit")) {
    const std::size_t batch = 2, seq = 13, hidden = 16, heads = 2;
    const tensor<3> x = test::random_tensor<3>({batch, seq, hidden}, 9, -2.0f, 2.0f);
    for (const mmt::precision precision : {mmt::precision::f32, mmt::precision::bf16, mmt::precision::int8}) {
        const random_attention a(hidden, heads, 40, precision);
        test::for_each_kernel([&](kernel_isa isa) {
            const bool reduced = precision != mmt::precision::f32 && ops::bf16_is_native(isa);
            INFO(precision_name(precision), " projections under ", std::string(kernel_name(isa)));
            CHECK(a.layer.products() == (reduced ? mmt::precision::bf16 : mmt::precision::f32));
            // The layer's forward is the op in those products on its projections.
            const tensor<3> q = a.q.layer.forward(x), k = a.k.layer.forward(x), v = a.v.layer.forward(x);
            tensor<3> heads_out({batch, seq, hidden});
            ops::attention(ops::dense_rows(q.data(), seq, hidden), ops::dense_rows(k.data(), seq, hidden),
                           ops::dense_rows(v.data(), seq, hidden), {batch, seq, seq, heads, hidden / heads}, {true, nullptr}, {},
                           1.0f / std::sqrt(float(hidden / heads)), ops::dense_rows(heads_out.data(), seq, hidden),
                           reduced ? mmt::precision::bf16 : mmt::precision::f32);
            test::check_close(a.layer.forward(x, {true, nullptr}), a.out.layer.forward(heads_out), 0.0, "the layer vs the op");
        });
    }
}

TEST_CASE("layers.encoder: the state's bias, and its rows scaled per layer, reach every layer" * doctest::test_suite("unit")) {
    const std::size_t batch = 2, seq = 11, hidden = 8, heads = 2;
    const layers::encoder e{{random_encoder_layer(hidden, heads, 30), random_encoder_layer(hidden, heads, 60)}};
    const tensor<3> x = test::random_tensor<3>({batch, seq, hidden}, 6, -2.0f, 2.0f);
    const std::vector<tensor<4>> biases{test::random_tensor<4>({batch, heads, seq, seq}, 7, -3.0f, 3.0f),
                                        test::random_tensor<4>({1, heads, seq, seq}, 8, -3.0f, 3.0f)};
    std::vector<std::int64_t> padding(batch * seq, 1);
    padding[2 * seq - 1] = 0;

    layers::encoder_state shared;  // one bias for every layer (LayoutLMv3)
    shared.mask = {false, padding.data()};
    shared.bias = {biases[0].data(), batch, heads};
    const tensor<3> by_hand_shared = e.layers[1].forward(e.layers[0].forward(x, shared.mask, shared.bias), shared.mask, shared.bias);
    test::check_close(e.forward(x, shared), by_hand_shared, 0.0, "one bias for both layers");
    // Both layers' q, k and v went through one buffer leased from the encoder, kept for the next call.
    CHECK(e.scratch->free_buffers() == 1);
    CHECK(e.scratch->free_bytes() == batch * seq * 3 * hidden * sizeof(float));

    layers::encoder_state per_layer;  // the shared bias's rows scaled per layer (WavLM's gates), from the layer's input
    per_layer.mask = shared.mask;
    per_layer.bias = {biases[1].data(), 1, heads};
    const std::vector<tensor<3>> scales{test::random_tensor<3>({batch, heads, seq}, 9, 0.5f, 2.0f),
                                        test::random_tensor<3>({batch, heads, seq}, 10, 0.5f, 2.0f)};
    std::vector<std::size_t> asked;
    per_layer.layer_bias_scale = [&](std::size_t layer, const tensor<3>& hidden_states) {
        asked.push_back(layer);
        CHECK(hidden_states.shape() == x.shape());
        return scales[layer];
    };
    auto gated = [&](std::size_t layer) {  // the bias HF's gated tensor holds: scale[b, h, i] * bias[h, i, :]
        tensor<4> g({batch, heads, seq, seq});
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t h = 0; h < heads; ++h)
                for (std::size_t i = 0; i < seq; ++i)
                    for (std::size_t j = 0; j < seq; ++j) g(b, h, i, j) = scales[layer](b, h, i) * biases[1](0, h, i, j);
        return g;
    };
    const tensor<4> gated0 = gated(0), gated1 = gated(1);
    const tensor<3> h0 = e.layers[0].forward(x, per_layer.mask, {gated0.data(), batch, heads});
    const tensor<3> by_hand = e.layers[1].forward(h0, per_layer.mask, {gated1.data(), batch, heads});
    test::check_close(e.forward(x, per_layer), by_hand, 0.0, "a bias gated per layer");
    CHECK(asked == std::vector<std::size_t>{0, 1});

    per_layer.layer_bias_scale = [&](std::size_t, const tensor<3>&) { return tensor<3>({1, heads, seq - 1}); };
    test::check_throws<shape_error>([&] { e.forward(x, per_layer); },
                                    {"encoder: layer 0's bias row scales have shape [1, 2, 10], expected [batch, num_heads, seq_len] = [2, 2, 11]"});
    per_layer.bias = {};
    per_layer.layer_bias_scale = [&](std::size_t layer, const tensor<3>&) { return scales[layer]; };
    test::check_throws<shape_error>([&] { e.forward(x, per_layer); }, {"attention: bias row scales given without a bias to scale"});
}

TEST_CASE("layers.encoder: a batch past group_bytes goes through in groups of items, each item's outputs unchanged" *
          doctest::test_suite("unit")) {
    const std::size_t batch = 5, seq = 11, hidden = 8, heads = 2;
    const tensor<3> x = test::random_tensor<3>({batch, seq, hidden}, 6, -2.0f, 2.0f);
    const tensor<4> bias = test::random_tensor<4>({batch, heads, seq, seq}, 7, -3.0f, 3.0f);
    std::vector<std::int64_t> padding(batch * seq, 1);
    for (std::size_t j = 6; j < seq; ++j) padding[3 * seq + j] = 0;  // item 3 padded, in the last group
    layers::encoder_state state;
    state.mask = {false, padding.data()};
    state.bias = {bias.data(), batch, heads};
    std::vector<std::size_t> batches_asked;
    state.layer_bias_scale = [&](std::size_t, const tensor<3>& attention_input) {  // factors made from each item's own input
        batches_asked.push_back(attention_input.shape(0));
        tensor<3> s({attention_input.shape(0), heads, seq});
        for (std::size_t b = 0; b < s.shape(0); ++b)
            for (std::size_t h = 0; h < heads; ++h)
                for (std::size_t i = 0; i < seq; ++i) s(b, h, i) = 1.0f + 0.25f * std::tanh(attention_input(b, i, h));
        return s;
    };
    // The widest activation is q, k and v: 3 * 8 floats a token, 1,056 bytes an item. The
    // MLP's intermediate is wider (5 * 8), but it goes in runs of its own and does not
    // narrow the groups.
    const std::size_t item_bytes = 3 * hidden * sizeof(float) * seq;
    for (const mmt::precision precision : {mmt::precision::f32, mmt::precision::int8}) {
        INFO(precision_name(precision), " projections");
        layers::encoder e{{random_encoder_layer(hidden, heads, 30, precision, 5 * hidden),
                           random_encoder_layer(hidden, heads, 60, precision, 5 * hidden)}};
        batches_asked.clear();
        const tensor<3> whole = e.forward(x, state);
        CHECK(batches_asked == std::vector<std::size_t>{5, 5});
        std::vector<tensor<3>> hidden_states;
        e.group_bytes = 2 * item_bytes;  // 2 items a group: 5 go as 1, 2 and 2
        batches_asked.clear();
        test::check_close(e.forward(x, state), whole, 0.0, "in groups of at most 2 items");
        CHECK(batches_asked == std::vector<std::size_t>{1, 1, 2, 2, 2, 2});
        e.group_bytes = 1;  // less than an item: one at a time
        batches_asked.clear();
        test::check_close(e.forward(x, state), whole, 0.0, "one item at a time");
        CHECK(batches_asked.size() == 2 * batch);
        // Asked for every layer's output, the encoder keeps the batch whole.
        batches_asked.clear();
        test::check_close(e.forward(x, state, &hidden_states), whole, 0.0, "with the hidden states");
        CHECK(batches_asked == std::vector<std::size_t>{5, 5});
        CHECK(hidden_states.size() == 3);
        CHECK(e.scratch->free_buffers() == 1);  // the groups' q, k and v in the first call's buffer
    }
}
