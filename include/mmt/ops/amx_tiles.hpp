// The tile kernel of the bf16 and int8 GEMMs on AMX (kernel_isa::amx). A tile
// register holds up to 16 rows of 64 bytes. tdpbusd multiplies a tile of x's u8
// levels (16 rows by 16 k-quads) by a tile of s8 weight quads (16 k-quads by 16
// columns) into a tile of 16 x 16 int32 sums; tdpbf16ps does the same with bf16
// pairs into float32 sums. The packed panels ([groups][48][4 bytes],
// ops/gemm_driver.hpp) already lie as a weight tile reads them: 16 groups of 16
// columns, rows 192 bytes apart, so the weights are packed as for every other kernel.
//
// One call covers up to 16 rows of x by one panel's k block. The panel's 48 columns
// are three tiles of sums (tiles 0-2), beside x's tile (3) and the three weight
// tiles (4-6). A k block whose groups are not a multiple of 16 ends with a pass
// configured for the rest. Each call loads its tile configuration and releases the
// tiles when it returns, so no tile state is kept between calls, where a thread
// switch or another library's tiles could meet it.
//
// The instructions go through `Unit`. amx::hardware issues them as inline assembly,
// because GCC 12's intrinsics take tile numbers as macro tokens, not as template
// arguments. The tests run the same kernel on an emulation of the tiles that
// checks each shape rule the CPU checks (tests/support/amx_emulator.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "mmt/ops/gemm_driver.hpp"

namespace mmt::ops::amx {

// ldtilecfg's 64 bytes, palette 1: tile t is rows[t] rows of colsb[t] bytes.
struct alignas(64) tile_config {
    std::uint8_t palette = 1;
    std::uint8_t start_row = 0;
    std::uint8_t reserved[14] = {};
    std::uint16_t colsb[16] = {};
    std::uint8_t rows[16] = {};
};
static_assert(sizeof(tile_config) == 64, "ldtilecfg reads 64 bytes");

inline constexpr std::size_t max_rows = 16;   // of a tile
inline constexpr std::size_t row_bytes = 64;  // of a tile row: 16 groups of 4 bytes (x) or 16 columns' groups (weights)
inline constexpr int x_tile = 3;              // sums of column tile j: tile j; its weights: weight_tile + j
inline constexpr int weight_tile = 4;

#if defined(__x86_64__)
// The AMX instructions themselves (AMX-TILE, AMX-INT8, AMX-BF16); strides in bytes.
struct hardware {
    static void configure(const tile_config& config) { asm volatile("ldtilecfg %0" ::"m"(config)); }
    static void release() { asm volatile("tilerelease" ::: "memory"); }
    template <int T>
    static void zero() {
        asm volatile("tilezero %%tmm%c0" ::"i"(T));
    }
    template <int T>
    static void load(const void* base, std::size_t stride) {
        asm volatile("tileloadd (%0,%1,1), %%tmm%c2" ::"r"(base), "r"(stride), "i"(T) : "memory");
    }
    template <int T>
    static void store(void* base, std::size_t stride) {
        asm volatile("tilestored %%tmm%c2, (%0,%1,1)" ::"r"(base), "r"(stride), "i"(T) : "memory");
    }
    // tile C += tile A (rows x groups) . tile B (groups x columns), u8 x s8 into int32.
    template <int C, int A, int B>
    static void dot_u8s8() {
        asm volatile("tdpbusd %%tmm%c2, %%tmm%c1, %%tmm%c0" ::"i"(C), "i"(A), "i"(B));
    }
    // The same with bf16 pairs into float32.
    template <int C, int A, int B>
    static void dot_bf16() {
        asm volatile("tdpbf16ps %%tmm%c2, %%tmm%c1, %%tmm%c0" ::"i"(C), "i"(A), "i"(B));
    }
};
#endif

}  // namespace mmt::ops::amx

namespace mmt::ops::detail {

// f(integral_constant<int, j>) for each tile of sums j < Tiles.
template <std::size_t Tiles, class F>
inline void each_tile(F&& f) {
    f(std::integral_constant<int, 0>{});
    if constexpr (Tiles > 1) f(std::integral_constant<int, 1>{});
    if constexpr (Tiles > 2) f(std::integral_constant<int, 2>{});
}

// c[rows, cols] (+)= a[rows, steps * step groups] . b, `steps` products of `step`
// groups, the tiles configured for that step. Prefetch: this pass's groups of the
// block's plan, from group `first` on.
template <class Unit, std::size_t Tiles, class Acc>
void amx_pass(std::size_t rows, const std::uint32_t* a, std::size_t lda, const char* b, std::size_t step, std::size_t steps,
              const float* bias, Acc* c, std::size_t ldc, std::size_t cols, bool accumulate, const prefetch_plan& prefetch,
              std::size_t first) {
    constexpr std::size_t group_bytes = gemm::panel * 4;  // one group of the panel's 48 columns
    amx::tile_config config;
    config.rows[amx::x_tile] = std::uint8_t(rows);
    config.colsb[amx::x_tile] = std::uint16_t(4 * step);
    for (std::size_t j = 0; j < Tiles; ++j) {
        const auto width = std::uint16_t(4 * std::min<std::size_t>(16, cols - 16 * j));  // a narrow last tile stores only its columns
        config.rows[j] = std::uint8_t(rows);
        config.colsb[j] = width;
        config.rows[amx::weight_tile + j] = std::uint8_t(step);
        config.colsb[amx::weight_tile + j] = width;
    }
    Unit::configure(config);
    each_tile<Tiles>([&](auto tile) {
        constexpr int j = decltype(tile)::value;
        if (accumulate) Unit::template load<j>(c + 16 * j, ldc * sizeof(Acc));
        else if (std::is_same_v<Acc, float> && bias) Unit::template load<j>(bias + 16 * j, 0);  // every row starts from the bias
        else Unit::template zero<j>();                                                     // int8 takes its bias in the finish
    });
    const std::size_t planned = prefetch.steps();
    for (std::size_t s = 0; s < steps; ++s) {
        for (std::size_t g = first + s * step; g < std::min(planned, first + (s + 1) * step); ++g) prefetch.issue(g);
        Unit::template load<amx::x_tile>(a + s * step, lda * sizeof(std::uint32_t));
        each_tile<Tiles>([&](auto tile) {
            constexpr int j = decltype(tile)::value;
            Unit::template load<amx::weight_tile + j>(b + s * step * group_bytes + amx::row_bytes * j, group_bytes);
            if constexpr (std::is_same_v<Acc, float>) Unit::template dot_bf16<j, amx::x_tile, amx::weight_tile + j>();
            else Unit::template dot_u8s8<j, amx::x_tile, amx::weight_tile + j>();
        });
    }
    each_tile<Tiles>([&](auto tile) {
        constexpr int j = decltype(tile)::value;
        Unit::template store<j>(c + 16 * j, ldc * sizeof(Acc));
    });
    Unit::release();
}

// The driver's tile kernel (tile_kernel::run, up to 16 rows) for int8 (Weight
// std::int8_t, Acc std::int32_t: sums from zero) and bf16 (std::uint16_t, float:
// sums from the bias on the first k block).
template <class Unit, class Weight, class Acc>
void amx_tile(std::size_t rows, const std::uint32_t* a, std::size_t lda, const Weight* b, std::size_t groups, const float* bias, Acc* c,
              std::size_t ldc, std::size_t cols, bool accumulate, const prefetch_plan& prefetch) {
    static_assert(std::is_same_v<Weight, std::int8_t> == std::is_same_v<Acc, std::int32_t> &&
                      std::is_same_v<Weight, std::uint16_t> == std::is_same_v<Acc, float>,
                  "int8 weights sum into int32, bf16 ones into float");
    constexpr std::size_t step = amx::row_bytes / 4;  // groups per product
    const std::size_t full = groups / step * step;
    const char* bytes = reinterpret_cast<const char*>(b);
    with_vecs16(cols, [&](auto tiles) {
        constexpr std::size_t t = decltype(tiles)::value;
        if (full) amx_pass<Unit, t>(rows, a, lda, bytes, step, full / step, bias, c, ldc, cols, accumulate, prefetch, 0);
        if (full < groups)
            amx_pass<Unit, t>(rows, a + full, lda, bytes + full * gemm::panel * 4, groups - full, 1, bias, c, ldc, cols, accumulate || full,
                              prefetch, full);
    });
}

}  // namespace mmt::ops::detail
