// ops::attention against a naive double-precision attention with HF's additive
// masks (each mask that hides a key adds float32's lowest value to its score).
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mmt/ops/attention.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"

using namespace mmt;

namespace {

struct inputs {
    ops::attention_shape shape;
    tensor<3> q, k, v;  // [batch, seq_len, num_heads * head_dim]
};

inputs make_inputs(std::size_t batch, std::size_t seq_len, std::size_t num_heads, std::size_t head_dim) {
    const ops::attention_shape s{batch, seq_len, num_heads, head_dim};
    const auto seed = std::uint32_t(batch * 1000003 + seq_len * 1009 + num_heads * 31 + head_dim);
    // Scores of a few units, as in a trained model, so the softmax is far from uniform.
    return {s, test::random_tensor<3>({batch, seq_len, s.hidden()}, seed, -2.0f, 2.0f),
            test::random_tensor<3>({batch, seq_len, s.hidden()}, seed + 1, -2.0f, 2.0f),
            test::random_tensor<3>({batch, seq_len, s.hidden()}, seed + 2)};
}

// Runs the op and returns the naive twin's answer for the same inputs.
void check_attention(const inputs& in, bool causal, const std::vector<std::int64_t>& padding, const std::string& what) {
    const float scale = 1.0f / std::sqrt(float(in.shape.head_dim));
    const auto expected = test::naive::attention(test::naive::to_double(in.q), test::naive::to_double(in.k),
                                                 test::naive::to_double(in.v), in.shape.num_heads, causal, padding, scale);
    test::check_op(
        [&] {
            tensor<3> out(in.q.shape());
            ops::attention(in.q.data(), in.k.data(), in.v.data(), in.shape, {causal, padding.empty() ? nullptr : padding.data()},
                           scale, out.data());
            return out;
        },
        expected, what);
}

// [batch, seq_len] mask with the last `padded[b]` keys of row b padded (right padding, as tokenizers pad).
std::vector<std::int64_t> right_padding(std::size_t seq_len, const std::vector<std::size_t>& padded) {
    std::vector<std::int64_t> mask;
    for (std::size_t n : padded)
        for (std::size_t j = 0; j < seq_len; ++j) mask.push_back(j + n < seq_len ? 1 : 0);
    return mask;
}

}  // namespace

TEST_CASE("ops.attention: no mask" * doctest::test_suite("unit")) {
    check_attention(make_inputs(1, 1, 1, 1), false, {}, "one token, one head of 1");
    check_attention(make_inputs(2, 37, 3, 5), false, {}, "2 x 37 tokens, 3 heads of 5");
    check_attention(make_inputs(1, 17, 1, 37), false, {}, "17 tokens, 1 head of 37");
    check_attention(make_inputs(3, 16, 2, 16), false, {}, "3 x 16 tokens, 2 heads of 16");
    check_attention(make_inputs(2, 150, 2, 8), false, {}, "2 x 150 tokens: query blocks of 64, the last partial");
}

TEST_CASE("ops.attention: causal" * doctest::test_suite("unit")) {
    check_attention(make_inputs(1, 1, 1, 1), true, {}, "causal, one token");
    check_attention(make_inputs(2, 37, 3, 5), true, {}, "causal, 2 x 37 tokens, 3 heads of 5");
    check_attention(make_inputs(1, 61, 2, 8), true, {}, "causal, 61 tokens, 2 heads of 8");
    check_attention(make_inputs(1, 150, 2, 8), true, {}, "causal, 150 tokens: queries past the first block");
}

TEST_CASE("ops.attention: key padding" * doctest::test_suite("unit")) {
    check_attention(make_inputs(3, 37, 3, 5), false, right_padding(37, {0, 1, 30}), "padding 0, 1 and 30 of 37 keys");
    check_attention(make_inputs(2, 1, 2, 3), false, right_padding(1, {0, 0}), "one unpadded token");
    check_attention(make_inputs(2, 150, 2, 8), false, right_padding(150, {0, 99}), "padding 0 and 99 of 150 keys");
}

TEST_CASE("ops.attention: causal and key padding together" * doctest::test_suite("unit")) {
    check_attention(make_inputs(3, 17, 3, 4), true, right_padding(17, {0, 5, 16}), "causal, right padding 0, 5 and 16 of 17");
    // Left padding: the first queries see only padded keys. HF adds finfo.min for the causal
    // mask and again for the padding mask, so a key hidden by both overflows to -inf and such
    // a query spreads its weight over the keys hidden only once.
    std::vector<std::int64_t> left(2 * 9, 1);
    for (std::size_t j = 0; j < 4; ++j) left[9 + j] = 0;
    left[9 + 6] = 0;  // and a gap in the middle
    check_attention(make_inputs(2, 9, 2, 3), true, left, "causal, left padding 4 of 9 and a gap");
}

TEST_CASE("ops.attention: a query whose keys are all padded gets uniform weights" * doctest::test_suite("unit")) {
    // HF adds finfo(float32).min to each padded key's score: every score becomes that same
    // value, so the softmax is uniform and the output is the mean of the values.
    const inputs in = make_inputs(2, 7, 2, 3);
    const std::vector<std::int64_t> padding = right_padding(7, {0, 7});  // row 1 fully padded
    check_attention(in, false, padding, "row 1 fully padded");

    tensor<3> out(in.q.shape());
    ops::attention(in.q.data(), in.k.data(), in.v.data(), in.shape, {false, padding.data()}, 1.0f / std::sqrt(3.0f), out.data());
    for (std::size_t e = 0; e < in.shape.hidden(); ++e) {
        double mean = 0;
        for (std::size_t j = 0; j < 7; ++j) mean += in.v(1, j, e);
        CHECK(out(1, 4, e) == doctest::Approx(mean / 7).epsilon(1e-5));
    }
}

TEST_CASE("ops.attention: enough (batch, head) pairs for two threads" * doctest::test_suite("unit")) {
    check_attention(make_inputs(3, 61, 4, 16), true, right_padding(61, {3, 0, 60}), "causal + padding, 3 x 61 tokens, 4 heads of 16");
}
