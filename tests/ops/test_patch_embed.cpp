// ops::patch_embed against a naive direct Conv2d (stride = kernel = patch).
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <string>

#include "mmt/ops/patch_embed.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"

using namespace mmt;

namespace {

void check_patch_embed(const ops::patch_shape& s, std::size_t hidden, bool bias, const std::string& what) {
    const auto seed = std::uint32_t(s.batch * 7919 + s.channels * 997 + s.height * 97 + s.width * 13 + s.patch + hidden);
    const tensor<4> pixels = test::random_tensor<4>({s.batch, s.channels, s.height, s.width}, seed);
    const float bound = 1.0f / std::sqrt(float(s.patch_dim()));
    const tensor<4> w = test::random_tensor<4>({hidden, s.channels, s.patch, s.patch}, seed + 1, -bound, bound);
    const tensor<1> b = bias ? test::random_tensor<1>({hidden}, seed + 2) : tensor<1>();
    const auto expected = test::naive::patch_conv(test::naive::to_double(pixels), test::naive::to_double(w), test::naive::to_double(b));
    test::check_op(
        [&] {
            tensor<3> out({s.batch, s.num_patches(), hidden});
            ops::patch_embed(pixels.data(), s, w.data(), bias ? b.data() : nullptr, hidden, out.data());
            return out;
        },
        expected, what);
}

}  // namespace

TEST_CASE("ops.patch_embed: one pixel, one patch, one channel" * doctest::test_suite("unit")) {
    check_patch_embed({1, 1, 1, 1, 1}, 1, true, "1x1 image, patch 1, hidden 1");
}

TEST_CASE("ops.patch_embed: image a multiple of the patch" * doctest::test_suite("unit")) {
    check_patch_embed({2, 3, 30, 30, 6}, 37, true, "2 x 3x30x30, patch 6, hidden 37");
    check_patch_embed({1, 3, 32, 16, 16}, 61, false, "3x32x16, patch 16, hidden 61, no bias");
    check_patch_embed({1, 2, 5, 15, 5}, 17, true, "2x5x15, patch 5, a 1 x 3 grid");
}

TEST_CASE("ops.patch_embed: trailing rows and columns that do not fill a patch are dropped" * doctest::test_suite("unit")) {
    // As PyTorch's Conv2d without padding: 31 x 29 with patch 6 gives a 5 x 4 grid.
    check_patch_embed({1, 3, 31, 29, 6}, 17, true, "3x31x29, patch 6");
    check_patch_embed({2, 1, 7, 13, 3}, 5, false, "2 x 1x7x13, patch 3, no bias");
}

TEST_CASE("ops.patch_embed: large enough to split between threads" * doctest::test_suite("unit")) {
    check_patch_embed({2, 3, 37, 37, 6}, 70, true, "2 x 3x37x37, patch 6, hidden 70");
}
