// layers::linear's fused forms, act(x W^T + b) and residual + x W^T + b, against the
// plain forward followed by the separate pass the layers made before, bit for bit,
// in every precision and kernel; and a residual of the wrong shape refused. The
// feed-forward block's runs of rows against the whole input.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "mmt/layers/feed_forward.hpp"
#include "mmt/layers/linear.hpp"
#include "support/kernels.hpp"
#include "support/random.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

// [out, in] uniform in +-1/sqrt(in), with a bias, packed in `p`.
layers::linear packed_linear(std::size_t in, std::size_t out, mmt::precision p, std::uint32_t seed) {
    const float bound = 1.0f / std::sqrt(float(in));
    const tensor<2> w = test::random_tensor<2>({out, in}, seed, -bound, bound);
    layers::linear l;
    l.weight = ops::pack_weights(w.data(), out, in, p);
    l.bias = test::random_tensor<1>({out}, seed + 1, -bound, bound);
    return l;
}

}  // namespace

TEST_CASE("layers.linear: the fused activation and residual add equal separate passes, bit for bit" * doctest::test_suite("unit")) {
    const std::size_t batch = 2, tokens = 19, in = 37, out = 61;
    const tensor<3> x = test::random_tensor<3>({batch, tokens, in}, 1, -2.0f, 2.0f);      // [batch, tokens, in]
    const tensor<3> residual = test::random_tensor<3>({batch, tokens, out}, 2);           // [batch, tokens, out]
    test::for_each_kernel([&](kernel_isa isa) {
        for (const mmt::precision p : {mmt::precision::f32, mmt::precision::bf16, mmt::precision::int8}) {
            INFO("precision ", int(p), ", kernel ", std::string(kernel_name(isa)));
            const layers::linear l = packed_linear(in, out, p, 3);
            tensor<3> activated = l.forward(x);  // [batch, tokens, out]
            ops::apply_activation(ops::activation::gelu, activated.data(), activated.size());
            const tensor<3> fused_act = l.forward(x, ops::activation::gelu);
            CHECK(std::equal(fused_act.begin(), fused_act.end(), activated.begin()));
            const tensor<3> added = residual + l.forward(x);
            const tensor<3> fused_add = l.forward_add(x, residual);
            CHECK(std::equal(fused_add.begin(), fused_add.end(), added.begin()));
        }
    });
}

TEST_CASE("layers.linear: a residual that is not the output's shape is refused" * doctest::test_suite("unit")) {
    const layers::linear l = packed_linear(8, 5, mmt::precision::f32, 4);
    const tensor<3> x = test::random_tensor<3>({2, 3, 8}, 5);
    test::check_throws<shape_error>([&] { (void)l.forward_add(x, tensor<3>({2, 3, 8})); },
                                    {"linear: residual's dimension 2 is 8, expected the output's 5"});
    test::check_throws<shape_error>([&] { (void)l.forward_add(x, tensor<3>({2, 4, 5})); },
                                    {"linear: residual's dimension 1 is 4, expected the output's 3"});
}

TEST_CASE("layers.feed_forward: an input past chunk_bytes goes through in runs of rows, each row's output unchanged" *
          doctest::test_suite("unit")) {
    const std::size_t batch = 2, tokens = 19, hidden = 16, intermediate = 40;  // 38 rows, 160 intermediate bytes a row
    const tensor<3> x = test::random_tensor<3>({batch, tokens, hidden}, 6, -2.0f, 2.0f);
    const tensor<3> residual = test::random_tensor<3>({batch, tokens, hidden}, 7);
    for (const mmt::precision p : {mmt::precision::f32, mmt::precision::bf16, mmt::precision::int8}) {
        INFO("precision ", precision_name(p));
        layers::feed_forward ffn{packed_linear(hidden, intermediate, p, 8), packed_linear(intermediate, hidden, p, 10), ops::activation::gelu};
        const tensor<3> by_hand = ffn.fc2.forward_add(ffn.fc1.forward(x, ffn.act), residual);
        CHECK(ffn.rows_per_run() >= batch * tokens);
        const tensor<3> whole = ffn.forward_add(x, residual);
        CHECK(std::equal(whole.begin(), whole.end(), by_hand.begin()));
        ffn.chunk_bytes = 5 * intermediate * sizeof(float);  // 38 rows as 7 runs of 5 and one of 3
        CHECK(ffn.rows_per_run() == 5);
        const tensor<3> in_runs = ffn.forward_add(x, residual);
        CHECK(std::equal(in_runs.begin(), in_runs.end(), by_hand.begin()));
        ffn.chunk_bytes = 1;  // less than a row: one at a time
        CHECK(ffn.rows_per_run() == 1);
        const tensor<3> by_row = ffn.forward_add(x, residual);
        CHECK(std::equal(by_row.begin(), by_row.end(), by_hand.begin()));
    }
    const layers::feed_forward ffn{packed_linear(hidden, intermediate, mmt::precision::f32, 8),
                                   packed_linear(intermediate, hidden, mmt::precision::f32, 10), ops::activation::gelu};
    test::check_throws<shape_error>([&] { (void)ffn.forward_add(x, tensor<3>({batch, tokens + 1, hidden})); },
                                    {"feed_forward: residual's dimension 1 is 20, expected the output's 19"});
    test::check_throws<shape_error>([&] { (void)ffn.forward_add(tensor<3>({batch, tokens, hidden + 1}), residual); },
                                    {"feed_forward: input's last dimension is 17, expected in_features = 16"});
}
