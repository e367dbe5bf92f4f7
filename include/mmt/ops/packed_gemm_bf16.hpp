// y[M, N] = x[M, K] W[N, K]^T + b in bfloat16 with float32 accumulation. W is
// rounded to bf16 once at load and packed in panels of 48 columns holding k-pairs
// [K / 2][48][2] (ops/gemm_driver.hpp); x is rounded to bf16 per call. Tile
// kernels: AMX tdpbf16ps under kernel_isa::amx (ops/amx_tiles.hpp); AVX512-BF16
// vdpbf16ps (two multiply-adds per lane per instruction, twice the float32 rate);
// and on AVX2 or in portable C++ the bf16 values widened to float (exact), so every
// kernel computes the same products.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "mmt/core/cpu.hpp"
#include "mmt/core/dtype.hpp"
#include "mmt/core/kernel.hpp"
#include "mmt/core/row_reader.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/amx_tiles.hpp"
#include "mmt/ops/gemm_driver.hpp"
#include "mmt/ops/simd.hpp"

namespace mmt::ops {

class packed_weights_bf16 : public panel_buffer<std::uint16_t, 2> {
public:
    packed_weights_bf16() = default;

    // W [n, k] float32, read a panel's rows at a time, stacking `parts` equal parts.
    packed_weights_bf16(const row_reader& w, std::size_t n, std::size_t k, std::size_t parts = 1) {
        pack(w, n, k, parts, gemm::no_preparation{}, gemm::to_bf16{});
    }
    // w: [n, k] row-major float32.
    packed_weights_bf16(const float* w, std::size_t n, std::size_t k) : packed_weights_bf16(rows_in_memory(w, k), n, k) {}

    // Packs B[j][kk] = bf16(src[j * row_stride + kk * col_stride]) for j < n, kk < k,
    // reusing the buffer when it is large enough, as packed_weights::assign.
    void assign(const float* src, std::size_t n, std::size_t k, std::size_t row_stride, std::size_t col_stride) {
        pack(src, n, k, row_stride, col_stride, gemm::to_bf16{});
    }

    std::size_t pairs() const { return groups(); }
};

namespace detail {

// A row of x [k] as the kernels read it: bf16 pairs, the even k in the low half (an
// odd k's last pair has a zero high half).
inline void bf16_pairs_portable(const float* x, std::size_t k, std::uint32_t* pairs) {
    for (std::size_t kp = 0; 2 * kp < k; ++kp) {
        const std::uint32_t lo = float_to_bf16(x[2 * kp]);
        const std::uint32_t hi = 2 * kp + 1 < k ? float_to_bf16(x[2 * kp + 1]) : 0u;
        pairs[kp] = lo | (hi << 16);
    }
}

MMT_INTRINSICS_BEGIN

#if defined(__x86_64__)
// bf16_pairs_portable 8 values at a time: the same roundings (simd::to_bf16x8).
__attribute__((target("avx2"))) inline void bf16_pairs_avx2(const float* x, std::size_t k, std::uint32_t* pairs) {
    std::size_t i = 0;
    for (; i + 8 <= k; i += 8) _mm_storeu_si128(reinterpret_cast<__m128i*>(pairs + i / 2), simd::to_bf16x8(_mm256_loadu_ps(x + i)));
    bf16_pairs_portable(x + i, k - i, pairs + i / 2);
}

// The same 16 values at a time (simd::to_bf16x16).
__attribute__((target("avx512f"))) inline void bf16_pairs_avx512(const float* x, std::size_t k, std::uint32_t* pairs) {
    std::size_t i = 0;
    for (; i + 16 <= k; i += 16) _mm256_storeu_si256(reinterpret_cast<__m256i*>(pairs + i / 2), simd::to_bf16x16(_mm512_loadu_ps(x + i)));
    bf16_pairs_avx2(x + i, k - i, pairs + i / 2);
}

// c[rows, cols] (+)= a (bf16 pairs) . b (pairs x 48 x 2), 8 rows x 48 columns. Vecs =
// ceil(cols / 16) registers per row: a narrow last panel (64 = 48 + 16 columns of
// an attention head's values) does not compute the panel's zero columns.
template <std::size_t Rows, std::size_t Vecs>
__attribute__((target("avx512f,avx512bf16"))) inline void bf16_kernel_avx512(const std::uint32_t* a, std::size_t lda,
                                                                            const std::uint16_t* b, std::size_t pairs, const float* bias,
                                                                            float* c, std::size_t ldc, std::size_t cols, bool accumulate,
                                                                            const prefetch_plan& prefetch) {
    __m512 acc[Rows][Vecs];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 3
        for (std::size_t j = 0; j < Vecs; ++j) acc[r][j] = _mm512_setzero_ps();
    const std::size_t steps = prefetch.steps();
#pragma GCC unroll 2
    for (std::size_t kp = 0; kp < pairs; ++kp) {
        if (kp < steps) prefetch.issue(kp);
        const std::uint16_t* bk = b + kp * gemm::panel * 2;
        __m512bh bv[Vecs];
#pragma GCC unroll 3
        for (std::size_t j = 0; j < Vecs; ++j) bv[j] = (__m512bh)_mm512_load_si512(bk + 32 * j);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < Rows; ++r) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32(int(a[r * lda + kp]));
#pragma GCC unroll 3
            for (std::size_t j = 0; j < Vecs; ++j) acc[r][j] = _mm512_dpbf16_ps(acc[r][j], av, bv[j]);
        }
    }
#pragma GCC unroll 3
    for (std::size_t j = 0; j < Vecs; ++j) {
        const std::size_t c0 = j * 16;
        const __mmask16 mask = simd::mask16(cols - c0);
        const __m512 bias_v = bias ? _mm512_maskz_loadu_ps(mask, bias + c0) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (std::size_t r = 0; r < Rows; ++r) {
            const __m512 base = accumulate ? _mm512_maskz_loadu_ps(mask, c + r * ldc + c0) : bias_v;
            simd::store16(c + r * ldc + c0, cols - c0, mask, _mm512_add_ps(acc[r][j], base));
        }
    }
}

inline void bf16_tile_avx512(std::size_t rows, const std::uint32_t* a, std::size_t lda, const std::uint16_t* b, std::size_t pairs,
                             const float* bias, float* c, std::size_t ldc, std::size_t cols, bool accumulate, const prefetch_plan& prefetch) {
    with_rows(
        rows,
        [&](auto r) {
            with_vecs16(cols, [&](auto v) {
                bf16_kernel_avx512<decltype(r)::value, decltype(v)::value>(a, lda, b, pairs, bias, c, ldc, cols, accumulate, prefetch);
            });
        },
        std::make_index_sequence<8>{});
}

// AVX2: 16 columns at a time, each 32-bit lane of b one column's pair; the even k
// is the low half (shifted up it is that bf16 as a float), the odd k the high half.
template <std::size_t Rows>
__attribute__((target("avx2,fma"))) inline void bf16_kernel_avx2(const std::uint32_t* a, std::size_t lda, const std::uint16_t* b,
                                                                 std::size_t pairs, const float* bias, float* c, std::size_t ldc,
                                                                 std::size_t cols, bool accumulate, const prefetch_plan& prefetch) {
    const __m256i high = _mm256_set1_epi32(int(0xffff0000u));
    __m256 acc[Rows][2];
#pragma GCC unroll 4
    for (std::size_t r = 0; r < Rows; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    const std::size_t steps = prefetch.steps();
    for (std::size_t kp = 0; kp < pairs; ++kp) {
        if (kp < steps) prefetch.issue(kp);
        const std::uint16_t* bk = b + kp * gemm::panel * 2;
        const __m256i v0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(bk)),
                      v1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(bk + 16));
        const __m256 even0 = _mm256_castsi256_ps(_mm256_slli_epi32(v0, 16)), odd0 = _mm256_castsi256_ps(_mm256_and_si256(v0, high));
        const __m256 even1 = _mm256_castsi256_ps(_mm256_slli_epi32(v1, 16)), odd1 = _mm256_castsi256_ps(_mm256_and_si256(v1, high));
#pragma GCC unroll 4
        for (std::size_t r = 0; r < Rows; ++r) {
            const __m256i av = _mm256_set1_epi32(int(a[r * lda + kp]));
            const __m256 a_even = _mm256_castsi256_ps(_mm256_slli_epi32(av, 16)), a_odd = _mm256_castsi256_ps(_mm256_and_si256(av, high));
            acc[r][0] = _mm256_fmadd_ps(a_odd, odd0, _mm256_fmadd_ps(a_even, even0, acc[r][0]));
            acc[r][1] = _mm256_fmadd_ps(a_odd, odd1, _mm256_fmadd_ps(a_even, even1, acc[r][1]));
        }
    }
    for (std::size_t j = 0; j < 2; ++j) {
        const std::size_t c0 = j * 8;
        if (c0 >= cols) break;
        const __m256i mask = simd::mask8(cols - c0);
        const __m256 bias_v = bias ? _mm256_maskload_ps(bias + c0, mask) : _mm256_setzero_ps();
#pragma GCC unroll 4
        for (std::size_t r = 0; r < Rows; ++r) {
            const __m256 base = accumulate ? _mm256_maskload_ps(c + r * ldc + c0, mask) : bias_v;
            simd::store8(c + r * ldc + c0, cols - c0, mask, _mm256_add_ps(acc[r][j], base));
        }
    }
}

inline void bf16_tile_avx2(std::size_t rows, const std::uint32_t* a, std::size_t lda, const std::uint16_t* b, std::size_t pairs,
                           const float* bias, float* c, std::size_t ldc, std::size_t cols, bool accumulate, const prefetch_plan& prefetch) {
    for (std::size_t c0 = 0; c0 < cols; c0 += 16) {
        const prefetch_plan& ask = c0 == 0 ? prefetch : prefetch_plan{};
        with_rows(
            rows,
            [&](auto r) {
                bf16_kernel_avx2<decltype(r)::value>(a, lda, b + 2 * c0, pairs, bias ? bias + c0 : nullptr, c + c0, ldc,
                                                     std::min<std::size_t>(16, cols - c0), accumulate, ask);
            },
            std::make_index_sequence<4>{});
    }
}
#endif

MMT_INTRINSICS_END

inline void bf16_tile_portable(std::size_t rows, const std::uint32_t* a, std::size_t lda, const std::uint16_t* b, std::size_t pairs,
                               const float* bias, float* c, std::size_t ldc, std::size_t cols, bool accumulate, const prefetch_plan&) {
    for (std::size_t r = 0; r < rows; ++r) {
        float acc[gemm::panel] = {};
        for (std::size_t kp = 0; kp < pairs; ++kp) {
            const float a0 = bf16_to_float(std::uint16_t(a[r * lda + kp])), a1 = bf16_to_float(std::uint16_t(a[r * lda + kp] >> 16));
            const std::uint16_t* bk = b + kp * gemm::panel * 2;
            for (std::size_t j = 0; j < gemm::panel; ++j) acc[j] += a0 * bf16_to_float(bk[2 * j]) + a1 * bf16_to_float(bk[2 * j + 1]);
        }
        for (std::size_t j = 0; j < cols; ++j) c[r * ldc + j] = acc[j] + (accumulate ? c[r * ldc + j] : bias ? bias[j] : 0.0f);
    }
}

// A row of x [k] as the kernels read it, (k + 1) / 2 pairs, rounded the same way under every kernel.
inline void bf16_pairs(const float* x, std::size_t k, std::uint32_t* pairs, kernel_isa isa) {
#if defined(__x86_64__)
    if (isa >= kernel_isa::avx512) return bf16_pairs_avx512(x, k, pairs);
    if (isa == kernel_isa::avx2) return bf16_pairs_avx2(x, k, pairs);
#endif
    (void)isa;
    bf16_pairs_portable(x, k, pairs);
}

}  // namespace detail

// Whether a kernel multiplies bf16 natively (AVX512-BF16), at twice float32's rate;
// the others widen bf16 to float and pay for it.
inline bool bf16_is_native(kernel_isa isa) {
#if defined(__x86_64__)
    return isa >= kernel_isa::avx512 && cpu::has_avx512_bf16();
#else
    (void)isa;
    return false;
#endif
}

// bf16 for the driver: x's rows rounded to bf16 pairs, sums in float32 straight into y.
struct bf16_gemm {
    using weights = packed_weights_bf16;
    using weight = std::uint16_t;
    using a_type = std::uint32_t;  // a k-pair of x, the even k in the low half
    using acc_type = float;
    using accumulator = sum_into_output;
    static constexpr std::size_t group = 2;
    // Pairs per block, whatever the row tiles sharing it: 48 KiB of a panel, as float32.
    static constexpr std::size_t block_groups(std::size_t) { return 256; }

    struct prepared {
        std::shared_ptr<const std::uint32_t[]> storage;  // [m, pairs]
        const std::uint32_t* a;
        std::size_t lda;
    };
    static prepared prepare(const float* x, std::size_t m, std::size_t ldx, std::size_t k, kernel_isa isa) {
        const std::size_t pairs = (k + 1) / 2;
        std::shared_ptr<std::uint32_t[]> a(new std::uint32_t[std::max<std::size_t>(1, m * pairs)]);
        parallel_for(m, row_grain(k), [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) detail::bf16_pairs(x + r * ldx, k, a.get() + r * pairs, isa);
        });
        return {a, a.get(), pairs};
    }

    // AVX-512 without its BF16 extension runs the AVX2 kernel.
    static tile_kernel<bf16_gemm> kernel(kernel_isa isa) {
#if defined(__x86_64__)
        if (isa == kernel_isa::amx) return {detail::amx_tile<amx::hardware, std::uint16_t, float>, amx::max_rows, "AMX bf16 16x48"};
        if (bf16_is_native(isa)) return {detail::bf16_tile_avx512, 8, "AVX512-BF16 8x48"};
        if (isa != kernel_isa::portable) return {detail::bf16_tile_avx2, 4, "AVX2 bf16 widened to float 4x16"};
#endif
        (void)isa;
        return {detail::bf16_tile_portable, 8, "portable bf16 8x48"};
    }

    // The sums are y already: only the epilogue is left.
    static void finish(kernel_isa, std::size_t rows, const float*, std::size_t, const prepared&, std::size_t r0, const weights&,
                       std::size_t c0, std::size_t cols, const float*, float* y, std::size_t ldy, const gemm_epilogue& epilogue) {
        epilogue.apply(y, ldy, r0, c0, rows, cols);
    }
};

// Which kernel gemm_packed_bf16 runs now.
inline const char* packed_gemm_bf16_kernel() { return bf16_gemm::kernel(active_kernel()).name; }

// x: [m, k] float32 with row stride ldx, y: [m, n] with row stride ldy (must not
// alias x), bias: [n] or nullptr, `epilogue` on each finished tile of y.
inline void gemm_packed_bf16(const float* x, std::size_t m, std::size_t ldx, const packed_weights_bf16& w, const float* bias, float* y,
                             std::size_t ldy, const gemm_epilogue& epilogue = {}) {
    run_gemm<bf16_gemm>(x, m, ldx, w, bias, y, ldy, epilogue);
}

// x already rounded: m rows of w.pairs() pairs (detail::bf16_pairs) with row stride
// lda pairs, y: [m, n] with row stride ldy.
inline void gemm_packed_bf16_pairs(const std::uint32_t* a, std::size_t m, std::size_t lda, const packed_weights_bf16& w, const float* bias,
                                   float* y, std::size_t ldy, const gemm_epilogue& epilogue = {}) {
    run_gemm_prepared<bf16_gemm>({nullptr, a, lda}, m, w, bias, y, ldy, epilogue);
}

// Contiguous x [m, k] and y [m, n].
inline void gemm_packed_bf16(const float* x, std::size_t m, const packed_weights_bf16& w, const float* bias, float* y,
                             const gemm_epilogue& epilogue = {}) {
    gemm_packed_bf16(x, m, w.cols(), w, bias, y, w.rows(), epilogue);
}

}  // namespace mmt::ops
