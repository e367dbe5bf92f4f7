// ops::gemm_packed (the GEMM of every loaded linear layer) against a naive
// double-precision y = x W^T + b, under every kernel family the CPU has.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "mmt/ops/activations.hpp"
#include "mmt/ops/packed_gemm.hpp"
#include "mmt/ops/packed_gemm_any.hpp"
#include "support/kernels.hpp"
#include "support/naive.hpp"
#include "support/packing_shapes.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

void check_packed(std::size_t rows, std::size_t in, std::size_t out, bool bias, const std::string& what) {
    const auto seed = std::uint32_t(rows * 7919 + in * 131 + out);
    const tensor<2> x = test::random_tensor<2>({rows, in}, seed);
    const float bound = 1.0f / std::sqrt(float(in));
    const tensor<2> w = test::random_tensor<2>({out, in}, seed + 1, -bound, bound);
    const tensor<1> b = bias ? test::random_tensor<1>({out}, seed + 2, -bound, bound) : tensor<1>();
    const ops::packed_weights packed(w.data(), out, in);
    const auto expected = test::naive::linear(test::naive::to_double(x), test::naive::to_double(w), test::naive::to_double(b));
    test::for_each_kernel([&](kernel_isa) {
        test::check_op(
            [&] {
                tensor<2> y = test::nan_tensor<2>({rows, out});
                ops::gemm_packed(x.data(), rows, packed, bias ? b.data() : nullptr, y.data());
                return y;
            },
            expected, what + " (" + ops::packed_gemm_kernel() + ")");
    });
}

// The epilogue against the passes the layers made before it was fused: the GEMM
// into a contiguous y, apply_activation over all of it, then residual + y. Bit for
// bit, in every precision and kernel, with y and the residual strided.
void check_epilogue(std::size_t rows, std::size_t in, std::size_t out, const std::string& what) {
    const auto seed = std::uint32_t(rows * 31 + in * 17 + out);
    const std::size_t ldy = out + 3, ld_residual = out + 5;
    const tensor<2> x = test::random_tensor<2>({rows, in}, seed, -2.0f, 2.0f);  // sums of a few units: both sides of every activation
    const tensor<2> w = test::random_tensor<2>({out, in}, seed + 1, -1.0f / std::sqrt(float(in)), 1.0f / std::sqrt(float(in)));
    const tensor<1> b = test::random_tensor<1>({out}, seed + 2);
    const tensor<2> residual = test::random_tensor<2>({rows, out}, seed + 3);
    std::vector<float> strided_residual(rows * ld_residual, 1e30f);  // gaps the epilogue must not read
    for (std::size_t r = 0; r < rows; ++r)
        std::copy(&residual(r, 0), &residual(r, 0) + out, strided_residual.begin() + std::ptrdiff_t(r * ld_residual));
    const std::optional<ops::activation> none;
    test::for_each_kernel([&](kernel_isa isa) {
        for (const mmt::precision p : {mmt::precision::f32, mmt::precision::bf16, mmt::precision::int8}) {
            const ops::any_packed_weights packed = ops::pack_weights(w.data(), out, in, p);
            for (const std::optional<ops::activation> act :
                 {none, std::optional(ops::activation::gelu), std::optional(ops::activation::gelu_new),
                  std::optional(ops::activation::quick_gelu), std::optional(ops::activation::relu), std::optional(ops::activation::silu),
                  std::optional(ops::activation::tanh)})
                for (const bool add : {false, true}) {
                    if (!act && !add) continue;
                    INFO(what, ": precision ", int(p), ", kernel ", std::string(kernel_name(isa)), ", activation ", act ? int(*act) : -1, ", residual ", add);
                    tensor<2> expected({rows, out});
                    ops::gemm_packed(x.data(), rows, packed, b.data(), expected.data());
                    if (act) ops::apply_activation(*act, expected.data(), expected.size());
                    if (add) expected = residual + expected;
                    std::vector<float> y(rows * ldy, -7.0f);
                    const ops::gemm_epilogue epilogue{act, add ? strided_residual.data() : nullptr, ld_residual};
                    ops::gemm_packed(x.data(), rows, in, packed, b.data(), y.data(), ldy, epilogue);
                    for (std::size_t r = 0; r < rows; ++r) {
                        CHECK(std::equal(&expected(r, 0), &expected(r, 0) + out, y.begin() + std::ptrdiff_t(r * ldy)));
                        CHECK(std::all_of(y.begin() + std::ptrdiff_t(r * ldy + out), y.begin() + std::ptrdiff_t((r + 1) * ldy),
                                          [](float v) { return v == -7.0f; }));
                    }
                }
        }
    });
}

}  // namespace

TEST_CASE("ops.packed_gemm: size 1 and odd widths" * doctest::test_suite("unit")) {
    check_packed(1, 1, 1, true, "1x1 -> 1");
    check_packed(1, 37, 61, true, "rows=1, 37 -> 61");
    check_packed(9, 61, 37, false, "9 rows (a full tile and one row), 61 -> 37");
    check_packed(7, 16, 49, true, "7 rows, 16 -> 49 (a panel and one column)");
    check_packed(37, 13, 47, false, "37 rows (tiles of 8, 6 and 4 and a remainder), 13 -> 47");
    check_packed(13, 5, 97, true, "13 rows, 5 -> 97 (two panels and one column)");
    check_packed(6, 70, 1, true, "6 rows, 70 -> 1");
}

TEST_CASE("ops.packed_gemm: depth past one k block, rows past one row block, panels split between threads" * doctest::test_suite("unit")) {
    check_packed(17, 600, 100, true, "17 rows, 600 -> 100 (three k blocks)");
    check_packed(50, 257, 144, false, "50 rows, 257 -> 144 (k block plus one)");
    check_packed(70, 300, 53, true, "70 rows (two portable tiles of 32 and 6 more), 300 -> 53, bias then a second k block");
    check_packed(500, 300, 100, true, "500 rows (three row blocks), 300 -> 100");
}

TEST_CASE("ops.packed_gemm: threads split (panel, row tile) pairs by their panels' registers" * doctest::test_suite("unit")) {
    // q, k and v of CLIP text stacked (each part ten panels of 48 columns, 3
    // registers, and one of 32, 2), and one part alone, over its 616 rows in tiles of 8.
    const std::vector<float> w(3 * 512 * 4, 1.0f);
    for (const std::size_t parts : {1, 3}) {
        const ops::packed_weights packed(rows_in_memory(w.data(), 4), parts * 512, 4, parts);
        const std::size_t tiles = 77, pairs_total = packed.panels() * tiles;
        const ops::detail::weighted_pairs pairs(packed, tiles);
        REQUIRE(pairs.units == parts * (10 * 3 + 2) * tiles);
        // Any cut of the units gives each pair to one side: first_at climbs from the first pair to past the last.
        CHECK(pairs.first_at(0) == 0);
        CHECK(pairs.first_at(pairs.units) == pairs_total);
        bool climbs = true;
        for (std::size_t u = 0; u < pairs.units; ++u) climbs = climbs && pairs.first_at(u) <= pairs.first_at(u + 1);
        CHECK(climbs);
        // Two threads: a cut falls on a pair's first unit, so each side is within 2
        // registers of half (an even split of the pairs put 74 more on one side).
        const std::size_t cut = pairs.first_at(pairs.units / 2);
        std::size_t first = 0, second = 0;
        for (std::size_t q = 0; q < pairs_total; ++q) (q < cut ? first : second) += pairs.vecs(q / tiles);
        INFO(parts, " parts: ", first, " against ", second, " registers");
        CHECK(std::max(first, second) - std::min(first, second) <= 4);
    }
}

TEST_CASE("ops.packed_gemm: unpack gives the weight back, packed under every kernel" * doctest::test_suite("unit")) {
    test::for_each_kernel_and_packing_shape([](std::size_t n, std::size_t k) {
        const tensor<2> w = test::random_tensor<2>({n, k}, std::uint32_t(5 + n + k));
        const ops::packed_weights packed(w.data(), n, k);
        tensor<2> back({n, k});
        packed.unpack(back.data());
        CHECK(back == w);
        CHECK(packed.rows() == n);
        CHECK(packed.cols() == k);
        CHECK(packed.panels() == (n + 47) / 48);
    });
}

// Convolutions read im2col rows and write a group's columns of wider rows: with
// row strides every precision and kernel gives its contiguous result and leaves
// the gaps alone.
TEST_CASE("ops.gemm_packed: row strides of x and y, in every precision" * doctest::test_suite("unit")) {
    const std::size_t rows = 37, in = 70, out = 53, ldx = in + 5, ldy = out + 3;
    const tensor<2> x = test::random_tensor<2>({rows, in}, 41);
    const tensor<2> w = test::random_tensor<2>({out, in}, 42, -0.1f, 0.1f);
    const tensor<1> b = test::random_tensor<1>({out}, 43);
    std::vector<float> strided_x(rows * ldx, 1e30f);  // gaps the GEMM must not read
    for (std::size_t r = 0; r < rows; ++r) std::copy(&x(r, 0), &x(r, 0) + in, strided_x.begin() + std::ptrdiff_t(r * ldx));
    test::for_each_kernel([&](kernel_isa isa) {
    for (const mmt::precision p : {mmt::precision::f32, mmt::precision::bf16, mmt::precision::int8}) {
        INFO("precision ", int(p), ", kernel ", std::string(kernel_name(isa)));
        const ops::any_packed_weights packed = ops::pack_weights(w.data(), out, in, p);
        tensor<2> contiguous({rows, out});
        ops::gemm_packed(x.data(), rows, packed, b.data(), contiguous.data());
        std::vector<float> strided_y(rows * ldy, -7.0f);
        ops::gemm_packed(strided_x.data(), rows, ldx, packed, b.data(), strided_y.data(), ldy);
        for (std::size_t r = 0; r < rows; ++r) {
            CHECK(std::equal(&contiguous(r, 0), &contiguous(r, 0) + out, strided_y.begin() + std::ptrdiff_t(r * ldy)));
            CHECK(std::all_of(strided_y.begin() + std::ptrdiff_t(r * ldy + out), strided_y.begin() + std::ptrdiff_t((r + 1) * ldy),
                              [](float v) { return v == -7.0f; }));
        }
    }
    });
}

TEST_CASE("ops.gemm_packed: the epilogue's activation and residual equal separate passes, bit for bit" * doctest::test_suite("unit")) {
    check_epilogue(1, 5, 97, "1 row, 5 -> 97 (two panels and one column)");
    check_epilogue(37, 70, 53, "37 rows (tiles of 8, 6 and 4 and a remainder), 70 -> 53");
    check_epilogue(13, 1001, 47, "13 rows, depth 1001 (odd; two k blocks of 192 quads in int8), 47 columns");
    check_epilogue(130, 601, 47, "130 rows (17 of AVX-512's row tiles), depth 601 (two k blocks of 128 quads in int8), 47 columns");
    check_epilogue(70, 257, 144, "70 rows, 257 -> 144: panels split between threads");
}

TEST_CASE("ops.gemm_packed: a residual row stride shorter than the output is refused" * doctest::test_suite("unit")) {
    const tensor<2> w = test::random_tensor<2>({53, 8}, 7);
    const ops::any_packed_weights packed = ops::pack_weights(w.data(), 53, 8, mmt::precision::f32);
    const std::vector<float> x(2 * 8, 1.0f), residual(2 * 53, 0.0f);
    std::vector<float> y(2 * 53);
    test::check_throws<shape_error>(
        [&] { ops::gemm_packed(x.data(), 2, packed, nullptr, y.data(), ops::gemm_epilogue{std::nullopt, residual.data(), 52}); },
        {"gemm epilogue", "residual row stride is 52", "53 columns"});
}

// Attention's q, k and v projections stacked (layers::linear::load_stacked): parts
// of 40 rows, each starting a panel, so a view of some parts reads whole panels.
// The stacked product, and a view's, equal each part packed alone bit for bit, in
// every precision and kernel, the epilogue included.
TEST_CASE("ops.gemm_packed: stacked parts equal the parts packed alone, and a view of some parts their columns" *
          doctest::test_suite("unit")) {
    const std::size_t rows = 37, in = 70, part = 40, parts = 3;
    const tensor<2> x = test::random_tensor<2>({rows, in}, 51, -2.0f, 2.0f);
    const tensor<2> w = test::random_tensor<2>({parts * part, in}, 52, -0.1f, 0.1f);
    const tensor<1> b = test::random_tensor<1>({parts * part}, 53);
    const tensor<2> residual = test::random_tensor<2>({rows, parts * part}, 54);
    test::for_each_kernel([&](kernel_isa isa) {
        for (const mmt::precision p : {mmt::precision::f32, mmt::precision::bf16, mmt::precision::int8}) {
            INFO("precision ", int(p), ", kernel ", std::string(kernel_name(isa)));
            const ops::any_packed_weights stacked = ops::pack_weights(w.data(), parts * part, in, p, nullptr, parts);
            CHECK(std::visit([](const auto& s) { return s.panels(); }, stacked) == parts * 1);  // one panel of 40 columns per part
            for (const auto& range : {std::pair<std::size_t, std::size_t>{0, 3}, {0, 1}, {1, 2}, {2, 1}}) {
                const std::size_t first = range.first, count = range.second;  // plain names: INFO captures them (C++17)
                INFO("parts ", first, " to ", first + count);
                const std::size_t n = count * part, c0 = first * part;
                // Expected: each part packed alone, its columns side by side.
                std::vector<float> expected(rows * n);
                for (std::size_t i = first; i < first + count; ++i) {
                    const ops::any_packed_weights alone = ops::pack_weights(&w(i * part, 0), part, in, p);
                    const std::size_t column = (i - first) * part;
                    ops::gemm_packed(x.data(), rows, in, alone, &b(i * part), expected.data() + column, n,
                                     {ops::activation::gelu, &residual(0, i * part), parts * part});
                }
                std::vector<float> y(rows * n, -7.0f);
                const ops::any_packed_weights view = ops::select_parts(stacked, first, count);
                CHECK(ops::rows_of(view) == n);
                ops::gemm_packed(x.data(), rows, in, view, &b(c0), y.data(), n, {ops::activation::gelu, &residual(0, c0), parts * part});
                CHECK(y == expected);
            }
        }
    });
    const std::vector<float> zeros(5 * 4, 0.0f);
    test::check_throws<shape_error>([&] { ops::pack_weights(zeros.data(), 5, 4, mmt::precision::f32, nullptr, 2); },
                                    {"packed weights", "5 rows do not stack 2 equal parts"});
    const ops::any_packed_weights two = ops::pack_weights(zeros.data(), 4, 5, mmt::precision::int8, nullptr, 2);
    test::check_throws<shape_error>([&] { ops::select_parts(two, 1, 2); }, {"packed weights: parts 1 to 3 of a weight stacking 2"});
    test::check_throws<shape_error>([&] { ops::select_parts(two, 0, 0); }, {"parts 0 to 0"});
}

TEST_CASE("ops.packed_gemm: unpack gives a stacked weight back, its parts' last panels narrow" * doctest::test_suite("unit")) {
    const std::size_t n = 3 * 50, k = 9;  // parts of a panel and 2 columns
    const tensor<2> w = test::random_tensor<2>({n, k}, 61);
    const ops::packed_weights packed(rows_in_memory(w.data(), k), n, k, 3);
    CHECK(packed.panels() == 6);
    CHECK(packed.panel_first(2) == 50);  // the second part's first panel
    CHECK(packed.panel_first(3) == 98);
    CHECK(packed.panel_cols(3) == 2);
    tensor<2> back({n, k});
    packed.unpack(back.data());
    CHECK(back == w);
}
