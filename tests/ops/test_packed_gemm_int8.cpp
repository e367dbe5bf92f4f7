// ops::gemm_packed_int8 against the same product computed in double from the
// values it quantises to (x per row over its range in 256 levels, W per channel
// symmetric in 255 levels): only float rounding of the rescale may differ.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "mmt/ops/packed_gemm_int8.hpp"
#include "support/check_close.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

namespace {
// Each row of x as min + s * round((v - min) / s), s = (max - min) / 255, its range widened to hold 0.
tensor<2> quantised_inputs(tensor<2> t) {
    for (std::size_t r = 0; r < t.shape(0); ++r) {
        float lo = 0, hi = 0;
        for (std::size_t i = 0; i < t.shape(1); ++i) lo = std::min(lo, t(r, i)), hi = std::max(hi, t(r, i));
        const float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
        for (std::size_t i = 0; i < t.shape(1); ++i) t(r, i) = lo + float(std::lround((t(r, i) - lo) / scale)) * scale;
    }
    return t;
}

// Each row of W quantised to round(v / s) * s with s = max |row| / 127.
tensor<2> quantised_rows(tensor<2> t) {
    for (std::size_t r = 0; r < t.shape(0); ++r) {
        float max = 0;
        for (std::size_t i = 0; i < t.shape(1); ++i) max = std::max(max, std::fabs(t(r, i)));
        const float scale = max > 0 ? max / 127.0f : 1.0f;
        for (std::size_t i = 0; i < t.shape(1); ++i) t(r, i) = float(std::lround(t(r, i) / scale)) * scale;
    }
    return t;
}

void check_int8(std::size_t rows, std::size_t in, std::size_t out, const std::string& what) {
    const auto seed = std::uint32_t(rows * 13 + in * 5 + out);
    const tensor<2> x = test::random_tensor<2>({rows, in}, seed);
    const float bound = 1.0f / std::sqrt(float(in));
    const tensor<2> w = test::random_tensor<2>({out, in}, seed + 1, -bound, bound);
    const tensor<1> b = test::random_tensor<1>({out}, seed + 2, -bound, bound);
    const auto expected = test::naive::linear(test::naive::to_double(quantised_inputs(x)), test::naive::to_double(quantised_rows(w)),
                                              test::naive::to_double(b));
    const ops::packed_weights_int8 packed(w.data(), out, in);
    for (auto kernel : {ops::gemm_kernel::best, ops::gemm_kernel::portable}) {
        tensor<2> y({rows, out});
        ops::gemm_packed_int8(x.data(), rows, packed, b.data(), y.data(), kernel);
        test::check_close(y, expected, test::tol::op_abs,
                          what + (kernel == ops::gemm_kernel::best ? std::string(" (") + ops::packed_gemm_int8_kernel() + ")" : " (portable)"));
    }
}
}  // namespace

TEST_CASE("ops.packed_gemm_int8: odd sizes, depth not a multiple of 4, several panels" * doctest::test_suite("unit")) {
    check_int8(1, 1, 1, "1x1 -> 1");
    check_int8(9, 61, 37, "9 rows, 61 -> 37");
    check_int8(50, 768, 100, "50 rows, 768 -> 100");
}

TEST_CASE("ops.packed_gemm_int8: a zero row and a zero weight row stay zero" * doctest::test_suite("unit")) {
    tensor<2> x = test::random_tensor<2>({3, 20}, 4);
    tensor<2> w = test::random_tensor<2>({5, 20}, 5);
    for (std::size_t i = 0; i < 20; ++i) x(1, i) = 0, w(2, i) = 0;
    const ops::packed_weights_int8 packed(w.data(), 5, 20);
    tensor<2> y({3, 5});
    ops::gemm_packed_int8(x.data(), 3, packed, nullptr, y.data());
    for (std::size_t j = 0; j < 5; ++j) CHECK(y(1, j) == 0.0f);
    for (std::size_t r = 0; r < 3; ++r) CHECK(y(r, 2) == 0.0f);
}
