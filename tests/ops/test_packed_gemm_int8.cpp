// ops::gemm_packed_int8 against the same product computed in double from the
// values it quantises to (x per row over its range in 256 levels, W per channel
// symmetric in 255 levels): only float rounding of the rescale may differ. And the
// two quantisers of x against each other: they must give the same levels.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "mmt/ops/packed_gemm_int8.hpp"
#include "support/check_close.hpp"
#include "support/kernels.hpp"
#include "support/naive.hpp"
#include "support/packing_shapes.hpp"
#include "support/random.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

namespace {
// Each row of x as min + s * nearbyint((v - min) * (1 / s)), s = (max - min) / 255,
// its range widened to hold 0.
tensor<2> quantised_inputs(tensor<2> t) {
    for (std::size_t r = 0; r < t.shape(0); ++r) {
        float lo = 0, hi = 0;
        for (std::size_t i = 0; i < t.shape(1); ++i) lo = std::min(lo, t(r, i)), hi = std::max(hi, t(r, i));
        const float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f, inv = 1.0f / scale;
        for (std::size_t i = 0; i < t.shape(1); ++i)
            t(r, i) = lo + std::nearbyint(std::clamp((t(r, i) - lo) * inv, 0.0f, 255.0f)) * scale;
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
    test::for_each_kernel([&](kernel_isa) {
        tensor<2> y = test::nan_tensor<2>({rows, out});
        ops::gemm_packed_int8(x.data(), rows, packed, b.data(), y.data());
        test::check_close(y, expected, test::tol::op_abs, what + " (" + ops::packed_gemm_int8_kernel() + ")");
    });
}
}  // namespace

TEST_CASE("ops.packed_gemm_int8: odd sizes, depth not a multiple of 4, several panels" * doctest::test_suite("unit")) {
    check_int8(1, 1, 1, "1x1 -> 1");
    check_int8(9, 61, 37, "9 rows, 61 -> 37");
    check_int8(50, 768, 100, "50 rows, 768 -> 100");
    check_int8(17, 1537, 100, "17 rows, 1537 -> 100 (three k blocks)");
    check_int8(37, 13, 97, "37 rows, 13 -> 97 (two panels and one column)");
    check_int8(7, 30, 47, "7 rows, 30 -> 47");
    check_int8(11, 200, 80, "11 rows, 200 -> 80 (a last panel of 32 columns: two vectors)");
    check_int8(5, 64, 60, "5 rows, 64 -> 60 (a last panel of 12 columns: one vector)");
    check_int8(500, 800, 100, "500 rows (three row blocks), 800 -> 100 (two k blocks)");
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

TEST_CASE("ops.packed_gemm_int8: weight levels are round(w / scale), halves away from zero as std::lround, under every kernel" *
          doctest::test_suite("unit")) {
    test::for_each_kernel([](kernel_isa isa) {
        INFO(std::string(kernel_name(isa)));
        // max |w| = 127 makes the scale exactly 1, so these halves are exact.
        std::vector<float> row{127.0f, 0.5f, -0.5f, 1.5f, -2.5f, -126.5f, std::nextafter(0.5f, 0.0f), std::nextafter(2.5f, 3.0f), -0.0f};
        std::vector<float> levels = row;
        float scale = 0;
        ops::quantise_int8_rows(levels.data(), 1, row.size(), &scale);
        CHECK(scale == 1.0f);
        CHECK(levels == std::vector<float>{127, 1, -1, 2, -3, -127, 0, 3, 0});

        for (std::size_t k : {1, 7, 8, 16, 97}) {  // whole vectors and tails
            const tensor<2> w = test::random_tensor<2>({64, k}, std::uint32_t(11 + k), -3.0f, 3.0f);
            levels.assign(w.begin(), w.end());
            std::vector<float> scales(64);
            ops::quantise_int8_rows(levels.data(), 64, k, scales.data());
            for (std::size_t r = 0; r < 64; ++r) {
                float max = 0;
                for (std::size_t i = 0; i < k; ++i) max = std::max(max, std::fabs(w(r, i)));
                REQUIRE(scales[r] == max / 127.0f);
                for (std::size_t i = 0; i < k; ++i)
                    REQUIRE_MESSAGE(levels[r * k + i] == float(std::lround(w(r, i) / scales[r])), "w " << w(r, i) << ", scale " << scales[r]);
            }
        }

        // A NaN weight is level 0; its row's scale comes from the others. A row of zeros has scale 1.
        row = {std::nanf(""), 2.0f, -1.0f};
        ops::quantise_int8_rows(row.data(), 1, 3, &scale);
        CHECK(scale == 2.0f / 127.0f);
        CHECK(row == std::vector<float>{0, 127, float(std::lround(-1.0f / scale))});
        row.assign(11, 0.0f);
        ops::quantise_int8_rows(row.data(), 1, 11, &scale);
        CHECK(scale == 1.0f);
        CHECK(row == std::vector<float>(11, 0.0f));
    });
}

TEST_CASE("ops.packed_gemm_int8: every kernel packs the same bytes, scales and column sums" * doctest::test_suite("unit")) {
    const auto bytes = [](const ops::packed_weights_int8& p) {
        return std::vector<std::int8_t>(p.panel_data(0), p.panel_data(0) + p.panels() * p.quads() * 48 * 4);
    };
    test::for_each_kernel_and_packing_shape([&](std::size_t n, std::size_t k) {
        const tensor<2> w = test::random_tensor<2>({n, k}, std::uint32_t(3 + n + k), -2.0f, 2.0f);
        const ops::packed_weights_int8 packed(w.data(), n, k);
        test::kernel_guard guard(kernel_isa::portable);
        const ops::packed_weights_int8 portable(w.data(), n, k);
        CHECK(bytes(packed) == bytes(portable));
        CHECK(std::equal(packed.scales(), packed.scales() + n, portable.scales()));
        CHECK(std::equal(packed.column_sums(), packed.column_sums() + n, portable.column_sums()));
    });
}

TEST_CASE("ops.packed_gemm_int8: every kernel's quantiser gives the same levels" * doctest::test_suite("unit")) {
    // Random rows of awkward lengths, then rows of zeros, all negative, constant, one
    // with a NaN and a negative zero, and one on a 0..255 grid whose halves are ties.
    std::vector<std::vector<float>> rows;
    for (std::size_t k : {1, 3, 15, 16, 17, 33, 61, 768, 1001}) {
        const tensor<1> t = test::random_tensor<1>({k}, std::uint32_t(k), -3.0f, 5.0f);
        rows.emplace_back(t.begin(), t.end());
    }
    rows.push_back(std::vector<float>(40, 0.0f));
    rows.push_back(std::vector<float>(23, -1.5f));
    rows.push_back(std::vector<float>(19, 2.0f));
    rows.push_back({-0.0f, 1.0f, std::nanf(""), -2.0f, 3.5f, -0.0f});
    std::vector<float> ties{0.0f, 255.0f};
    for (int i = 0; i < 50; ++i) ties.push_back(float(i) * 5.0f + 0.5f);
    rows.push_back(ties);
    for (const auto& row : rows) {
        const std::size_t k = row.size(), quads = (k + 3) / 4;
        std::vector<std::uint32_t> portable(quads, 0xdeadbeef);
        ops::quantised_row qp;
        {
            test::kernel_guard guard(kernel_isa::portable);
            ops::quantise_rows_u8(row.data(), 1, k, k, portable.data(), &qp);
        }
        if (k % 4) CHECK((portable.back() >> (8 * (k % 4))) == 0);  // the padding past k is zero
        test::for_each_kernel([&](kernel_isa isa) {
            std::vector<std::uint32_t> levels(quads, 0xdeadbeef);
            ops::quantised_row q;
            ops::quantise_rows_u8(row.data(), 1, k, k, levels.data(), &q);
            INFO("k = " << k << ", kernel " << std::string(kernel_name(isa)));
            CHECK(q.scale == qp.scale);
            CHECK(q.min == qp.min);
            CHECK(levels == portable);
        });
    }
}

// The AVX2 kernel without AVX-VNNI runs only on CPUs that lack it, so its sums are
// checked here directly against the portable kernel's on every CPU with AVX2: the
// largest levels and weights (255 x +-127) are where vpmaddubsw would saturate.
TEST_CASE("ops.packed_gemm_int8: the AVX2 kernels' sums equal the portable one's" * doctest::test_suite("unit")) {
#if defined(__x86_64__)
    if (!cpu::has_avx2()) return;
    constexpr std::size_t rows = 4, quads = 9;
    std::vector<std::uint32_t> a(rows * quads);
    // 64-byte aligned, as packed panels are: the kernels load whole weight vectors aligned.
    alignas(64) std::array<std::int8_t, quads * ops::gemm::panel * 4> b;
    std::uint32_t state = 7;
    const auto next = [&] { return state = state * 1664525u + 1013904223u; };
    for (auto& v : a) v = next() % 3 ? next() : 0xffffffffu;
    for (std::size_t i = 0; i < b.size(); ++i) b[i] = std::int8_t(i % 5 == 0 ? 127 : i % 5 == 1 ? -127 : std::int8_t(next() % 255 - 127));
    alignas(64) std::int32_t expected[rows * ops::gemm::panel], got[rows * ops::gemm::panel];
    ops::detail::int8_tile_portable(rows, a.data(), quads, b.data(), quads, nullptr, expected, ops::gemm::panel, 48, false, {});
    for (const bool vnni : {false, true}) {
        if (vnni && !cpu::has_avx_vnni()) continue;
        std::fill(std::begin(got), std::end(got), -1);
        (vnni ? ops::detail::int8_tile_avx2<true> : ops::detail::int8_tile_avx2<false>)(rows, a.data(), quads, b.data(), quads, nullptr, got,
                                                                                       ops::gemm::panel, 48, false, {});
        INFO("AVX-VNNI: " << vnni);
        CHECK(std::equal(std::begin(got), std::end(got), std::begin(expected)));
    }
#endif
}
