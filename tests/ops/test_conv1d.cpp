// ops::conv1d against a naive double-precision nn.Conv1d (channels-first, PyTorch's weight layout).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "mmt/ops/conv1d.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

void check_conv1d(const ops::conv1d_shape& s, bool with_bias, const std::string& what) {
    const auto seed = std::uint32_t(s.batch * 7919 + s.length * 997 + s.in_channels * 97 + s.out_channels * 13 + s.kernel * 7 +
                                    s.stride * 3 + s.padding + s.groups);
    const tensor<3> x = test::random_tensor<3>({s.batch, s.length, s.in_channels}, seed);
    const float bound = 1.0f / std::sqrt(float(s.in_per_group() * s.kernel));
    const tensor<3> w = test::random_tensor<3>({s.out_channels, s.in_per_group(), s.kernel}, seed + 1, -bound, bound);
    const tensor<1> b = with_bias ? test::random_tensor<1>({s.out_channels}, seed + 2) : tensor<1>();
    const auto expected = test::naive::conv1d(test::naive::to_double(x), test::naive::to_double(w), test::naive::to_double(b), s);
    const ops::conv1d_weights prepared(w.data(), s.out_channels, s.in_per_group(), s.kernel, s.groups);
    test::check_op(
        [&] {
            tensor<3> y({s.batch, s.out_length(), s.out_channels});
            ops::conv1d(x.data(), s, prepared, with_bias ? b.data() : nullptr, y.data());
            return y;
        },
        expected, what);
}

}  // namespace

TEST_CASE("ops.conv1d: size-1 everything" * doctest::test_suite("unit")) {
    check_conv1d({1, 1, 1, 1, 1, 1, 0, 1}, true, "1 frame, 1 channel, kernel 1");
    check_conv1d({1, 3, 1, 1, 3, 1, 0, 1}, false, "3 frames, kernel 3: one output");
}

TEST_CASE("ops.conv1d: wav2vec2's strided feature-encoder layers" * doctest::test_suite("unit")) {
    // The first layer (1 channel, kernel 10, stride 5) and a later one (kernel 3, stride 2), odd lengths.
    check_conv1d({2, 401, 1, 37, 10, 5, 0, 1}, false, "2 x 401 samples, kernel 10, stride 5");
    check_conv1d({1, 79, 37, 24, 3, 2, 0, 1}, true, "79 frames, 37 -> 24 channels, kernel 3, stride 2");
    check_conv1d({1, 7, 5, 3, 2, 2, 0, 1}, true, "kernel 2, stride 2, odd length drops the last frame");
}

TEST_CASE("ops.conv1d: grouped, padded positional conv (even and odd kernels)" * doctest::test_suite("unit")) {
    check_conv1d({2, 23, 32, 32, 16, 1, 8, 4}, true, "32 channels in 4 groups, kernel 16, padding 8");
    check_conv1d({1, 17, 12, 12, 5, 1, 2, 3}, true, "12 channels in 3 groups, kernel 5, padding 2");
    check_conv1d({1, 3, 4, 4, 8, 1, 4, 2}, false, "padding wider than the input");
}

TEST_CASE("ops.conv1d: enough output frames for several blocks and threads" * doctest::test_suite("unit")) {
    check_conv1d({1, 4000, 3, 61, 10, 5, 0, 1}, true, "4000 samples, 3 -> 61 channels");
    check_conv1d({2, 1500, 48, 48, 3, 1, 1, 16}, false, "1500 frames, 16 groups of 3");
    // Ungrouped and unpadded: read in place, 3 blocks of frames in each of 2 batch items.
    check_conv1d({2, 6001, 3, 20, 3, 2, 0, 1}, true, "2 x 6001 frames, kernel 3, stride 2");
    // Ungrouped but padded: copied.
    check_conv1d({2, 50, 6, 8, 3, 1, 1, 1}, true, "50 frames, kernel 3, padding 1");
}

TEST_CASE("ops.conv1d: a kernel longer than the input gives no frames; bad shapes and weights are refused" * doctest::test_suite("unit")) {
    const ops::conv1d_shape short_input{1, 4, 1, 2, 10, 5, 0, 1};
    CHECK(short_input.out_length() == 0);
    const std::vector<float> x(4, 1.0f), w(20, 1.0f);
    const ops::conv1d_weights weights(w.data(), 2, 1, 10);
    CHECK_NOTHROW(ops::conv1d(x.data(), short_input, weights, nullptr, nullptr));
    test::check_throws<shape_error>([&] { ops::conv1d(x.data(), {1, 4, 3, 2, 1, 1, 0, 2}, weights, nullptr, nullptr); },
                                    {"conv1d", "3 input and 2 output channels are not divisible into 2 groups"});
    test::check_throws<shape_error>([&] { ops::conv1d(x.data(), {1, 4, 1, 1, 1, 0, 0, 1}, weights, nullptr, nullptr); },
                                    {"stride 0", "must all be at least 1"});
    test::check_throws<shape_error>([&] { ops::conv1d(x.data(), {1, 40, 1, 2, 9, 5, 0, 1}, weights, nullptr, nullptr); },
                                    {"conv1d: weights for 2 outputs, 1 inputs per group, kernel 10", "needs 2, 1, 9 and 1"});
    test::check_throws<shape_error>([&] { ops::conv1d_weights(w.data(), 3, 1, 2, 2); },
                                    {"3 output channels are not divisible into 2 groups"});
}

// With bf16 or int8 weights the convolution is exactly the reduced-precision GEMM
// of each group's im2col rows (tap-major: kernel x in_per_group) with the group's
// tap-major weight, written to the group's columns.
TEST_CASE("ops.conv1d: bf16 and int8 weights run their GEMM on each group's im2col rows" * doctest::test_suite("unit")) {
    for (const ops::conv1d_shape s : {ops::conv1d_shape{2, 401, 1, 37, 10, 5, 0, 1}, ops::conv1d_shape{1, 79, 37, 24, 3, 2, 0, 1},
                                      ops::conv1d_shape{2, 150, 48, 48, 4, 1, 2, 16}}) {
        const std::size_t cin = s.in_per_group(), cout = s.out_per_group();
        const tensor<3> x = test::random_tensor<3>({s.batch, s.length, s.in_channels}, 11);
        const tensor<3> w = test::random_tensor<3>({s.out_channels, cin, s.kernel}, 12, -0.3f, 0.3f);
        const tensor<1> b = test::random_tensor<1>({s.out_channels}, 13);
        const std::size_t frames = s.out_length(), depth = s.kernel * cin;
        for (const mmt::precision p : {mmt::precision::bf16, mmt::precision::int8}) {
            INFO("precision ", int(p), ", ", s.length, " frames in, ", s.groups, " groups");
            tensor<3> y({s.batch, frames, s.out_channels});
            ops::conv1d(x.data(), s, ops::conv1d_weights(w.data(), s.out_channels, cin, s.kernel, s.groups, p), b.data(), y.data());
            for (std::size_t g = 0; g < s.groups; ++g) {
                tensor<2> cols({s.batch * frames, depth}), tap_major({cout, depth});
                for (std::size_t n = 0; n < s.batch; ++n)
                    for (std::size_t t = 0; t < frames; ++t)
                        for (std::size_t k = 0; k < s.kernel; ++k) {
                            const long src = long(t * s.stride + k) - long(s.padding);
                            for (std::size_t i = 0; i < cin; ++i)
                                cols(n * frames + t, k * cin + i) = src >= 0 && src < long(s.length) ? x(n, std::size_t(src), g * cin + i) : 0.0f;
                        }
                for (std::size_t o = 0; o < cout; ++o)
                    for (std::size_t k = 0; k < s.kernel; ++k)
                        for (std::size_t i = 0; i < cin; ++i) tap_major(o, k * cin + i) = w(g * cout + o, i, k);
                tensor<2> expected({s.batch * frames, cout});
                ops::gemm_packed(cols.data(), s.batch * frames, ops::pack_weights(tap_major.data(), cout, depth, p), b.data() + g * cout,
                                 expected.data());
                for (std::size_t row = 0; row < s.batch * frames; ++row)
                    CHECK(std::equal(&expected(row, 0), &expected(row, 0) + cout, &y(row / frames, row % frames, g * cout)));
            }
        }
    }
}

// The fused activation is the activation applied to each output block as the GEMM
// leaves it: equal to running it over the whole output afterwards.
TEST_CASE("ops.conv1d: a fused activation equals the activation applied afterwards" * doctest::test_suite("unit")) {
    for (const ops::conv1d_shape s : {ops::conv1d_shape{1, 4000, 3, 61, 10, 5, 0, 1}, ops::conv1d_shape{2, 150, 48, 48, 3, 1, 1, 16}}) {
        const tensor<3> x = test::random_tensor<3>({s.batch, s.length, s.in_channels}, 21);
        const tensor<3> w = test::random_tensor<3>({s.out_channels, s.in_per_group(), s.kernel}, 22, -0.3f, 0.3f);
        const tensor<1> b = test::random_tensor<1>({s.out_channels}, 23);
        const ops::conv1d_weights prepared(w.data(), s.out_channels, s.in_per_group(), s.kernel, s.groups);
        for (const ops::activation act : {ops::activation::gelu, ops::activation::relu}) {
            INFO(s.groups, " groups, activation ", int(act));
            tensor<3> fused({s.batch, s.out_length(), s.out_channels}), separate(fused.shape());
            ops::conv1d(x.data(), s, prepared, b.data(), fused.data(), act);
            ops::conv1d(x.data(), s, prepared, b.data(), separate.data());
            ops::apply_activation(act, separate.data(), separate.size());
            CHECK(std::equal(fused.begin(), fused.end(), separate.begin()));
            const auto negative = std::count_if(fused.begin(), fused.end(), [](float v) { return v < 0.0f; });
            CHECK((act == ops::activation::gelu ? negative > 0 : negative == 0));  // the activation did run
        }
    }
}
