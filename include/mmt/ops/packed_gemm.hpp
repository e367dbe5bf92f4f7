// y[M, N] = x[M, K] W[N, K]^T + b with W packed once at load into column
// panels [N / panel][K][panel], so the inner loop reads each weight exactly once
// per row block from contiguous memory. On AVX-512 CPUs an 8-row x 48-column
// register-tiled micro-kernel runs (runtime dispatch); elsewhere a portable
// kernel over the same layout. Threads take whole panels: results do not depend
// on the thread count.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <immintrin.h>

#include "mmt/core/cpu.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"

namespace mmt::ops {

MMT_INTRINSICS_BEGIN

class packed_weights {
public:
    static constexpr std::size_t panel = 48;  // columns of W^T per panel: three 16-float registers

    packed_weights() = default;

    // w: [n, k] row-major (nn.Linear's weight). Columns past n in the last panel are zero.
    packed_weights(const float* w, std::size_t n, std::size_t k) { assign(w, n, k, k, 1); }

    // Packs B[j][kk] = src[j * row_stride + kk * col_stride] for j < n, kk < k, reusing
    // the buffer when it is large enough: K of one attention head is (row_stride =
    // hidden, 1), V transposed is (1, hidden).
    void assign(const float* src, std::size_t n, std::size_t k, std::size_t row_stride, std::size_t col_stride) {
        n_ = n;
        k_ = k;
        const std::size_t floats = std::max<std::size_t>(16, panels() * k * panel);
        if (floats > capacity_ || data_.use_count() > 1) {  // never write into a buffer a copy shares
            data_.reset(static_cast<float*>(std::aligned_alloc(64, floats * sizeof(float))), free_deleter{});
            if (!data_) fail<error>("packed_weights: cannot allocate ", floats * sizeof(float), " bytes");
            capacity_ = floats;
        }
        const bool big = n * k > (1u << 16);
        parallel_for(panels(), big ? 1 : panels(), [&](std::size_t p0, std::size_t p1) {
            for (std::size_t p = p0; p < p1; ++p) {
                float* dst = data_.get() + p * k * panel;  // [k][panel], a few hundred KiB: stays in L2
                const std::size_t cols = std::min(panel, n - p * panel);
                if (row_stride == 1) {  // a panel row is contiguous in src (V transposed): copy it whole
                    for (std::size_t kk = 0; kk < k; ++kk)
                        std::memcpy(dst + kk * panel, src + p * panel + kk * col_stride, cols * sizeof(float));
                } else {
                    // 64 of k at a time: the panel rows being written (12 KiB) stay in L1
                    // while the 48 source rows are read in order.
                    for (std::size_t k0 = 0; k0 < k; k0 += 64) {
                        const std::size_t k1 = std::min(k, k0 + 64);
                        for (std::size_t c = 0; c < cols; ++c) {
                            const float* row = src + (p * panel + c) * row_stride;
                            for (std::size_t kk = k0; kk < k1; ++kk) dst[kk * panel + c] = row[kk * col_stride];
                        }
                    }
                }
                for (std::size_t kk = 0; kk < k; ++kk)
                    for (std::size_t c = cols; c < panel; ++c) dst[kk * panel + c] = 0.0f;
            }
        });
    }

    std::size_t rows() const { return n_; }  // out_features
    std::size_t cols() const { return k_; }  // in_features
    std::size_t panels() const { return (n_ + panel - 1) / panel; }
    const float* panel_data(std::size_t p) const { return data_.get() + p * k_ * panel; }

    // Back to [n, k] row-major, for callers that need the plain matrix.
    void unpack(float* w) const {
        for (std::size_t j = 0; j < n_; ++j)
            for (std::size_t kk = 0; kk < k_; ++kk) w[j * k_ + kk] = panel_data(j / panel)[kk * panel + j % panel];
    }

private:
    struct free_deleter {
        void operator()(float* p) const { std::free(p); }
    };
    std::size_t n_ = 0, k_ = 0, capacity_ = 0;
    std::shared_ptr<float> data_{nullptr, free_deleter{}};  // shared: loaded weights are immutable
};

namespace detail {

constexpr std::size_t gemm_rows = 8;     // rows of x per micro-tile
constexpr std::size_t gemm_depth = 256;  // k per block: 8 rows of x (8 KiB) stay in L1 across a panel

// c[rows, cols] (row stride ldc) = a[rows, k] (row stride lda) . panel[k, 48] + bias, for rows <= 8, cols <= 48;
// with `accumulate`, c's values are added (a later block of k) and bias must be null.
// Vecs = ceil(cols / 16) registers per row: a narrow last panel (64 = 48 + 16
// columns of an attention head) does not compute the panel's zero columns.
// One k step: acc[r][j] += a[r][kk] * b[kk][16 j .. 16 j + 15].
template <std::size_t Rows, std::size_t Vecs>
__attribute__((target("avx512f"), always_inline)) inline void kernel_step_avx512(__m512 (&acc)[Rows][Vecs], const float* a,
                                                                                  std::size_t lda, const float* b, std::size_t kk) {
    const float* bk = b + kk * packed_weights::panel;
    __m512 bv[Vecs];
#pragma GCC unroll 3
    for (std::size_t j = 0; j < Vecs; ++j) bv[j] = _mm512_load_ps(bk + 16 * j);
#pragma GCC unroll 8
    for (std::size_t r = 0; r < Rows; ++r) {
        const __m512 av = _mm512_set1_ps(a[r * lda + kk]);
#pragma GCC unroll 3
        for (std::size_t j = 0; j < Vecs; ++j) acc[r][j] = _mm512_fmadd_ps(av, bv[j], acc[r][j]);
    }
}

// `prefetch` names `prefetch_lines` cache lines to ask for into L2, spread over the
// first k steps (a burst of them would fill the miss buffers and stall the FMAs).
template <std::size_t Rows, std::size_t Vecs>
__attribute__((target("avx512f"))) inline void micro_kernel_avx512(const float* a, std::size_t lda, const float* b, std::size_t k,
                                                                    const float* bias, float* c, std::size_t ldc, std::size_t cols,
                                                                    bool accumulate, const char* prefetch, std::size_t prefetch_lines) {
    // The loops over rows and registers are unrolled so `acc` lives in registers.
    __m512 acc[Rows][Vecs];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 3
        for (std::size_t j = 0; j < Vecs; ++j) acc[r][j] = _mm512_setzero_ps();
    const std::size_t per_step = k ? (prefetch_lines + k - 1) / k : 0;  // lines per k step, so all are asked for within k steps
    std::size_t kk = 0;
    for (std::size_t line = 0; line < prefetch_lines && kk < k; ++kk) {
        for (const std::size_t end = std::min(line + per_step, prefetch_lines); line < end; ++line)
            _mm_prefetch(prefetch + line * 64, _MM_HINT_T1);
        kernel_step_avx512(acc, a, lda, b, kk);
    }
#pragma GCC unroll 2
    for (; kk < k; ++kk) kernel_step_avx512(acc, a, lda, b, kk);
#pragma GCC unroll 3
    for (std::size_t j = 0; j < Vecs; ++j) {
        const std::size_t c0 = j * 16;
        const __mmask16 mask = cols - c0 >= 16 ? __mmask16(0xffff) : __mmask16((1u << (cols - c0)) - 1);
        const __m512 bias_v = bias ? _mm512_maskz_loadu_ps(mask, bias + c0) : _mm512_setzero_ps();
#pragma GCC unroll 8
        for (std::size_t r = 0; r < Rows; ++r) {
            const __m512 base = accumulate ? _mm512_maskz_loadu_ps(mask, c + r * ldc + c0) : bias_v;
            _mm512_mask_storeu_ps(c + r * ldc + c0, mask, _mm512_add_ps(acc[r][j], base));
        }
    }
}

// The same tile in portable C++ (the compiler vectorises the column loop).
inline void micro_kernel_portable(const float* a, std::size_t lda, std::size_t rows, const float* b, std::size_t k, const float* bias,
                                  float* c, std::size_t ldc, std::size_t cols, bool accumulate) {
    float acc[gemm_rows][packed_weights::panel] = {};
    for (std::size_t kk = 0; kk < k; ++kk) {
        const float* bk = b + kk * packed_weights::panel;
        for (std::size_t r = 0; r < rows; ++r) {
            const float av = a[r * lda + kk];
            for (std::size_t j = 0; j < packed_weights::panel; ++j) acc[r][j] += av * bk[j];
        }
    }
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j) c[r * ldc + j] = acc[r][j] + (accumulate ? c[r * ldc + j] : bias ? bias[j] : 0.0f);
}

template <std::size_t Vecs, std::size_t... Rows>
inline void tile_avx512(std::size_t rows, const float* a, std::size_t lda, const float* b, std::size_t k, const float* bias, float* c,
                        std::size_t ldc, std::size_t cols, bool accumulate, const char* prefetch, std::size_t prefetch_lines,
                        std::index_sequence<Rows...>) {
    // rows is 1..8: call the kernel compiled for exactly that many rows.
    ((rows == Rows + 1 ? micro_kernel_avx512<Rows + 1, Vecs>(a, lda, b, k, bias, c, ldc, cols, accumulate, prefetch, prefetch_lines)
                       : void()),
     ...);
}

inline void tile_avx512(std::size_t rows, const float* a, std::size_t lda, const float* b, std::size_t k, const float* bias, float* c,
                        std::size_t ldc, std::size_t cols, bool accumulate, const char* prefetch, std::size_t prefetch_lines) {
    constexpr auto all_rows = std::make_index_sequence<gemm_rows>{};
    if (cols > 32) tile_avx512<3>(rows, a, lda, b, k, bias, c, ldc, cols, accumulate, prefetch, prefetch_lines, all_rows);
    else if (cols > 16) tile_avx512<2>(rows, a, lda, b, k, bias, c, ldc, cols, accumulate, prefetch, prefetch_lines, all_rows);
    else tile_avx512<1>(rows, a, lda, b, k, bias, c, ldc, cols, accumulate, prefetch, prefetch_lines, all_rows);
}

}  // namespace detail

// `best` picks the AVX-512 kernel when the CPU has it; `portable` forces the
// plain C++ one (tests run both).
enum class gemm_kernel { best, portable };

// Which kernel gemm_packed runs on this CPU.
inline const char* packed_gemm_kernel() { return cpu::has_avx512() ? "AVX-512 8x48" : "portable 8x48"; }

// x: [m, k] with row stride ldx, y: [m, n] with row stride ldy (must not alias x),
// bias: [n] or nullptr.
inline void gemm_packed(const float* x, std::size_t m, std::size_t ldx, const packed_weights& w, const float* bias, float* y,
                        std::size_t ldy, gemm_kernel kernel = gemm_kernel::best) {
    const std::size_t n = w.rows(), k = w.cols();
    const bool avx512 = kernel == gemm_kernel::best && cpu::has_avx512();
    const bool small = m * n * k < (1u << 18);  // not worth waking a second thread
    parallel_for(w.panels(), small ? w.panels() : 1, [&](std::size_t p0, std::size_t p1) {
        for (std::size_t p = p0; p < p1; ++p) {
            const std::size_t c0 = p * packed_weights::panel, cols = std::min(packed_weights::panel, n - c0);
            for (std::size_t k0 = 0; k0 < k; k0 += detail::gemm_depth) {
                const std::size_t depth = std::min(detail::gemm_depth, k - k0);
                const bool accumulate = k0 > 0;
                const float* bp = bias && !accumulate ? bias + c0 : nullptr;
                const float* panel = w.panel_data(p) + k0 * packed_weights::panel;
                // With few rows (batch 1) the weights stream from memory faster than
                // the hardware prefetcher fetches them: each row tile asks for its share
                // of the next block (the next depth, or the next panel's first) into
                // L2, spread over its k loop, so it arrives while this block is in use
                // (op_linear_packed at 50 rows, weights not in cache: 1287 us without,
                // 849 us with; the weights of a model never are in cache).
                const bool last_depth = k0 + depth >= k;
                const char* next = reinterpret_cast<const char*>(
                    last_depth ? (p + 1 < p1 ? w.panel_data(p + 1) : nullptr) : panel + depth * packed_weights::panel);
                const std::size_t next_bytes =
                    std::min(detail::gemm_depth, last_depth ? k : k - k0 - depth) * packed_weights::panel * sizeof(float);
                const std::size_t tiles = (m + detail::gemm_rows - 1) / detail::gemm_rows;
                const std::size_t lines = next ? (next_bytes + 63) / 64 : 0, share = (lines + tiles - 1) / tiles;
                for (std::size_t r0 = 0; r0 < m; r0 += detail::gemm_rows) {
                    const std::size_t rows = std::min(detail::gemm_rows, m - r0);
                    const std::size_t first_line = std::min(lines, r0 / detail::gemm_rows * share);
                    const float* a = x + r0 * ldx + k0;
                    float* c = y + r0 * ldy + c0;
                    if (avx512)
                        detail::tile_avx512(rows, a, ldx, panel, depth, bp, c, ldy, cols, accumulate, next + first_line * 64,
                                            std::min(share, lines - first_line));
                    else
                        detail::micro_kernel_portable(a, ldx, rows, panel, depth, bp, c, ldy, cols, accumulate);
                }
            }
        }
    });
}

// Contiguous x [m, k] and y [m, n].
inline void gemm_packed(const float* x, std::size_t m, const packed_weights& w, const float* bias, float* y,
                        gemm_kernel kernel = gemm_kernel::best) {
    gemm_packed(x, m, w.cols(), w, bias, y, w.rows(), kernel);
}

MMT_INTRINSICS_END

}  // namespace mmt::ops
