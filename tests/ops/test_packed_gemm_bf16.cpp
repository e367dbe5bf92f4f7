// ops::gemm_packed_bf16 against the same product with x and W rounded to bf16
// first and accumulated in double: only the accumulation order may differ.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <string>

#include "mmt/core/dtype.hpp"
#include "mmt/ops/packed_gemm_bf16.hpp"
#include "support/check_close.hpp"
#include "support/kernels.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

namespace {
tensor<2> rounded_to_bf16(tensor<2> t) {
    for (auto& v : t) v = bf16_to_float(float_to_bf16(v));
    return t;
}

void check_bf16(std::size_t rows, std::size_t in, std::size_t out, const std::string& what) {
    const auto seed = std::uint32_t(rows * 31 + in * 7 + out);
    const tensor<2> x = test::random_tensor<2>({rows, in}, seed);
    const float bound = 1.0f / std::sqrt(float(in));
    const tensor<2> w = test::random_tensor<2>({out, in}, seed + 1, -bound, bound);
    const tensor<1> b = test::random_tensor<1>({out}, seed + 2, -bound, bound);
    const auto expected = test::naive::linear(test::naive::to_double(rounded_to_bf16(x)), test::naive::to_double(rounded_to_bf16(w)),
                                              test::naive::to_double(b));
    const ops::packed_weights_bf16 packed(w.data(), out, in);
    test::for_each_kernel([&](kernel_isa) {
        tensor<2> y({rows, out});
        ops::gemm_packed_bf16(x.data(), rows, packed, b.data(), y.data());
        test::check_close(y, expected, test::tol::op_abs, what + " (" + ops::packed_gemm_bf16_kernel() + ")");
    });
}
}  // namespace

TEST_CASE("ops.packed_gemm_bf16: odd sizes, odd depth, several panels" * doctest::test_suite("unit")) {
    check_bf16(1, 1, 1, "1x1 -> 1");
    check_bf16(9, 61, 37, "9 rows, 61 -> 37 (odd depth)");
    check_bf16(50, 768, 100, "50 rows, 768 -> 100");
    check_bf16(37, 13, 97, "37 rows, 13 -> 97 (two panels and one column)");
    check_bf16(5, 1100, 49, "5 rows, 1100 -> 49 (three k blocks)");
    check_bf16(500, 600, 100, "500 rows (three row blocks), 600 -> 100 (two k blocks)");
}
