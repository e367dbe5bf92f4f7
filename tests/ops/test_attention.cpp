// ops::attention against a naive double-precision attention with HF's additive
// masks (each mask that hides a key adds float32's lowest value to its score) and
// bias. Sizes past 64 queries and 576 keys cross the op's query and key blocks (48
// of each under a causal mask).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "mmt/ops/attention.hpp"
#include "support/kernels.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"
#include "support/throws.hpp"

using namespace mmt;
using test::naive::array;

namespace {

struct inputs {
    ops::attention_shape shape;
    tensor<3> q;     // [batch, q_len, num_heads * head_dim]
    tensor<3> k, v;  // [batch, kv_len, num_heads * head_dim]
};

inputs make_inputs(std::size_t batch, std::size_t q_len, std::size_t kv_len, std::size_t num_heads, std::size_t head_dim) {
    const ops::attention_shape s{batch, q_len, kv_len, num_heads, head_dim};
    const auto seed = std::uint32_t(batch * 1000003 + q_len * 1009 + kv_len * 101 + num_heads * 31 + head_dim);
    // Scores of a few units, as in a trained model, so the softmax is far from uniform.
    return {s, test::random_tensor<3>({batch, q_len, s.hidden()}, seed, -2.0f, 2.0f),
            test::random_tensor<3>({batch, kv_len, s.hidden()}, seed + 1, -2.0f, 2.0f),
            test::random_tensor<3>({batch, kv_len, s.hidden()}, seed + 2)};
}

inputs make_inputs(std::size_t batch, std::size_t seq_len, std::size_t num_heads, std::size_t head_dim) {
    return make_inputs(batch, seq_len, seq_len, num_heads, head_dim);
}

float default_scale(const inputs& in) { return 1.0f / std::sqrt(float(in.shape.head_dim)); }

// The op on dense q, k, v and out.
tensor<3> run(const inputs& in, const ops::attention_mask& mask, const tensor<4>& bias = {}, mmt::precision products = mmt::precision::f32) {
    const auto& s = in.shape;
    tensor<3> out = test::nan_tensor<3>({s.batch, s.q_len, s.hidden()});
    const ops::attention_bias b = bias.size() ? ops::attention_bias{bias.data(), bias.shape(0), bias.shape(1)} : ops::attention_bias{};
    ops::attention(ops::dense_rows(in.q.data(), s.q_len, s.hidden()), ops::dense_rows(in.k.data(), s.kv_len, s.hidden()),
                   ops::dense_rows(in.v.data(), s.kv_len, s.hidden()), s, mask, b, default_scale(in),
                   ops::dense_rows(out.data(), s.q_len, s.hidden()), products);
    return out;
}

array expected_of(const inputs& in, bool causal, const std::vector<std::int64_t>& padding, const tensor<4>& bias = {}) {
    return test::naive::attention(test::naive::to_double(in.q), test::naive::to_double(in.k), test::naive::to_double(in.v),
                                  in.shape.num_heads, causal, padding, default_scale(in),
                                  bias.size() ? test::naive::to_double(bias) : array());
}

// Runs the op under each kernel the CPU has (the reductions and the exp differ),
// on one and two threads, and compares it with the naive twin.
void check_attention(const inputs& in, bool causal, const std::vector<std::int64_t>& padding, const std::string& what,
                     const tensor<4>& bias = {}) {
    const array expected = expected_of(in, causal, padding, bias);
    test::for_each_kernel([&](kernel_isa isa) {
        test::check_op([&] { return run(in, {causal, padding.empty() ? nullptr : padding.data()}, bias); }, expected,
                       what + " (" + kernel_name(isa) + ")");
    });
}

// With bf16 products q, k and v are rounded to bf16, and so is each weight of the
// softmax before it meets v, the sums staying float32. Against the naive attention of
// the rounded q, k and v, the weights' rounding (at most tol::bf16_rel of each) moves
// an output, a weighted mean of v, by at most tol::bf16_rel * max |v|.
void check_bf16_products(const inputs& in, bool causal, const std::vector<std::int64_t>& padding, const std::string& what,
                         const tensor<4>& bias = {}) {
    inputs rounded = in;
    double v_max = 0;
    for (tensor<3>* t : {&rounded.q, &rounded.k, &rounded.v})
        for (float& x : *t) x = bf16_to_float(float_to_bf16(x));
    for (float x : in.v) v_max = std::max(v_max, double(std::fabs(x)));
    const array expected = expected_of(rounded, causal, padding, bias);
    test::for_each_kernel([&](kernel_isa isa) {
        test::check_op([&] { return run(in, {causal, padding.empty() ? nullptr : padding.data()}, bias, mmt::precision::bf16); },
                       expected, what + " in bf16 (" + kernel_name(isa) + ")", test::tol::op_abs + test::tol::bf16_rel * v_max);
    });
}

// [batch, kv_len] mask with the last `padded[b]` keys of row b padded (right padding, as tokenizers pad).
std::vector<std::int64_t> right_padding(std::size_t kv_len, const std::vector<std::size_t>& padded) {
    std::vector<std::int64_t> mask;
    for (std::size_t n : padded)
        for (std::size_t j = 0; j < kv_len; ++j) mask.push_back(j + n < kv_len ? 1 : 0);
    return mask;
}

// A bias of a few units, like LayoutLMv3's relative position bias.
tensor<4> make_bias(std::size_t batch, std::size_t heads, std::size_t q_len, std::size_t kv_len) {
    return test::random_tensor<4>({batch, heads, q_len, kv_len}, std::uint32_t(batch * 7 + heads * 5 + q_len * 3 + kv_len), -3.0f, 3.0f);
}

}  // namespace

TEST_CASE("ops.attention: no mask" * doctest::test_suite("unit")) {
    check_attention(make_inputs(1, 1, 1, 1), false, {}, "one token, one head of 1");
    check_attention(make_inputs(2, 37, 3, 5), false, {}, "2 x 37 tokens, 3 heads of 5");
    check_attention(make_inputs(1, 17, 1, 37), false, {}, "17 tokens, 1 head of 37");
    check_attention(make_inputs(3, 16, 2, 16), false, {}, "3 x 16 tokens, 2 heads of 16");
    check_attention(make_inputs(2, 150, 2, 8), false, {}, "2 x 150 tokens: query blocks of 64, the last partial");
    check_attention(make_inputs(1, 1201, 1, 4), false, {}, "1,201 tokens: three key blocks, the last partial");
}

TEST_CASE("ops.attention: causal" * doctest::test_suite("unit")) {
    check_attention(make_inputs(1, 1, 1, 1), true, {}, "causal, one token");
    check_attention(make_inputs(2, 37, 3, 5), true, {}, "causal, 2 x 37 tokens, 3 heads of 5");
    check_attention(make_inputs(1, 61, 2, 8), true, {}, "causal, 61 tokens, 2 heads of 8");
    check_attention(make_inputs(1, 150, 2, 8), true, {}, "causal, 150 tokens: queries past the first block");
    check_attention(make_inputs(1, 700, 1, 8), true, {}, "causal, 700 tokens: key blocks wholly seen, cut and wholly hidden");
}

TEST_CASE("ops.attention: key padding" * doctest::test_suite("unit")) {
    check_attention(make_inputs(3, 37, 3, 5), false, right_padding(37, {0, 1, 30}), "padding 0, 1 and 30 of 37 keys");
    check_attention(make_inputs(2, 1, 2, 3), false, right_padding(1, {0, 0}), "one unpadded token");
    check_attention(make_inputs(2, 150, 2, 8), false, right_padding(150, {0, 99}), "padding 0 and 99 of 150 keys");
    check_attention(make_inputs(2, 700, 1, 4), false, right_padding(700, {0, 650}), "padding 650 of 700: the last key block all padded");
}

TEST_CASE("ops.attention: causal and key padding together" * doctest::test_suite("unit")) {
    check_attention(make_inputs(3, 17, 3, 4), true, right_padding(17, {0, 5, 16}), "causal, right padding 0, 5 and 16 of 17");
    check_attention(make_inputs(2, 150, 2, 8), true, right_padding(150, {0, 99}),
                    "causal, right padding 0 and 99 of 150: query blocks skip the key blocks past them");
    // Left padding: the first queries see only padded keys. HF adds finfo.min for the causal
    // mask and again for the padding mask, so a key hidden by both overflows to -inf and such
    // a query spreads its weight over the keys hidden only once.
    std::vector<std::int64_t> left(2 * 9, 1);
    for (std::size_t j = 0; j < 4; ++j) left[9 + j] = 0;
    left[9 + 6] = 0;  // and a gap in the middle
    check_attention(make_inputs(2, 9, 2, 3), true, left, "causal, left padding 4 of 9 and a gap");
    // The same across key blocks: queries below 650 see only padded keys.
    std::vector<std::int64_t> long_left(700, 1);
    for (std::size_t j = 0; j < 650; ++j) long_left[j] = 0;
    check_attention(make_inputs(1, 700, 1, 4), true, long_left, "causal, left padding 650 of 700");
}

TEST_CASE("ops.attention: a query whose keys are all padded gets uniform weights" * doctest::test_suite("unit")) {
    // HF adds finfo(float32).min to each padded key's score: every score becomes that same
    // value, so the softmax is uniform and the output is the mean of the values, also when
    // the keys span several key blocks and when a bias was added first.
    for (std::size_t n : {std::size_t(7), std::size_t(1200)}) {
        CAPTURE(n);
        const inputs in = make_inputs(2, 5, n, 2, 3);
        const std::vector<std::int64_t> padding = right_padding(n, {0, n});  // row 1 fully padded
        check_attention(in, false, padding, "row 1 fully padded");
        const tensor<4> bias = make_bias(2, 2, 5, n);
        check_attention(in, false, padding, "row 1 fully padded, with a bias", bias);
        for (const tensor<3>& out : {run(in, {false, padding.data()}), run(in, {false, padding.data()}, bias)})
            for (std::size_t e = 0; e < in.shape.hidden(); ++e) {
                double mean = 0;
                for (std::size_t j = 0; j < n; ++j) mean += in.v(1, j, e);
                CHECK(out(1, 4, e) == doctest::Approx(mean / double(n)).epsilon(1e-5));
            }
    }
}

TEST_CASE("ops.attention: a query whose every score is -inf gets NaN, as torch" * doctest::test_suite("unit")) {
    // A bias of -inf on the first 600 keys of query 0 and on every key of query 1: query 0
    // starts with a key block carrying no weight at all and must not be poisoned by it.
    const std::size_t n = 1000;
    const inputs in = make_inputs(1, 3, n, 1, 4);
    tensor<4> bias = make_bias(1, 1, 3, n);
    for (std::size_t j = 0; j < n; ++j) {
        if (j < 600) bias(0, 0, 0, j) = -std::numeric_limits<float>::infinity();
        bias(0, 0, 1, j) = -std::numeric_limits<float>::infinity();
    }
    const tensor<3> out = run(in, {}, bias);
    const array expected = expected_of(in, false, {}, bias);
    for (std::size_t e = 0; e < 4; ++e) {
        CHECK(out(0, 0, e) == doctest::Approx(expected(0, 0, e)).epsilon(1e-5));
        CHECK(std::isnan(out(0, 1, e)));
        CHECK(out(0, 2, e) == doctest::Approx(expected(0, 2, e)).epsilon(1e-5));
    }
}

TEST_CASE("ops.attention: fewer or more queries than keys" * doctest::test_suite("unit")) {
    check_attention(make_inputs(1, 1, 50, 12, 64), false, {}, "one probe query over 50 keys, 12 heads of 64");
    check_attention(make_inputs(2, 1, 197, 2, 16), false, right_padding(197, {0, 10}), "one query over 197 keys, padded");
    check_attention(make_inputs(2, 37, 150, 3, 5), false, {}, "37 queries over 150 keys");
    check_attention(make_inputs(1, 150, 37, 2, 8), false, right_padding(37, {3}), "150 queries over 37 keys, padded");
    check_attention(make_inputs(1, 70, 1201, 1, 8), false, {}, "70 queries over 1,201 keys: two query blocks, three key blocks");
}

TEST_CASE("ops.attention: one probe query broadcast over the batch" * doctest::test_suite("unit")) {
    // A pooling head's learnt probe (SigLIP's MultiheadAttentionPoolingHead) is one
    // query for every batch item: batch stride 0.
    const inputs in = make_inputs(3, 1, 50, 2, 8);
    const auto& s = in.shape;
    inputs repeated = in;
    for (std::size_t b = 1; b < 3; ++b)
        for (std::size_t e = 0; e < s.hidden(); ++e) repeated.q(b, 0, e) = in.q(0, 0, e);
    test::check_op(
        [&] {
            tensor<3> out({s.batch, 1, s.hidden()});
            ops::attention({in.q.data(), s.hidden(), 0}, ops::dense_rows(in.k.data(), s.kv_len, s.hidden()),
                           ops::dense_rows(in.v.data(), s.kv_len, s.hidden()), s, {}, {}, default_scale(in),
                           ops::dense_rows(out.data(), 1, s.hidden()));
            return out;
        },
        expected_of(repeated, false, {}), "probe broadcast over 3 batch items");
}

TEST_CASE("ops.attention: q, k and v packed in one buffer, out strided" * doctest::test_suite("unit")) {
    // A fused in_proj writes [batch, seq_len, 3 * hidden]; the op reads each third where it
    // lies and writes into every other row-sized slot of a wider buffer.
    for (std::size_t seq : {std::size_t(37), std::size_t(613)}) {
        CAPTURE(seq);
        const std::size_t batch = 2, heads = 3, d = 5, hidden = heads * d;
        const tensor<3> qkv = test::random_tensor<3>({batch, seq, 3 * hidden}, std::uint32_t(seq), -2.0f, 2.0f);
        inputs in = make_inputs(batch, seq, heads, d);
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t t = 0; t < seq; ++t)
                for (std::size_t e = 0; e < hidden; ++e) {
                    in.q(b, t, e) = qkv(b, t, e);
                    in.k(b, t, e) = qkv(b, t, hidden + e);
                    in.v(b, t, e) = qkv(b, t, 2 * hidden + e);
                }
        const std::vector<std::int64_t> padding = right_padding(seq, {0, 5});
        const float sentinel = 12345.0f;
        tensor<3> wide({batch, seq, 2 * hidden});  // out in the first half of each row
        test::check_op(
            [&] {
                wide.fill(sentinel);
                const ops::token_rows<const float> rows{qkv.data(), 3 * hidden, seq * 3 * hidden};
                ops::attention(rows, {rows.data + hidden, rows.row_stride, rows.batch_stride},
                               {rows.data + 2 * hidden, rows.row_stride, rows.batch_stride}, in.shape, {true, padding.data()}, {},
                               default_scale(in), {wide.data(), 2 * hidden, seq * 2 * hidden});
                tensor<3> out({batch, seq, hidden});
                for (std::size_t b = 0; b < batch; ++b)
                    for (std::size_t t = 0; t < seq; ++t)
                        for (std::size_t e = 0; e < hidden; ++e) {
                            out(b, t, e) = wide(b, t, e);
                            REQUIRE(wide(b, t, hidden + e) == sentinel);
                        }
                return out;
            },
            expected_of(in, true, padding), "packed qkv, causal and padded");
    }
}

TEST_CASE("ops.attention: additive bias, full and broadcast over batch or heads" * doctest::test_suite("unit")) {
    const inputs in = make_inputs(2, 37, 611, 3, 5);
    check_attention(in, false, {}, "bias [batch, heads, q, kv]", make_bias(2, 3, 37, 611));
    check_attention(in, false, {}, "bias [1, heads, q, kv]: broadcast over batch", make_bias(1, 3, 37, 611));
    check_attention(in, false, {}, "bias [batch, 1, q, kv]: broadcast over heads", make_bias(2, 1, 37, 611));
    check_attention(in, false, {}, "bias [1, 1, q, kv]", make_bias(1, 1, 37, 611));
    check_attention(make_inputs(2, 1, 50, 2, 8), false, {}, "one query with a bias", make_bias(2, 2, 1, 50));
}

TEST_CASE("ops.attention: additive bias with causal and padding masks" * doctest::test_suite("unit")) {
    // scores * scale + bias + finfo.min per mask, each step in float32 as in HF.
    std::vector<std::int64_t> padding = right_padding(600, {0, 40});
    for (std::size_t j = 0; j < 590; ++j) padding[j] = 0;  // item 0 left-padded: its first queries see only masked keys
    check_attention(make_inputs(2, 600, 2, 4), true, padding, "bias [batch, heads], causal, left and right padding",
                    make_bias(2, 2, 600, 600));
    check_attention(make_inputs(2, 600, 2, 4), true, padding, "bias [1, heads], causal, left and right padding",
                    make_bias(1, 2, 600, 600));
}

TEST_CASE("ops.attention: bias rows scaled per query give the bits of the scaled bias stored" * doctest::test_suite("unit")) {
    // WavLM's gates: bias [1, heads, q, kv] shared by the batch, row_scale [batch, heads, q];
    // 600 keys and 70 queries cross both block sizes.
    const std::size_t batch = 2, heads = 2, q_len = 70, kv_len = 600;
    const inputs in = make_inputs(batch, q_len, kv_len, heads, 4);
    const tensor<4> bias = make_bias(1, heads, q_len, kv_len);
    tensor<3> row_scale = test::random_tensor<3>({batch, heads, q_len}, 5, 0.5f, 2.0f);
    row_scale(1, 0, 3) = 1.0f;  // a factor of exactly 1 takes the unscaled loop
    tensor<4> stored({batch, heads, q_len, kv_len});
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t h = 0; h < heads; ++h)
            for (std::size_t i = 0; i < q_len; ++i)
                for (std::size_t j = 0; j < kv_len; ++j) stored(b, h, i, j) = row_scale(b, h, i) * bias(0, h, i, j);
    const std::vector<std::int64_t> padding = right_padding(kv_len, {0, 45});
    const auto& s = in.shape;
    for (const mmt::precision products : {mmt::precision::f32, mmt::precision::bf16}) {
        CAPTURE(precision_name(products));
        tensor<3> out = test::nan_tensor<3>({batch, q_len, s.hidden()});
        ops::attention(ops::dense_rows(in.q.data(), q_len, s.hidden()), ops::dense_rows(in.k.data(), kv_len, s.hidden()),
                       ops::dense_rows(in.v.data(), kv_len, s.hidden()), s, {false, padding.data()},
                       {bias.data(), 1, heads, row_scale.data()}, default_scale(in), ops::dense_rows(out.data(), q_len, s.hidden()),
                       products);
        CHECK(out == run(in, {false, padding.data()}, stored, products));
    }
    test::check_throws<shape_error>(
        [&] {
            ops::attention(ops::dense_rows(in.q.data(), q_len, s.hidden()), ops::dense_rows(in.k.data(), kv_len, s.hidden()),
                           ops::dense_rows(in.v.data(), kv_len, s.hidden()), s, {}, {nullptr, 1, 1, row_scale.data()}, 1.0f,
                           ops::dense_rows(test::nan_tensor<3>({batch, q_len, s.hidden()}).data(), q_len, s.hidden()));
        },
        {"attention: bias row scales given without a bias to scale"});
}

TEST_CASE("ops.attention: enough (batch, head) pairs for two threads" * doctest::test_suite("unit")) {
    check_attention(make_inputs(3, 61, 4, 16), true, right_padding(61, {3, 0, 60}), "causal + padding, 3 x 61 tokens, 4 heads of 16");
}

TEST_CASE("ops.attention: bf16 products" * doctest::test_suite("unit")) {
    check_bf16_products(make_inputs(1, 1, 1, 1), false, {}, "one token, one head of 1");
    check_bf16_products(make_inputs(2, 37, 3, 5), false, {}, "2 x 37 tokens, 3 heads of 5 (an odd pair)");
    check_bf16_products(make_inputs(1, 77, 2, 64), false, {}, "77 tokens, 2 heads of 64");
    check_bf16_products(make_inputs(1, 1201, 1, 4), false, {}, "1,201 tokens: three key blocks, the last partial");
    check_bf16_products(make_inputs(1, 700, 1, 8), true, {}, "causal, 700 tokens");
    check_bf16_products(make_inputs(2, 77, 2, 64), true, right_padding(77, {0, 30}), "causal, 2 x 77 tokens padded 0 and 30 (CLIP text's)");
    check_bf16_products(make_inputs(2, 150, 2, 8), false, right_padding(150, {0, 99}), "padding 0 and 99 of 150 keys");
    check_bf16_products(make_inputs(2, 9, 11, 2, 5), false, {}, "9 queries over 11 keys, with a bias", make_bias(2, 2, 9, 11));
}

TEST_CASE("ops.attention: refuses products in int8" * doctest::test_suite("unit")) {
    const inputs in = make_inputs(1, 3, 1, 4);
    test::check_throws<input_error>([&] { run(in, {}, {}, mmt::precision::int8); }, {"attention: products in int8, expected f32 or bf16"});
}

TEST_CASE("ops.attention: refuses a scale that is not positive" * doctest::test_suite("unit")) {
    const inputs in = make_inputs(1, 3, 1, 2);
    const auto& s = in.shape;
    tensor<3> out(in.q.shape());
    for (float scale : {0.0f, -0.5f, std::numeric_limits<float>::quiet_NaN()}) {
        CAPTURE(scale);
        test::check_throws<input_error>(
            [&] {
                ops::attention(ops::dense_rows(in.q.data(), 3, 2), ops::dense_rows(in.k.data(), 3, 2), ops::dense_rows(in.v.data(), 3, 2),
                               s, {}, {}, scale, ops::dense_rows(out.data(), 3, 2));
            },
            {"attention: scale must be positive, got "});
    }
}

TEST_CASE("ops.attention: refuses shapes and strides that do not fit" * doctest::test_suite("unit")) {
    const inputs in = make_inputs(2, 3, 5, 2, 4);  // hidden 8
    tensor<3> out({2, 3, 8});
    const tensor<4> bias = make_bias(2, 3, 3, 5);
    auto call = [&](ops::attention_shape s, const ops::attention_mask& mask, const ops::attention_bias& b, std::size_t q_stride,
                    std::size_t out_batch_stride) {
        ops::attention({in.q.data(), q_stride, 3 * q_stride}, ops::dense_rows(in.k.data(), 5, 8), ops::dense_rows(in.v.data(), 5, 8), s,
                       mask, b, 0.5f, {out.data(), 8, out_batch_stride});
    };
    const ops::attention_shape s = in.shape;
    test::check_throws<shape_error>([&] { call(s, {true, nullptr}, {}, 8, 24); },
                                    {"causal mask needs as many queries as keys, got 3 queries and 5 keys"});
    test::check_throws<shape_error>([&] { call(s, {}, {bias.data(), 2, 3}, 8, 24); },
                                    {"bias has shape [2, 3, 3, 5], expected [1 or 2, 1 or 2, 3, 5]"});
    test::check_throws<shape_error>([&] { call(s, {}, {}, 7, 24); },
                                    {"q has row stride 7, expected at least num_heads * head_dim = 8"});
    test::check_throws<shape_error>([&] { call(s, {}, {}, 8, 8); },
                                    {"out has batch stride 8, expected at least q_len * row stride = 24"});
    ops::attention_shape no_keys = s;
    no_keys.kv_len = 0;
    test::check_throws<shape_error>([&] { call(no_keys, {}, {}, 8, 24); }, {"3 queries over no keys, expected kv_len >= 1"});
}
