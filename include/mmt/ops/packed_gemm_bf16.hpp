// y[M, N] = x[M, K] W[N, K]^T + b in bfloat16 with float32 accumulation
// (AVX512-BF16 vdpbf16ps: two multiply-adds per lane per instruction, twice the
// float32 rate). W is rounded to bf16 once at load and packed in panels of 48
// columns holding k-pairs [K / 2][48][2]; x is rounded to bf16 per call. On a
// CPU without AVX512-BF16 the same packed weights run through a portable
// kernel (bf16 values widened to float), so results agree everywhere.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include <immintrin.h>

#include "mmt/core/cpu.hpp"
#include "mmt/core/dtype.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/packed_gemm.hpp"

namespace mmt::ops {

MMT_INTRINSICS_BEGIN

class packed_weights_bf16 {
public:
    static constexpr std::size_t panel = 48;

    packed_weights_bf16() = default;

    // w: [n, k] row-major float32.
    packed_weights_bf16(const float* w, std::size_t n, std::size_t k) : n_(n), k_(k) {
        auto packed = std::make_shared<std::vector<std::uint16_t>>(panels() * pairs() * panel * 2, std::uint16_t(0));
        parallel_for(panels(), 1, [&](std::size_t p0, std::size_t p1) {
            for (std::size_t p = p0; p < p1; ++p) {
                std::uint16_t* dst = packed->data() + p * pairs() * panel * 2;
                const std::size_t cols = std::min(panel, n - p * panel);
                for (std::size_t kk = 0; kk < k; ++kk)
                    for (std::size_t c = 0; c < cols; ++c)
                        dst[(kk / 2) * panel * 2 + c * 2 + kk % 2] = float_to_bf16(w[(p * panel + c) * k + kk]);
            }
        });
        data_ = std::move(packed);
    }

    std::size_t rows() const { return n_; }
    std::size_t cols() const { return k_; }
    std::size_t pairs() const { return (k_ + 1) / 2; }
    std::size_t panels() const { return (n_ + panel - 1) / panel; }
    const std::uint16_t* panel_data(std::size_t p) const { return data_->data() + p * pairs() * panel * 2; }

private:
    std::size_t n_ = 0, k_ = 0;
    std::shared_ptr<const std::vector<std::uint16_t>> data_ = std::make_shared<std::vector<std::uint16_t>>();
};

namespace detail {

constexpr std::size_t bf16_rows = 8;

// c[rows, cols] = a (bf16 pairs, row stride lda in pairs) . panel (pairs x 48 x 2) + bias.
template <std::size_t Rows>
__attribute__((target("avx512f,avx512bf16"))) inline void micro_kernel_bf16(const std::uint32_t* a, std::size_t lda, const std::uint16_t* b,
                                                                          std::size_t pairs, const float* bias, float* c, std::size_t ldc,
                                                                          std::size_t cols) {
    __m512 acc[Rows][3];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 3
        for (int j = 0; j < 3; ++j) acc[r][j] = _mm512_setzero_ps();
#pragma GCC unroll 2
    for (std::size_t kp = 0; kp < pairs; ++kp) {
        const std::uint16_t* bk = b + kp * packed_weights_bf16::panel * 2;
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(bk), b1 = (__m512bh)_mm512_loadu_si512(bk + 32),
                       b2 = (__m512bh)_mm512_loadu_si512(bk + 64);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < Rows; ++r) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32(int(a[r * lda + kp]));
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
            acc[r][2] = _mm512_dpbf16_ps(acc[r][2], av, b2);
        }
    }
#pragma GCC unroll 3
    for (int j = 0; j < 3; ++j) {
        const std::size_t c0 = std::size_t(j) * 16;
        if (c0 >= cols) break;
        const __mmask16 mask = cols - c0 >= 16 ? __mmask16(0xffff) : __mmask16((1u << (cols - c0)) - 1);
        const __m512 bv = bias ? _mm512_maskz_loadu_ps(mask, bias + c0) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (std::size_t r = 0; r < Rows; ++r) _mm512_mask_storeu_ps(c + r * ldc + c0, mask, _mm512_add_ps(acc[r][j], bv));
    }
}

template <std::size_t... Rows>
inline void tile_bf16(std::size_t rows, const std::uint32_t* a, std::size_t lda, const std::uint16_t* b, std::size_t pairs, const float* bias,
                      float* c, std::size_t ldc, std::size_t cols, std::index_sequence<Rows...>) {
    ((rows == Rows + 1 ? micro_kernel_bf16<Rows + 1>(a, lda, b, pairs, bias, c, ldc, cols) : void()), ...);
}

inline void tile_bf16_portable(std::size_t rows, const std::uint32_t* a, std::size_t lda, const std::uint16_t* b, std::size_t pairs,
                               const float* bias, float* c, std::size_t ldc, std::size_t cols) {
    for (std::size_t r = 0; r < rows; ++r) {
        float acc[packed_weights_bf16::panel] = {};
        for (std::size_t kp = 0; kp < pairs; ++kp) {
            const float a0 = bf16_to_float(std::uint16_t(a[r * lda + kp])), a1 = bf16_to_float(std::uint16_t(a[r * lda + kp] >> 16));
            const std::uint16_t* bk = b + kp * packed_weights_bf16::panel * 2;
            for (std::size_t j = 0; j < packed_weights_bf16::panel; ++j)
                acc[j] += a0 * bf16_to_float(bk[2 * j]) + a1 * bf16_to_float(bk[2 * j + 1]);
        }
        for (std::size_t j = 0; j < cols; ++j) c[r * ldc + j] = acc[j] + (bias ? bias[j] : 0.0f);
    }
}

}  // namespace detail

inline const char* packed_gemm_bf16_kernel() {
    return cpu::has_avx512_bf16() ? "AVX512-BF16 8x48" : "portable bf16 (no AVX512-BF16 on this CPU)";
}

// x: [m, k] float32 with row stride ldx, y: [m, n] with row stride ldy (must not
// alias x), bias: [n] or nullptr.
inline void gemm_packed_bf16(const float* x, std::size_t m, std::size_t ldx, const packed_weights_bf16& w, const float* bias, float* y,
                             std::size_t ldy, gemm_kernel kernel = gemm_kernel::best) {
    const std::size_t n = w.rows(), k = w.cols(), pairs = w.pairs();
    std::vector<std::uint32_t> a(m * pairs);  // x in bf16, k-pairs packed in 32 bits (an odd k gets a zero)
    parallel_for(m, 16, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r)
            for (std::size_t kp = 0; kp < pairs; ++kp) {
                const std::uint32_t lo = float_to_bf16(x[r * ldx + 2 * kp]);
                const std::uint32_t hi = 2 * kp + 1 < k ? float_to_bf16(x[r * ldx + 2 * kp + 1]) : 0u;
                a[r * pairs + kp] = lo | (hi << 16);
            }
    });
    const bool fast = kernel == gemm_kernel::best && cpu::has_avx512_bf16();
    const bool small = m * n * k < (1u << 18);
    parallel_for(w.panels(), small ? w.panels() : 1, [&](std::size_t p0, std::size_t p1) {
        for (std::size_t p = p0; p < p1; ++p) {
            const std::size_t c0 = p * packed_weights_bf16::panel, cols = std::min(packed_weights_bf16::panel, n - c0);
            const float* bp = bias ? bias + c0 : nullptr;
            for (std::size_t r0 = 0; r0 < m; r0 += detail::bf16_rows) {
                const std::size_t rows = std::min(detail::bf16_rows, m - r0);
                if (fast)
                    detail::tile_bf16(rows, a.data() + r0 * pairs, pairs, w.panel_data(p), pairs, bp, y + r0 * ldy + c0, ldy, cols,
                                      std::make_index_sequence<detail::bf16_rows>{});
                else
                    detail::tile_bf16_portable(rows, a.data() + r0 * pairs, pairs, w.panel_data(p), pairs, bp, y + r0 * ldy + c0, ldy,
                                               cols);
            }
        }
    });
}

// Contiguous x [m, k] and y [m, n].
inline void gemm_packed_bf16(const float* x, std::size_t m, const packed_weights_bf16& w, const float* bias, float* y,
                             gemm_kernel kernel = gemm_kernel::best) {
    gemm_packed_bf16(x, m, w.cols(), w, bias, y, w.rows(), kernel);
}

MMT_INTRINSICS_END

}  // namespace mmt::ops
