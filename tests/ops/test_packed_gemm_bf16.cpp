// ops::gemm_packed_bf16 against the same product with x and W rounded to bf16
// first and accumulated in double: only the accumulation order may differ.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/dtype.hpp"
#include "mmt/ops/packed_gemm_bf16.hpp"
#include "support/check_close.hpp"
#include "support/kernels.hpp"
#include "support/naive.hpp"
#include "support/packing_shapes.hpp"
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
        tensor<2> y = test::nan_tensor<2>({rows, out});
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
    check_bf16(7, 33, 72, "7 rows, 33 -> 72 (a last panel of 24 columns)");
    check_bf16(5, 1100, 49, "5 rows, 1100 -> 49 (three k blocks)");
    check_bf16(500, 600, 100, "500 rows (three row blocks), 600 -> 100 (two k blocks)");
}

namespace {
// Random values with the bit patterns bf16 rounding treats apart placed among them:
// ties to even both ways, a carry into the exponent, the largest float (rounds to
// inf), infinities, quiet and signalling NaNs of both signs, zeros and subnormals.
tensor<2> with_special_values(std::size_t n, std::size_t k, std::uint32_t seed) {
    static const std::uint32_t special[] = {0x3f808000u, 0x3f818000u, 0x3f80ffffu, 0x7f7fffffu, 0x7f800000u, 0xff800000u, 0x7fc00000u,
                                            0x7f800001u, 0xffa00001u, 0x80000000u, 0x00000000u, 0x00000001u, 0x807fffffu, 0xbf7f8000u};
    tensor<2> t = test::random_tensor<2>({n, k}, seed, -3.0f, 3.0f);
    for (std::size_t i = 0; i < t.size(); i += 3) std::memcpy(t.data() + i, &special[(i / 3) % std::size(special)], 4);
    return t;
}
}  // namespace

TEST_CASE("ops.packed_gemm_bf16: every kernel packs float_to_bf16 of each weight, from rows or from columns, NaNs and ties included" *
          doctest::test_suite("unit")) {
    test::for_each_kernel_and_packing_shape([](std::size_t n, std::size_t k) {
        const tensor<2> w = with_special_values(n, k, std::uint32_t(9 + n + k));
        tensor<2> w_t({k, n});  // W^T, as attention packs V^T from V's rows
        for (std::size_t j = 0; j < n; ++j)
            for (std::size_t kk = 0; kk < k; ++kk) w_t(kk, j) = w(j, kk);
        ops::packed_weights_bf16 from_columns;
        from_columns.assign(w_t.data(), n, k, 1, n);
        const ops::packed_weights_bf16 from_rows(w.data(), n, k);
        for (const ops::packed_weights_bf16* packed : {&from_rows, &std::as_const(from_columns)}) {
            const std::string source = packed == &from_rows ? "from rows" : "from columns";
            INFO(source);
            std::size_t wrong = 0;
            for (std::size_t p = 0; p < packed->panels(); ++p)
                for (std::size_t kk = 0; kk < packed->pairs() * 2; ++kk)
                    for (std::size_t c = 0; c < 48; ++c) {
                        const std::size_t j = p * 48 + c;
                        const std::uint16_t expected = j < n && kk < k ? float_to_bf16(w(j, kk)) : 0;  // zeros past the edges
                        wrong += packed->panel_data(p)[(kk / 2) * 96 + c * 2 + kk % 2] != expected;
                    }
            CHECK(wrong == 0);
        }
    });
}

TEST_CASE("ops.packed_gemm_bf16: every kernel rounds x to the pairs of float_to_bf16" * doctest::test_suite("unit")) {
    for (const std::size_t k : {std::size_t(1), std::size_t(7), std::size_t(8), std::size_t(17), std::size_t(64), std::size_t(101)}) {
        const std::size_t m = 5, ldx = k + 3;
        const tensor<2> x = with_special_values(m, ldx, std::uint32_t(k));
        test::for_each_kernel([&](kernel_isa isa) {
            INFO("k ", k, ", kernel ", std::string(kernel_name(isa)));
            const auto prepared = ops::bf16_gemm::prepare(x.data(), m, ldx, k, isa);
            REQUIRE(prepared.lda == (k + 1) / 2);
            std::size_t wrong = 0;
            for (std::size_t r = 0; r < m; ++r)
                for (std::size_t kp = 0; kp < prepared.lda; ++kp) {
                    const std::uint32_t hi = 2 * kp + 1 < k ? float_to_bf16(x(r, 2 * kp + 1)) : 0u;
                    wrong += prepared.a[r * prepared.lda + kp] != (float_to_bf16(x(r, 2 * kp)) | (hi << 16));
                }
            CHECK(wrong == 0);
        });
    }
}
