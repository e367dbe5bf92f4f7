// ops::softmax against a naive double-precision softmax, under every kernel
// family the CPU has.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "mmt/ops/softmax.hpp"
#include "support/kernels.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"

using namespace mmt;

namespace {

void check_softmax(const tensor<2>& x, const std::string& what) {
    const auto expected = test::naive::softmax(test::naive::to_double(x));
    test::for_each_kernel([&](kernel_isa isa) {
        test::check_op(
            [&] {
                tensor<2> y = x;
                ops::softmax(y.data(), y.shape(0), y.shape(1));
                return y;
            },
            expected, what + " (" + kernel_name(isa) + ")");
    });
}

}  // namespace

TEST_CASE("ops.softmax: awkward row lengths" * doctest::test_suite("unit")) {
    check_softmax(test::random_tensor<2>({1, 1}, 1, -5.0f, 5.0f), "1 row of 1");
    check_softmax(test::random_tensor<2>({1, 37}, 2, -5.0f, 5.0f), "1 row of 37");
    check_softmax(test::random_tensor<2>({61, 17}, 3, -20.0f, 20.0f), "61 rows of 17");
    check_softmax(test::random_tensor<2>({3, 16}, 4, -5.0f, 5.0f), "3 rows of 16");
}

TEST_CASE("ops.softmax: large scores do not overflow" * doctest::test_suite("unit")) {
    // exp(100) overflows float: only a max-shifted softmax stays finite.
    check_softmax(test::random_tensor<2>({4, 37}, 5, 90.0f, 110.0f), "scores in [90, 110]");
    check_softmax(test::random_tensor<2>({4, 37}, 6, -1010.0f, -990.0f), "scores in [-1010, -990]");
}

TEST_CASE("ops.softmax: a row of float's lowest value is uniform" * doctest::test_suite("unit")) {
    // What an attention row whose keys are all masked holds.
    tensor<2> x({2, 37});
    x.fill(std::numeric_limits<float>::lowest());
    check_softmax(x, "2 rows of lowest");
    tensor<2> y = x;
    ops::softmax(y.data(), 2, 37);
    CHECK(y(1, 36) == doctest::Approx(1.0 / 37));
}

TEST_CASE("ops.softmax_row: the scale attention folds in, over rows of every remainder" * doctest::test_suite("unit")) {
    // Lengths around the 16- and 32-wide steps, and 1,499 (wav2vec2 at 30 s).
    for (const std::size_t n : {std::size_t(15), std::size_t(48), std::size_t(100), std::size_t(1499)}) {
        const float scale = 0.125f;
        const tensor<2> x = test::random_tensor<2>({3, n}, std::uint32_t(n), -40.0f, 40.0f);
        tensor<2> scaled = x;
        for (float& v : scaled) v *= scale;
        test::for_each_kernel([&](kernel_isa isa) {
            test::check_op(
                [&] {
                    tensor<2> y = x;
                    for (std::size_t r = 0; r < 3; ++r) ops::softmax_row(&y(r, 0), n, scale);
                    return y;
                },
                test::naive::softmax(test::naive::to_double(scaled)),
                "softmax of 0.125 x, rows of " + std::to_string(n) + " (" + kernel_name(isa) + ")");
        });
    }
}
