// ops::linear against a naive double-precision y = x W^T + b.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <string>

#include "mmt/ops/linear.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"

using namespace mmt;

namespace {

void check_linear(std::size_t rows, std::size_t in, std::size_t out, bool bias, const std::string& what) {
    const auto seed = std::uint32_t(rows * 10007 + in * 101 + out);
    const tensor<2> x = test::random_tensor<2>({rows, in}, seed);
    // nn.Linear's init range keeps the outputs of order 1 whatever `in` is, as in a real model.
    const float bound = 1.0f / std::sqrt(float(in));
    const tensor<2> w = test::random_tensor<2>({out, in}, seed + 1, -bound, bound);
    const tensor<1> b = bias ? test::random_tensor<1>({out}, seed + 2, -bound, bound) : tensor<1>();
    const auto expected = test::naive::linear(test::naive::to_double(x), test::naive::to_double(w), test::naive::to_double(b));
    test::check_op(
        [&] {
            tensor<2> y({rows, out});
            ops::linear(x.data(), rows, in, w.data(), bias ? b.data() : nullptr, out, y.data());
            return y;
        },
        expected, what);
}

}  // namespace

TEST_CASE("ops.linear: size 1 everywhere" * doctest::test_suite("unit")) { check_linear(1, 1, 1, true, "1x1 -> 1"); }

TEST_CASE("ops.linear: one row, odd widths" * doctest::test_suite("unit")) {
    check_linear(1, 37, 61, true, "rows=1, 37 -> 61");
    check_linear(1, 61, 37, false, "rows=1, 61 -> 37, no bias");
}

TEST_CASE("ops.linear: widths not a multiple of the SIMD width" * doctest::test_suite("unit")) {
    check_linear(37, 61, 1, true, "37 rows, 61 -> 1");
    check_linear(5, 16, 17, true, "5 rows, 16 -> 17");
    check_linear(3, 37, 37, false, "3 rows, 37 -> 37, no bias");
}

TEST_CASE("ops.linear: large enough to split the columns between threads" * doctest::test_suite("unit")) {
    // 61 * 77 * 131 multiply-adds is past the one-thread threshold, and 131 columns make three blocks.
    check_linear(61, 77, 131, true, "61 rows, 77 -> 131");
    check_linear(2, 1031, 129, false, "2 rows, 1031 -> 129, no bias");
}
