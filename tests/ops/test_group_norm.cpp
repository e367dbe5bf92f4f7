// ops::group_norm against a naive double-precision nn.GroupNorm (channels-last data).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "mmt/ops/group_norm.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

// x: [batch, length, channels]; each group of channels normalised over all its values of one batch item.
test::naive::array naive_group_norm(const test::naive::array& x, std::size_t groups, const test::naive::array& w,
                                    const test::naive::array& b, double eps) {
    const std::size_t batch = x.shape(0), length = x.shape(1), channels = x.shape(2), per = channels / groups;
    auto y = test::naive::zeros({batch, length, channels});
    for (std::size_t n = 0; n < batch; ++n)
        for (std::size_t g = 0; g < groups; ++g) {
            double mean = 0, var = 0;
            for (std::size_t t = 0; t < length; ++t)
                for (std::size_t c = g * per; c < (g + 1) * per; ++c) mean += x(n, t, c);
            mean /= double(length * per);
            for (std::size_t t = 0; t < length; ++t)
                for (std::size_t c = g * per; c < (g + 1) * per; ++c) var += (x(n, t, c) - mean) * (x(n, t, c) - mean);
            var /= double(length * per);
            for (std::size_t t = 0; t < length; ++t)
                for (std::size_t c = g * per; c < (g + 1) * per; ++c)
                    y(n, t, c) = (x(n, t, c) - mean) / std::sqrt(var + eps) * w(c) + b(c);
        }
    return y;
}

void check_group_norm(std::size_t batch, std::size_t length, std::size_t channels, std::size_t groups, float offset,
                      const std::string& what) {
    const auto seed = std::uint32_t(batch * 1009 + length * 31 + channels * 7 + groups);
    const tensor<3> x = test::random_tensor<3>({batch, length, channels}, seed, offset - 1.0f, offset + 1.0f);
    const tensor<1> w = test::random_tensor<1>({channels}, seed + 1, 0.5f, 1.5f);
    const tensor<1> b = test::random_tensor<1>({channels}, seed + 2);
    const auto expected = naive_group_norm(test::naive::to_double(x), groups, test::naive::to_double(w), test::naive::to_double(b), 1e-5);
    test::check_op(
        [&] {
            tensor<3> y(x.shape());
            ops::group_norm(x.data(), batch, length, channels, groups, w.data(), b.data(), 1e-5f, y.data());
            return y;
        },
        expected, what);
    test::check_op(
        [&] {
            tensor<3> y = x;
            ops::group_norm(y.data(), batch, length, channels, groups, w.data(), b.data(), 1e-5f, y.data());
            return y;
        },
        expected, what + ", in place");
}

}  // namespace

TEST_CASE("ops.group_norm: one group per channel, as wav2vec2's first conv" * doctest::test_suite("unit")) {
    check_group_norm(1, 1, 1, 1, 0.0f, "1 frame, 1 channel");
    check_group_norm(2, 37, 24, 24, 2.0f, "2 x 37 frames, 24 channels each its own group, offset 2");
    check_group_norm(1, 1601, 61, 61, -1.0f, "1601 frames, 61 channels");
    // Mean and variance from one pass of double sums: here the variance (1/3) is 3e-5
    // of the mean square, so float sums would lose it to cancellation.
    check_group_norm(1, 1601, 8, 8, 100.0f, "offset 100");
}

TEST_CASE("ops.group_norm: several channels per group" * doctest::test_suite("unit")) {
    check_group_norm(2, 17, 12, 3, 0.5f, "12 channels in 3 groups");
    check_group_norm(1, 5, 7, 1, 0.0f, "one group: LayerNorm over everything");
}

TEST_CASE("ops.group_norm: a fused activation equals the activation applied afterwards" * doctest::test_suite("unit")) {
    const tensor<3> x = test::random_tensor<3>({2, 1601, 61}, 5, -1.0f, 1.0f);
    const tensor<1> w = test::random_tensor<1>({61}, 6, 0.5f, 1.5f), b = test::random_tensor<1>({61}, 7);
    tensor<3> fused(x.shape()), separate(x.shape());
    ops::group_norm(x.data(), 2, 1601, 61, 61, w.data(), b.data(), 1e-5f, fused.data(), ops::activation::gelu);
    ops::group_norm(x.data(), 2, 1601, 61, 61, w.data(), b.data(), 1e-5f, separate.data());
    ops::apply_activation(ops::activation::gelu, separate.data(), separate.size());
    CHECK(std::equal(fused.begin(), fused.end(), separate.begin()));
}

TEST_CASE("ops.group_norm: channels not divisible into the groups" * doctest::test_suite("unit")) {
    const tensor<3> x({1, 2, 6});
    test::check_throws<shape_error>(
        [&] { ops::group_norm(x.data(), 1, 2, 6, 4, x.data(), x.data(), 1e-5f, nullptr); },
        {"group_norm", "6 channels are not divisible into 4 groups"});
}
