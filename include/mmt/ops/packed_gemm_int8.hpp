// y[M, N] = x[M, K] W[N, K]^T + b with int8 dynamic quantisation: W in int8
// with one scale per output channel (max |w| / 127, fixed at load), each row of x
// in uint8 over its own range (x = min + scale * q, q in 0..255, per call: GELU
// outputs are lopsided, so this keeps twice the levels of a symmetric int8),
// int32 accumulation with AVX512-VNNI vpdpbusd (four multiply-adds per lane, four
// times the float32 FMA rate on this project's machine: bench
// roofline_vnni_dot_peak). Then y = (acc * x_scale + x_min * sum(w)) * w_scale + b.
// W is packed in panels of 48 columns holding k-quads [K / 4][48][4], run in
// blocks of 192 quads (36 KiB, L1) over all rows before the next block. x is
// quantised with AVX-512 (AVX512BW) or portable code that give the same levels.
// Without VNNI a portable kernel computes the same integers.
//
// Accuracy: both roundings are the 8-bit floor of round-to-nearest. On the tiny
// fixtures, rounding W moves the outputs about 1.5 times as much as rounding x,
// and neither an MSE-optimal weight scale nor sum-preserving rounding changes that
// by more than noise. So the models keep their output heads (classifiers, lm_head,
// CLIP's projections) in float32 (layers::linear::load_head): a fraction of a
// percent of the FLOPs, and the layer whose outputs are the labels users read.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <utility>
#include <vector>

#include <immintrin.h>

#include "mmt/core/cpu.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/packed_gemm.hpp"

namespace mmt::ops {

MMT_INTRINSICS_BEGIN

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

// One row of x as the kernels read it: 4 * quads levels (the padding past k stays
// zero and meets zero weights), x = min + scale * level.
struct quantised_row {
    float scale = 1, min = 0;
};

namespace detail {

constexpr std::size_t int8_rows = 8;

// The row's range always holds 0, so a row of zeros has min = 0 and levels 0.
inline quantised_row row_quantisation(float lo, float hi) {
    return {hi > lo ? (hi - lo) / 255.0f : 1.0f, lo};
}

// Both quantisers take the range and then level = nearbyint(clamp((x - min) * (1 / scale), 0, 255))
// with the same float operations, each comparison written as the ternary that
// minps/maxps compute (a NaN is left out of the range and gets level 0), and the
// conversion in the current rounding mode: the same integers for every input.
inline quantised_row quantise_row_portable(const float* row, std::size_t k, std::uint8_t* levels) {
    float lo = 0, hi = 0;
    for (std::size_t i = 0; i < k; ++i) {
        lo = row[i] < lo ? row[i] : lo;
        hi = row[i] > hi ? row[i] : hi;
    }
    const quantised_row q = row_quantisation(lo, hi);
    const float inv = 1.0f / q.scale;
    for (std::size_t i = 0; i < k; ++i) {
        float v = (row[i] - q.min) * inv;
        v = v > 0.0f ? v : 0.0f;
        v = v < 255.0f ? v : 255.0f;
        levels[i] = static_cast<std::uint8_t>(std::nearbyint(v));
    }
    return q;
}

// (x - min) / scale clamped to 0..255 and rounded in the current rounding mode (as
// nearbyint). A function of its own: a lambda would not inherit the target attribute.
__attribute__((target("avx512f"))) inline __m512i levels_avx512(__m512 x, __m512 min, __m512 inv_scale) {
    const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_sub_ps(x, min), inv_scale), _mm512_setzero_ps()),
                                   _mm512_set1_ps(255.0f));
    return _mm512_cvtps_epi32(v);
}

__attribute__((target("avx512f,avx512bw"))) inline quantised_row quantise_row_avx512(const float* row, std::size_t k,
                                                                                     std::uint8_t* levels) {
    const std::size_t full = k / 16 * 16;
    const __mmask16 tail = __mmask16((1u << (k - full)) - 1);
    // Starting from 0 gives min(0, min x) and max(0, max x); the masked tail loads zeros.
    __m512 lo0 = _mm512_setzero_ps(), lo1 = lo0, hi0 = lo0, hi1 = lo0;
    std::size_t i = 0;
    for (; i + 32 <= full; i += 32) {
        const __m512 a = _mm512_loadu_ps(row + i), b = _mm512_loadu_ps(row + i + 16);
        lo0 = _mm512_min_ps(a, lo0);  // a < lo0 ? a : lo0
        hi0 = _mm512_max_ps(a, hi0);
        lo1 = _mm512_min_ps(b, lo1);
        hi1 = _mm512_max_ps(b, hi1);
    }
    for (; i < full; i += 16) {
        const __m512 a = _mm512_loadu_ps(row + i);
        lo0 = _mm512_min_ps(a, lo0);
        hi0 = _mm512_max_ps(a, hi0);
    }
    if (tail) {
        const __m512 a = _mm512_maskz_loadu_ps(tail, row + full);
        lo0 = _mm512_min_ps(a, lo0);
        hi0 = _mm512_max_ps(a, hi0);
    }
    const quantised_row q =
        row_quantisation(_mm512_reduce_min_ps(_mm512_min_ps(lo0, lo1)), _mm512_reduce_max_ps(_mm512_max_ps(hi0, hi1)));
    const __m512 min = _mm512_set1_ps(q.min), inv = _mm512_set1_ps(1.0f / q.scale);
    for (i = 0; i < full; i += 16)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(levels + i), _mm512_cvtepi32_epi8(levels_avx512(_mm512_loadu_ps(row + i), min, inv)));
    if (tail) _mm512_mask_cvtepi32_storeu_epi8(levels + full, tail, levels_avx512(_mm512_maskz_loadu_ps(tail, row + full), min, inv));
    return q;
}

// The float result of a tile of sums: (acc * x_scale + x_min * column_sum) * w_scale + bias.
struct int8_epilogue {
    const quantised_row* x;  // [rows]
    const float* w_scales;   // [cols], this panel's
    const std::int32_t* column_sums;
    const float* bias;  // [cols] or null
};

// Weights per k block: 192 quads of a panel are 36 KiB, which stay in L1 while
// every row tile of x passes over them; x's block of rows stays in L2.
constexpr std::size_t int8_block_quads = 192;

// acc[Rows][48] (+)= a[Rows, quads] . b[quads][48][4]. `prefetch` names
// `prefetch_lines` cache lines (of the next weight block) to ask for into L2, one
// per k step.
template <std::size_t Rows>
__attribute__((target("avx512f,avx512vnni"))) inline void micro_kernel_int8(const std::uint32_t* a, std::size_t lda, const std::int8_t* b,
                                                                          std::size_t quads, std::int32_t* acc_out, bool accumulate,
                                                                          const char* prefetch, std::size_t prefetch_lines) {
    // 24 accumulators, 3 weight vectors and a broadcast fill 28 of the 32 registers;
    // the k loop is not unrolled and nothing else is live across it, else GCC spills.
    __m512i acc[Rows][3];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 3
        for (std::size_t j = 0; j < 3; ++j)
            acc[r][j] = accumulate ? _mm512_load_si512(acc_out + r * packed_weights_int8::panel + 16 * j) : _mm512_setzero_si512();
#pragma GCC unroll 1
    for (std::size_t kq = 0; kq < quads; ++kq) {
        if (kq < prefetch_lines) _mm_prefetch(prefetch + kq * 64, _MM_HINT_T1);
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
#pragma GCC unroll 8
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 3
        for (std::size_t j = 0; j < 3; ++j) _mm512_store_si512(acc_out + r * packed_weights_int8::panel + 16 * j, acc[r][j]);
}

template <std::size_t... Rows>
inline void tile_int8(std::size_t rows, const std::uint32_t* a, std::size_t lda, const std::int8_t* b, std::size_t quads,
                      std::int32_t* acc, bool accumulate, const char* prefetch, std::size_t prefetch_lines, std::index_sequence<Rows...>) {
    ((rows == Rows + 1 ? micro_kernel_int8<Rows + 1>(a, lda, b, quads, acc, accumulate, prefetch, prefetch_lines) : void()), ...);
}

inline void tile_int8_portable(std::size_t rows, const std::uint32_t* a, std::size_t lda, const std::int8_t* b, std::size_t quads,
                               std::int32_t* acc, bool accumulate) {
    for (std::size_t r = 0; r < rows; ++r) {
        std::int32_t* out = acc + r * packed_weights_int8::panel;
        if (!accumulate) std::fill(out, out + packed_weights_int8::panel, 0);
        for (std::size_t kq = 0; kq < quads; ++kq) {
            const std::uint32_t quad = a[r * lda + kq];
            const std::int8_t* bk = b + kq * packed_weights_int8::panel * 4;
            for (std::size_t j = 0; j < packed_weights_int8::panel; ++j)
                for (std::size_t i = 0; i < 4; ++i) out[j] += std::int32_t((quad >> (8 * i)) & 0xffu) * bk[j * 4 + i];
        }
    }
}

// c[rows, cols] from acc[rows][48].
__attribute__((target("avx512f"))) inline void epilogue_int8(std::size_t rows, const std::int32_t* acc, const int8_epilogue& e, float* c,
                                                            std::size_t ldc, std::size_t cols) {
    for (std::size_t c0 = 0; c0 < cols; c0 += 16) {
        const __mmask16 mask = cols - c0 >= 16 ? __mmask16(0xffff) : __mmask16((1u << (cols - c0)) - 1);
        const __m512 wsum = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(mask, e.column_sums + c0));
        const __m512 ws = _mm512_maskz_loadu_ps(mask, e.w_scales + c0);
        const __m512 bv = e.bias ? _mm512_maskz_loadu_ps(mask, e.bias + c0) : _mm512_setzero_ps();
        for (std::size_t r = 0; r < rows; ++r) {
            const __m512 dot = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(acc + r * packed_weights_int8::panel + c0)),
                                               _mm512_set1_ps(e.x[r].scale), _mm512_mul_ps(wsum, _mm512_set1_ps(e.x[r].min)));
            _mm512_mask_storeu_ps(c + r * ldc + c0, mask, _mm512_fmadd_ps(dot, ws, bv));
        }
    }
}

inline void epilogue_int8_portable(std::size_t rows, const std::int32_t* acc, const int8_epilogue& e, float* c, std::size_t ldc,
                                   std::size_t cols) {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j)
            c[r * ldc + j] = (float(acc[r * packed_weights_int8::panel + j]) * e.x[r].scale + e.x[r].min * float(e.column_sums[j])) *
                                 e.w_scales[j] +
                             (e.bias ? e.bias[j] : 0.0f);
}

}  // namespace detail

inline const char* packed_gemm_int8_kernel() {
    return cpu::has_avx512_vnni() ? "AVX512-VNNI int8 8x48" : "portable int8 (no AVX512-VNNI on this CPU)";
}

// x's rows (row stride ldx) as uint8 levels, four to a uint32 for the kernels'
// broadcasts: levels [m, quads] and one (scale, min) per row. `kernel` picks the
// quantiser as it picks the GEMM kernel; both give the same levels.
inline void quantise_rows_u8(const float* x, std::size_t m, std::size_t k, std::size_t ldx, std::uint32_t* levels, quantised_row* rows,
                             gemm_kernel kernel = gemm_kernel::best) {
    const std::size_t quads = (k + 3) / 4;
    const bool fast = kernel == gemm_kernel::best && cpu::has_avx512bw();
    parallel_for(m, 64, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
            auto* dst = reinterpret_cast<std::uint8_t*>(levels + r * quads);
            if (k % 4) levels[r * quads + quads - 1] = 0;
            rows[r] = fast ? detail::quantise_row_avx512(x + r * ldx, k, dst) : detail::quantise_row_portable(x + r * ldx, k, dst);
        }
    });
}

// x: [m, k] float32 with row stride ldx, y: [m, n] with row stride ldy (must not
// alias x), bias: [n] or nullptr.
inline void gemm_packed_int8(const float* x, std::size_t m, std::size_t ldx, const packed_weights_int8& w, const float* bias, float* y,
                             std::size_t ldy, gemm_kernel kernel = gemm_kernel::best) {
    constexpr std::size_t panel = packed_weights_int8::panel;
    const std::size_t n = w.rows(), k = w.cols(), quads = w.quads();
    if (m == 0 || n == 0) return;
    std::unique_ptr<std::uint32_t[]> a(new std::uint32_t[m * quads]);
    std::unique_ptr<quantised_row[]> x_rows(new quantised_row[m]);
    quantise_rows_u8(x, m, k, ldx, a.get(), x_rows.get(), kernel);
    const bool fast = kernel == gemm_kernel::best && cpu::has_avx512_vnni();
    const std::size_t blocks = std::max<std::size_t>(1, (quads + detail::int8_block_quads - 1) / detail::int8_block_quads);
    const bool small = m * n * k < (1u << 18);
    parallel_for(w.panels(), small ? w.panels() : 1, [&](std::size_t p0, std::size_t p1) {
        struct aligned_delete {
            void operator()(std::int32_t* p) const { ::operator delete[](p, std::align_val_t(64)); }
        };
        // [m][48] int32 sums of one panel, carried across the k blocks
        std::unique_ptr<std::int32_t[], aligned_delete> acc(new (std::align_val_t(64)) std::int32_t[m * panel]);
        for (std::size_t p = p0; p < p1; ++p) {
            const std::size_t c0 = p * panel, cols = std::min(panel, n - c0);
            for (std::size_t blk = 0; blk < blocks; ++blk) {
                const std::size_t q0 = quads * blk / blocks, q1 = quads * (blk + 1) / blocks;
                const std::int8_t* b = w.panel_data(p) + q0 * panel * 4;
                // The next block (of this panel, or the next panel's first) is asked for
                // into L2 while this one is in use, each row tile taking its share, as
                // the float32 GEMM does.
                const char* next = reinterpret_cast<const char*>(
                    blk + 1 < blocks ? w.panel_data(p) + q1 * panel * 4 : p + 1 < p1 ? w.panel_data(p + 1) : nullptr);
                const std::size_t next_quads = blk + 1 < blocks ? quads * (blk + 2) / blocks - q1 : quads / blocks;
                const std::size_t lines = next ? next_quads * panel * 4 / 64 : 0;
                const std::size_t tiles = (m + detail::int8_rows - 1) / detail::int8_rows, share = (lines + tiles - 1) / tiles;
                for (std::size_t r0 = 0; r0 < m; r0 += detail::int8_rows) {
                    const std::size_t rows = std::min(detail::int8_rows, m - r0);
                    std::int32_t* sums = acc.get() + r0 * panel;
                    const std::size_t first_line = std::min(lines, r0 / detail::int8_rows * share);
                    if (fast)
                        detail::tile_int8(rows, a.get() + r0 * quads + q0, quads, b, q1 - q0, sums, blk > 0, next + first_line * 64,
                                          std::min({share, lines - first_line, q1 - q0}), std::make_index_sequence<detail::int8_rows>{});
                    else
                        detail::tile_int8_portable(rows, a.get() + r0 * quads + q0, quads, b, q1 - q0, sums, blk > 0);
                    if (blk + 1 < blocks) continue;
                    const detail::int8_epilogue e{x_rows.get() + r0, w.scales() + c0, w.column_sums() + c0, bias ? bias + c0 : nullptr};
                    if (fast)
                        detail::epilogue_int8(rows, sums, e, y + r0 * ldy + c0, ldy, cols);
                    else
                        detail::epilogue_int8_portable(rows, sums, e, y + r0 * ldy + c0, ldy, cols);
                }
            }
        }
    });
}

// Contiguous x [m, k] and y [m, n].
inline void gemm_packed_int8(const float* x, std::size_t m, const packed_weights_int8& w, const float* bias, float* y,
                             gemm_kernel kernel = gemm_kernel::best) {
    gemm_packed_int8(x, m, w.cols(), w, bias, y, w.rows(), kernel);
}

MMT_INTRINSICS_END

}  // namespace mmt::ops
