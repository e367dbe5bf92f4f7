// y[M, N] = x[M, K] W[N, K]^T + b with int8 dynamic quantisation: W in int8
// with one scale per output channel (max |w| / 127, fixed at load), each row of x
// in uint8 over its own range (x = min + scale * q, q in 0..255, per call: GELU
// outputs are lopsided, so this keeps twice the levels of a symmetric int8),
// int32 accumulation with AVX512-VNNI vpdpbusd (four multiply-adds per lane, four
// times the float32 FMA rate on this project's machine: bench
// roofline_vnni_dot_peak). Then y = (acc * x_scale + x_min * sum(w)) * w_scale + b.
// W is packed in panels of 48 columns holding k-quads [K / 4][48][4]. Without
// VNNI a portable kernel computes the same integers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <immintrin.h>

#include "mmt/core/threading.hpp"
#include "mmt/ops/packed_gemm.hpp"

namespace mmt::ops {

// GCC 12 reports the _mm512_undefined_* placeholders inside its own intrinsics
// (cvtepi32_ps, maskz loads) as uninitialised (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC only: clang has no such group
#endif

namespace detail {
inline bool cpu_has_avx512_vnni() {
    static const bool has = __builtin_cpu_supports("avx512vnni");
    return has;
}
}  // namespace detail

class packed_weights_int8 {
public:
    static constexpr std::size_t panel = 48;

    packed_weights_int8() = default;

    // w: [n, k] row-major float32.
    packed_weights_int8(const float* w, std::size_t n, std::size_t k) : n_(n), k_(k) {
        auto data = std::make_shared<std::vector<std::int8_t>>(panels() * quads() * panel * 4, std::int8_t(0));
        auto scales = std::make_shared<std::vector<float>>(panels() * panel, 0.0f);
        auto sums = std::make_shared<std::vector<std::int32_t>>(panels() * panel, 0);
        parallel_for(n, 16, [&](std::size_t j0, std::size_t j1) {
            for (std::size_t j = j0; j < j1; ++j) {
                float max = 0;
                for (std::size_t kk = 0; kk < k; ++kk) max = std::max(max, std::fabs(w[j * k + kk]));
                const float scale = max > 0 ? max / 127.0f : 1.0f;
                (*scales)[j] = scale;
                std::int8_t* dst = data->data() + (j / panel) * quads() * panel * 4;
                std::int32_t sum = 0;
                for (std::size_t kk = 0; kk < k; ++kk) {
                    const auto q = static_cast<std::int8_t>(std::lround(w[j * k + kk] / scale));
                    dst[(kk / 4) * panel * 4 + (j % panel) * 4 + kk % 4] = q;
                    sum += q;
                }
                (*sums)[j] = sum;
            }
        });
        data_ = std::move(data);
        scales_ = std::move(scales);
        sums_ = std::move(sums);
    }

    std::size_t rows() const { return n_; }
    std::size_t cols() const { return k_; }
    std::size_t quads() const { return (k_ + 3) / 4; }
    std::size_t panels() const { return (n_ + panel - 1) / panel; }
    const std::int8_t* panel_data(std::size_t p) const { return data_->data() + p * quads() * panel * 4; }
    const float* scales() const { return scales_->data(); }         // [n] per output channel
    const std::int32_t* column_sums() const { return sums_->data(); }  // [n] sum of the int8 weights

private:
    std::size_t n_ = 0, k_ = 0;
    std::shared_ptr<const std::vector<std::int8_t>> data_ = std::make_shared<std::vector<std::int8_t>>();
    std::shared_ptr<const std::vector<float>> scales_ = std::make_shared<std::vector<float>>();
    std::shared_ptr<const std::vector<std::int32_t>> sums_ = std::make_shared<std::vector<std::int32_t>>();
};

namespace detail {

constexpr std::size_t int8_rows = 8;

// The float result of one tile: (acc * x_scale + x_min * column_sum) * w_scale + bias.
struct int8_epilogue {
    const float* x_scales;  // [rows]
    const float* x_mins;    // [rows]
    const float* w_scales;  // [cols], this panel's
    const std::int32_t* column_sums;
    const float* bias;  // [cols] or null
};

template <std::size_t Rows>
__attribute__((target("avx512f,avx512vnni"))) inline void micro_kernel_int8(const std::uint32_t* a, std::size_t lda, const std::int8_t* b,
                                                                          std::size_t quads, const int8_epilogue& e, float* c,
                                                                          std::size_t ldc, std::size_t cols) {
    __m512i acc[Rows][3];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 3
        for (int j = 0; j < 3; ++j) acc[r][j] = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (std::size_t kq = 0; kq < quads; ++kq) {
        const std::int8_t* bk = b + kq * packed_weights_int8::panel * 4;
        const __m512i b0 = _mm512_loadu_si512(bk), b1 = _mm512_loadu_si512(bk + 64), b2 = _mm512_loadu_si512(bk + 128);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < Rows; ++r) {
            const __m512i av = _mm512_set1_epi32(int(a[r * lda + kq]));
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, b1);
            acc[r][2] = _mm512_dpbusd_epi32(acc[r][2], av, b2);
        }
    }
#pragma GCC unroll 3
    for (int j = 0; j < 3; ++j) {
        const std::size_t c0 = std::size_t(j) * 16;
        if (c0 >= cols) break;
        const __mmask16 mask = cols - c0 >= 16 ? __mmask16(0xffff) : __mmask16((1u << (cols - c0)) - 1);
        const __m512 sums = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(mask, e.column_sums + c0));
        const __m512 ws = _mm512_maskz_loadu_ps(mask, e.w_scales + c0);
        const __m512 bv = e.bias ? _mm512_maskz_loadu_ps(mask, e.bias + c0) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (std::size_t r = 0; r < Rows; ++r) {
            const __m512 dot = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][j]), _mm512_set1_ps(e.x_scales[r]),
                                               _mm512_mul_ps(sums, _mm512_set1_ps(e.x_mins[r])));
            _mm512_mask_storeu_ps(c + r * ldc + c0, mask, _mm512_fmadd_ps(dot, ws, bv));
        }
    }
}

template <std::size_t... Rows>
inline void tile_int8(std::size_t rows, const std::uint32_t* a, std::size_t lda, const std::int8_t* b, std::size_t quads,
                      const int8_epilogue& e, float* c, std::size_t ldc, std::size_t cols, std::index_sequence<Rows...>) {
    ((rows == Rows + 1 ? micro_kernel_int8<Rows + 1>(a, lda, b, quads, e, c, ldc, cols) : void()), ...);
}

inline void tile_int8_portable(std::size_t rows, const std::uint32_t* a, std::size_t lda, const std::int8_t* b, std::size_t quads,
                               const int8_epilogue& e, float* c, std::size_t ldc, std::size_t cols) {
    for (std::size_t r = 0; r < rows; ++r) {
        std::int32_t acc[packed_weights_int8::panel] = {};
        for (std::size_t kq = 0; kq < quads; ++kq) {
            const std::uint32_t quad = a[r * lda + kq];
            const std::int8_t* bk = b + kq * packed_weights_int8::panel * 4;
            for (std::size_t j = 0; j < packed_weights_int8::panel; ++j)
                for (std::size_t i = 0; i < 4; ++i) acc[j] += std::int32_t((quad >> (8 * i)) & 0xffu) * bk[j * 4 + i];
        }
        for (std::size_t j = 0; j < cols; ++j)
            c[r * ldc + j] = (float(acc[j]) * e.x_scales[r] + e.x_mins[r] * float(e.column_sums[j])) * e.w_scales[j] +
                             (e.bias ? e.bias[j] : 0.0f);
    }
}

}  // namespace detail

inline const char* packed_gemm_int8_kernel() {
    return detail::cpu_has_avx512_vnni() ? "AVX512-VNNI int8 8x48" : "portable int8 (no AVX512-VNNI on this CPU)";
}

// x: [m, k] float32, y: [m, n], bias: [n] or nullptr.
inline void gemm_packed_int8(const float* x, std::size_t m, const packed_weights_int8& w, const float* bias, float* y,
                             gemm_kernel kernel = gemm_kernel::best) {
    const std::size_t n = w.rows(), k = w.cols(), quads = w.quads();
    std::vector<std::uint32_t> a(m * quads);  // x's levels as u8 quads; the padding past k meets zero weights
    std::vector<float> x_scales(m), x_mins(m);
    parallel_for(m, 16, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
            const float* row = x + r * k;
            const float lo = std::min(0.0f, *std::min_element(row, row + k)), hi = std::max(0.0f, *std::max_element(row, row + k));
            const float scale = hi > lo ? (hi - lo) / 255.0f : 1.0f;
            x_scales[r] = scale;
            x_mins[r] = lo;
            for (std::size_t kq = 0; kq < quads; ++kq) {
                std::uint32_t quad = 0;
                for (std::size_t i = 0; i < 4; ++i) {
                    const std::size_t kk = 4 * kq + i;
                    const long q = kk < k ? std::lround((row[kk] - lo) / scale) : 0;
                    quad |= std::uint32_t(q) << (8 * i);
                }
                a[r * quads + kq] = quad;
            }
        }
    });
    const bool fast = kernel == gemm_kernel::best && detail::cpu_has_avx512_vnni();
    const bool small = m * n * k < (1u << 18);
    parallel_for(w.panels(), small ? w.panels() : 1, [&](std::size_t p0, std::size_t p1) {
        for (std::size_t p = p0; p < p1; ++p) {
            const std::size_t c0 = p * packed_weights_int8::panel, cols = std::min(packed_weights_int8::panel, n - c0);
            for (std::size_t r0 = 0; r0 < m; r0 += detail::int8_rows) {
                const std::size_t rows = std::min(detail::int8_rows, m - r0);
                const detail::int8_epilogue e{x_scales.data() + r0, x_mins.data() + r0, w.scales() + c0, w.column_sums() + c0,
                                              bias ? bias + c0 : nullptr};
                if (fast)
                    detail::tile_int8(rows, a.data() + r0 * quads, quads, w.panel_data(p), quads, e, y + r0 * n + c0, n, cols,
                                      std::make_index_sequence<detail::int8_rows>{});
                else
                    detail::tile_int8_portable(rows, a.data() + r0 * quads, quads, w.panel_data(p), quads, e, y + r0 * n + c0, n, cols);
            }
        }
    });
}

#pragma GCC diagnostic pop

}  // namespace mmt::ops
