// ops/amx_tiles.hpp's tile kernel on emulated tiles (support/amx_emulator.hpp), which
// check every shape rule the CPU checks, against the portable int8 kernel's sums and
// bf16 sums in double, over the shapes the GEMM driver hands a tile kernel: 1 to 16 rows, a
// narrow last panel, k blocks whose groups are or are not a multiple of 16, strided
// rows of x, the first k block and the ones that add to it. Where the CPU has AMX
// the real instructions run the same cases too; elsewhere that case says it was
// skipped. The whole GEMMs run under kernel_isa::amx in the GEMM tests
// (test::for_each_kernel) and the parity suite (CTest parity.kernels) on such a CPU.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "mmt/ops/packed_gemm_bf16.hpp"
#include "mmt/ops/packed_gemm_int8.hpp"
#include "support/amx_emulator.hpp"
#include "support/check_close.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

constexpr std::size_t amx_rows = ops::amx::max_rows;

// A tile kernel's call as the driver makes it: x's rows [rows][lda] groups with the
// block starting at group `first`, one panel's block of `groups`, sums [rows][48].
struct tile_case {
    std::size_t rows, groups, cols, first;
    bool accumulate;
};

std::vector<tile_case> tile_cases() {
    std::vector<tile_case> cases;
    for (std::size_t rows : {1, 5, 16})
        for (std::size_t groups : {1, 7, 16, 40, 192})
            for (std::size_t cols : {48, 33, 16, 7})
                for (bool accumulate : {false, true}) cases.push_back({rows, groups, cols, groups % 16 ? 3u : 16u, accumulate});
    return cases;
}

std::string describe(const tile_case& t) {
    return std::to_string(t.rows) + " rows, " + std::to_string(t.groups) + " groups from " + std::to_string(t.first) + ", " +
           std::to_string(t.cols) + " columns" + (t.accumulate ? ", accumulating" : "");
}

struct tile_inputs {
    std::size_t lda;
    std::vector<std::uint32_t> a;  // [16][lda]
    std::vector<unsigned char> b;  // [groups][48][4 bytes]
    std::vector<float> bias;       // [48]
};

tile_inputs random_inputs(const tile_case& t, std::uint32_t seed, bool bf16) {
    std::mt19937 rng(seed);
    tile_inputs in{t.first + t.groups + 5, {}, {}, {}};
    // bf16 magnitudes in [0.5, 2) with a random sign, so that no product is too small
    // to miss; int8 any bytes.
    std::uniform_int_distribution<std::uint32_t> byte(0, 255), bf16_value(0x3f00, 0x3fff), sign(0, 1);
    const auto value = [&] { return bf16 ? std::uint32_t(bf16_value(rng) | (sign(rng) << 15)) : byte(rng) | byte(rng) << 8; };
    in.a.resize(amx_rows * in.lda);
    for (auto& v : in.a) v = value() | value() << 16;
    in.b.resize(t.groups * ops::gemm::panel * 4);
    for (std::size_t i = 0; i < in.b.size(); i += 2) {
        const std::uint32_t v = value();
        in.b[i] = static_cast<unsigned char>(v);
        in.b[i + 1] = static_cast<unsigned char>(v >> 8);
    }
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (std::size_t c = 0; c < ops::gemm::panel; ++c) in.bias.push_back(uniform(rng));
    return in;
}

// Products the kernel makes for a case: 16 groups each, a pass for the rest, one per tile of 16 columns.
std::size_t products(const tile_case& t) { return (t.cols + 15) / 16 * ((t.groups + 15) / 16); }

// Where `got` (rows ldc floats apart) differs from the sums in double by more than
// float rounding allows, or a value past the rows and columns asked for changed.
std::size_t bf16_errors(const tile_case& t, const tile_inputs& in, const float* bias, const std::vector<float>& start,
                        const std::vector<float>& got, std::size_t ldc) {
    const auto* b = reinterpret_cast<const std::uint16_t*>(in.b.data());
    std::size_t errors = 0;
    for (std::size_t r = 0; r < amx_rows; ++r)
        for (std::size_t c = 0; c < ldc; ++c) {
            const std::size_t i = r * ldc + c;
            if (r >= t.rows || c >= t.cols) {
                errors += got[i] != start[i];
                continue;
            }
            double sum = t.accumulate ? start[i] : bias ? bias[c] : 0.0, magnitude = std::fabs(sum);
            for (std::size_t g = 0; g < t.groups; ++g)
                for (std::size_t h = 0; h < 2; ++h) {
                    const double p = double(bf16_to_float(std::uint16_t(in.a[r * in.lda + t.first + g] >> (16 * h)))) *
                                     bf16_to_float(b[(g * ops::gemm::panel + c) * 2 + h]);
                    sum += p;
                    magnitude += std::fabs(p);
                }
            // Each float addition rounds by at most 2^-24 of a partial sum, at most `magnitude`.
            errors += !(std::fabs(got[i] - sum) <= double(2 * t.groups + 1) * std::ldexp(magnitude, -24));
        }
    return errors;
}

}  // namespace

TEST_CASE("ops.amx_tiles: the int8 tile kernel on emulated tiles gives the portable kernel's sums" * doctest::test_suite("unit")) {
    std::uint32_t seed = 1;
    const std::size_t products_before = test::emulated_amx::products();
    std::size_t expected_products = 0;
    for (const tile_case& t : tile_cases()) {
        expected_products += products(t);
        CAPTURE(describe(t));
        const tile_inputs in = random_inputs(t, seed++, false);
        const auto* b = reinterpret_cast<const std::int8_t*>(in.b.data());
        const std::uint32_t* a = in.a.data() + t.first;
        // Earlier blocks' sums to add to, or a value no kernel writes.
        std::vector<std::int32_t> start(amx_rows * ops::gemm::panel, 0x5eed5eed);
        if (t.accumulate)
            for (std::size_t i = 0; i < start.size(); ++i) start[i] = std::int32_t(i * 7919 % 20001) - 10000;
        std::vector<std::int32_t> expected = start, got = start;
        ops::detail::int8_tile_portable(t.rows, a, in.lda, b, t.groups, nullptr, expected.data(), ops::gemm::panel, t.cols, t.accumulate, {});
        ops::detail::amx_tile<test::emulated_amx>(t.rows, a, in.lda, b, t.groups, in.bias.data(), got.data(), ops::gemm::panel, t.cols,
                                                  t.accumulate, {});
        std::size_t wrong = 0, strays = 0;
        for (std::size_t r = 0; r < amx_rows; ++r)
            for (std::size_t c = 0; c < ops::gemm::panel; ++c) {
                const std::size_t i = r * ops::gemm::panel + c;
                if (r < t.rows && c < t.cols) wrong += got[i] != expected[i];
                else strays += got[i] != start[i];  // past the rows and columns asked for: untouched
            }
        CHECK(wrong == 0);
        CHECK(strays == 0);
    }
    CHECK(test::emulated_amx::products() - products_before == expected_products);
}

TEST_CASE("ops.amx_tiles: the bf16 tile kernel on emulated tiles gives the sums within float rounding" * doctest::test_suite("unit")) {
    std::uint32_t seed = 1000;
    for (const tile_case& t : tile_cases())
        for (bool with_bias : {false, true}) {
            CAPTURE(describe(t));
            CAPTURE(with_bias);
            const tile_inputs in = random_inputs(t, seed++, true);
            const float* bias = with_bias ? in.bias.data() : nullptr;
            // y's rows 50 floats apart, as the driver's float traits sum straight into y.
            constexpr std::size_t ldc = 50;
            std::vector<float> start(amx_rows * ldc, -7.25f);
            if (t.accumulate)
                for (std::size_t i = 0; i < start.size(); ++i) start[i] = float(int(i % 37) - 18) / 8;
            std::vector<float> got = start;
            ops::detail::amx_tile<test::emulated_amx>(t.rows, in.a.data() + t.first, in.lda, reinterpret_cast<const std::uint16_t*>(in.b.data()),
                                                      t.groups, bias, got.data(), ldc, t.cols, t.accumulate, {});
            CHECK(bf16_errors(t, in, bias, start, got, ldc) == 0);
        }
}

TEST_CASE("ops.amx_tiles: the emulated tiles refuse what the CPU refuses" * doctest::test_suite("unit")) {
    using test::emulated_amx;
    ops::amx::tile_config config;
    config.palette = 0;
    test::check_throws<std::logic_error>([&] { emulated_amx::configure(config); }, {"palette 0, expected 1"});
    config.palette = 1;
    config.rows[0] = 17;
    config.colsb[0] = 64;
    test::check_throws<std::logic_error>([&] { emulated_amx::configure(config); }, {"tile 0 is 17 x 64 bytes"});
    config.rows[0] = 16;
    config.rows[1] = 16;
    config.colsb[1] = 64;  // A: 16 groups a row
    config.rows[2] = 8;
    config.colsb[2] = 64;  // B: only 8 rows of groups
    emulated_amx::configure(config);
    test::check_throws<std::logic_error>([] { emulated_amx::dot_u8s8<0, 1, 2>(); }, {"tdpbusd", "A has 16 groups a row but B 8 rows"});
    test::check_throws<std::logic_error>([] { emulated_amx::zero<3>(); }, {"tilezero", "tile 3 is not configured"});
    test::check_throws<std::logic_error>([] { emulated_amx::dot_bf16<0, 0, 1>(); }, {"tdpbf16ps", "must differ"});
    emulated_amx::release();
    test::check_throws<std::logic_error>([] { emulated_amx::zero<0>(); }, {"not configured (ldtilecfg)"});
}

#if defined(__x86_64__)
TEST_CASE("ops.amx_tiles: the AMX instructions give the emulation's int8 sums and bf16 sums within float rounding" * doctest::test_suite("unit")) {
    if (!cpu_has(kernel_isa::amx)) {
        MESSAGE("skipped: this CPU has no AMX, or Linux did not grant the tiles (kernel_isa::amx), so only the emulation ran");
        return;
    }
    std::uint32_t seed = 5000;
    for (const tile_case& t : tile_cases()) {
        CAPTURE(describe(t));
        const tile_inputs in = random_inputs(t, seed++, false);
        const auto* b = reinterpret_cast<const std::int8_t*>(in.b.data());
        std::vector<std::int32_t> emulated(amx_rows * ops::gemm::panel, 3), hardware = emulated;
        ops::detail::amx_tile<test::emulated_amx>(t.rows, in.a.data() + t.first, in.lda, b, t.groups, nullptr, emulated.data(),
                                                  ops::gemm::panel, t.cols, t.accumulate, {});
        ops::detail::amx_tile<ops::amx::hardware>(t.rows, in.a.data() + t.first, in.lda, b, t.groups, nullptr, hardware.data(),
                                                  ops::gemm::panel, t.cols, t.accumulate, {});
        CHECK(hardware == emulated);
        const tile_inputs bf = random_inputs(t, seed++, true);
        const auto* wb = reinterpret_cast<const std::uint16_t*>(bf.b.data());
        const std::vector<float> start(amx_rows * ops::gemm::panel, 0.5f);
        std::vector<float> sums = start;
        ops::detail::amx_tile<ops::amx::hardware>(t.rows, bf.a.data() + t.first, bf.lda, wb, t.groups, bf.bias.data(), sums.data(),
                                                  ops::gemm::panel, t.cols, t.accumulate, {});
        CHECK(bf16_errors(t, bf, bf.bias.data(), start, sums, ops::gemm::panel) == 0);
    }
}
#endif

TEST_CASE("ops.amx_tiles: whole GEMMs through the driver on emulated tiles, on 1 and 2 threads" * doctest::test_suite("unit")) {
    // 37 rows: two tiles of 16 and one of 5; 100 columns: two panels and 4 columns;
    // k = 1001: int8 blocks of 192 and 59 quads, bf16 of 256 and 245 pairs, each
    // ending in a pass for the groups past the last 16.
    constexpr std::size_t m = 37, k = 1001, n = 100;
    const tensor<2> x = test::random_tensor<2>({m, k}, 11);
    const float bound = 1.0f / std::sqrt(float(k));
    const tensor<2> w = test::random_tensor<2>({n, k}, 12, -bound, bound);
    const tensor<1> b = test::random_tensor<1>({n}, 13, -bound, bound);
    const ops::tile_kernel<ops::int8_gemm> int8_tiles{ops::detail::amx_tile<test::emulated_amx, std::int8_t, std::int32_t>, amx_rows,
                                                      "emulated AMX int8"};
    const ops::tile_kernel<ops::bf16_gemm> bf16_tiles{ops::detail::amx_tile<test::emulated_amx, std::uint16_t, float>, amx_rows,
                                                      "emulated AMX bf16"};
    const ops::packed_weights_int8 w8(w.data(), n, k);
    const ops::packed_weights_bf16 w16(w.data(), n, k);
    tensor<2> int8_expected({m, n}), bf16_expected({m, n});
    ops::gemm_packed_int8(x.data(), m, w8, b.data(), int8_expected.data());
    ops::gemm_packed_bf16(x.data(), m, w16, b.data(), bf16_expected.data());
    for (int threads : {1, 2}) {
        CAPTURE(threads);
        test::thread_count_guard guard(threads);
        tensor<2> y = test::nan_tensor<2>({m, n});
        ops::run_gemm_prepared<ops::int8_gemm>(ops::int8_gemm::prepare(x.data(), m, k, k, active_kernel()), m, w8, b.data(), y.data(), n, {},
                                               &int8_tiles);
        test::check_close(y, int8_expected, 0.0, "int8 on emulated tiles against the default kernel");  // the same integers, the same finish
        y = test::nan_tensor<2>({m, n});
        ops::run_gemm_prepared<ops::bf16_gemm>(ops::bf16_gemm::prepare(x.data(), m, k, k, active_kernel()), m, w16, b.data(), y.data(), n,
                                               {}, &bf16_tiles);
        test::check_close(y, bf16_expected, 1e-5, "bf16 on emulated tiles against the default kernel");  // sums in another order
    }
}
