// ops::layer_norm against a naive double-precision nn.LayerNorm.
#include <doctest/doctest.h>

#include <cstddef>
#include <string>

#include "mmt/ops/layer_norm.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"

using namespace mmt;

namespace {

// `offset` shifts the inputs away from zero, so a mean left out of the variance shows.
void check_layer_norm(std::size_t rows, std::size_t dim, float eps, float offset, const std::string& what) {
    const auto seed = std::uint32_t(rows * 1009 + dim);
    const tensor<2> x = test::random_tensor<2>({rows, dim}, seed, offset - 1.0f, offset + 1.0f);
    const tensor<1> w = test::random_tensor<1>({dim}, seed + 1, 0.5f, 1.5f);
    const tensor<1> b = test::random_tensor<1>({dim}, seed + 2);
    const auto expected = test::naive::layer_norm(test::naive::to_double(x), test::naive::to_double(w), test::naive::to_double(b), eps);
    test::check_op(
        [&] {
            tensor<2> y({rows, dim});
            ops::layer_norm(x.data(), rows, dim, w.data(), b.data(), eps, y.data());
            return y;
        },
        expected, what);
    test::check_op(
        [&] {
            tensor<2> y = x;  // documented to work in place
            ops::layer_norm(y.data(), rows, dim, w.data(), b.data(), eps, y.data());
            return y;
        },
        expected, what + ", in place");
}

}  // namespace

TEST_CASE("ops.layer_norm: hidden size 1 gives the bias" * doctest::test_suite("unit")) {
    check_layer_norm(1, 1, 1e-5f, 0.0f, "1 row of 1");
    check_layer_norm(3, 1, 1e-12f, 2.0f, "3 rows of 1");
}

TEST_CASE("ops.layer_norm: odd hidden size" * doctest::test_suite("unit")) {
    check_layer_norm(1, 37, 1e-5f, 0.0f, "1 row of 37");
    check_layer_norm(5, 61, 1e-12f, 3.0f, "5 rows of 61, eps 1e-12, offset 3");
    check_layer_norm(2, 17, 1e-5f, -2.0f, "2 rows of 17, offset -2");
}

TEST_CASE("ops.layer_norm: eps matters for a near-constant row" * doctest::test_suite("unit")) {
    // Values within 1e-3 of each other: the variance (~1e-7) is below eps = 1e-5, so a misplaced eps shows.
    const std::size_t dim = 37;
    const tensor<2> x = test::random_tensor<2>({2, dim}, 7, 0.5f, 0.501f);
    const tensor<1> w = test::random_tensor<1>({dim}, 8, 0.5f, 1.5f);
    const tensor<1> b = test::random_tensor<1>({dim}, 9);
    const auto expected = test::naive::layer_norm(test::naive::to_double(x), test::naive::to_double(w), test::naive::to_double(b), 1e-5);
    test::check_op(
        [&] {
            tensor<2> y({2, dim});
            ops::layer_norm(x.data(), 2, dim, w.data(), b.data(), 1e-5f, y.data());
            return y;
        },
        expected, "2 rows of 37, spread 1e-3");
}

TEST_CASE("ops.layer_norm: enough rows to split between threads" * doctest::test_suite("unit")) {
    check_layer_norm(130, 48, 1e-5f, 0.5f, "130 rows of 48");
    check_layer_norm(67, 16, 1e-5f, 0.0f, "67 rows of 16");
}
