// y[M, N] = x[M, K] W[N, K]^T + b in float32 with W packed once at load into column
// panels [N / 48][K][48] (ops/gemm_driver.hpp), so the inner loop reads each weight
// exactly once per row block from contiguous memory. Tile kernels: AVX-512 8 rows x
// 48 columns, AVX2 + FMA 6 x 16 in three passes over the panel, and the portable
// one on Eigen's GEMM; the active kernel_isa picks one (core/kernel.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <utility>

#include "mmt/core/cpu.hpp"
#include "mmt/core/eigen.hpp"
#include "mmt/core/kernel.hpp"
#include "mmt/core/row_reader.hpp"
#include "mmt/ops/gemm_driver.hpp"
#include "mmt/ops/simd.hpp"

namespace mmt::ops {

class packed_weights : public panel_buffer<float, 1> {
public:
    packed_weights() = default;

    // w: [n, k] row-major (nn.Linear's weight).
    packed_weights(const float* w, std::size_t n, std::size_t k) { assign(w, n, k, k, 1); }
    // W [n, k] read a panel's rows at a time, stacking `parts` equal parts.
    packed_weights(const row_reader& w, std::size_t n, std::size_t k, std::size_t parts = 1) {
        pack(w, n, k, parts, gemm::no_preparation{}, gemm::keep{});
    }

    // Packs B[j][kk] = src[j * row_stride + kk * col_stride] for j < n, kk < k, reusing
    // the buffer when it is large enough: K of one attention head is (row_stride =
    // hidden, 1), V transposed is (1, hidden).
    void assign(const float* src, std::size_t n, std::size_t k, std::size_t row_stride, std::size_t col_stride) {
        pack(src, n, k, row_stride, col_stride, gemm::keep{});
    }

    // Row j of the [n, k] matrix into out[k]: a table packed for a GEMM (a decoder
    // tied to word embeddings) serves lookups too, without a plain copy.
    void row(std::size_t j, float* out) const {
        const std::size_t part = j / part_rows(), local = j % part_rows();
        const float* src = panel_data(part * panels_per_part() + local / panel) + local % panel;
        for (std::size_t kk = 0; kk < cols(); ++kk) out[kk] = src[kk * panel];
    }

    // Back to [n, k] row-major, for callers that need the plain matrix.
    void unpack(float* w) const {
        for (std::size_t j = 0; j < rows(); ++j) row(j, w + j * cols());
    }
};

namespace detail {

MMT_INTRINSICS_BEGIN

#if defined(__x86_64__)
// One k step: acc[r][j] += a[r][kk] * b[kk][16 j .. 16 j + 15]. Vecs = ceil(cols / 16)
// registers per row: a narrow last panel (64 = 48 + 16 columns of an attention
// head) does not compute the panel's zero columns.
template <std::size_t Rows, std::size_t Vecs>
__attribute__((target("avx512f"), always_inline)) inline void f32_step_avx512(__m512 (&acc)[Rows][Vecs], const float* a, std::size_t lda,
                                                                               const float* b, std::size_t kk) {
    const float* bk = b + kk * gemm::panel;
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

template <std::size_t Rows, std::size_t Vecs>
__attribute__((target("avx512f"))) inline void f32_kernel_avx512(const float* a, std::size_t lda, const float* b, std::size_t k,
                                                                  const float* bias, float* c, std::size_t ldc, std::size_t cols,
                                                                  bool accumulate, const prefetch_plan& prefetch) {
    // The loops over rows and registers are unrolled so `acc` lives in registers.
    __m512 acc[Rows][Vecs];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 3
        for (std::size_t j = 0; j < Vecs; ++j) acc[r][j] = _mm512_setzero_ps();
    std::size_t kk = 0;
    for (const std::size_t steps = prefetch.steps(); kk < steps; ++kk) {
        prefetch.issue(kk);
        f32_step_avx512(acc, a, lda, b, kk);
    }
#pragma GCC unroll 2
    for (; kk < k; ++kk) f32_step_avx512(acc, a, lda, b, kk);
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

inline void f32_tile_avx512(std::size_t rows, const float* a, std::size_t lda, const float* b, std::size_t k, const float* bias, float* c,
                            std::size_t ldc, std::size_t cols, bool accumulate, const prefetch_plan& prefetch) {
    with_rows(
        rows,
        [&](auto r) {
            with_vecs16(cols, [&](auto v) {
                f32_kernel_avx512<decltype(r)::value, decltype(v)::value>(a, lda, b, k, bias, c, ldc, cols, accumulate, prefetch);
            });
        },
        std::make_index_sequence<8>{});
}

// The same on AVX2: 16 columns (Vecs = 2 registers of 8) of a panel at a time; 6
// rows of them are 12 of the 16 ymm registers, with two for b and one broadcast.
template <std::size_t Rows, std::size_t Vecs>
__attribute__((target("avx2,fma"), always_inline)) inline void f32_step_avx2(__m256 (&acc)[Rows][Vecs], const float* a, std::size_t lda,
                                                                             const float* b, std::size_t kk) {
    const float* bk = b + kk * gemm::panel;
    __m256 bv[Vecs];
#pragma GCC unroll 2
    for (std::size_t j = 0; j < Vecs; ++j) bv[j] = _mm256_loadu_ps(bk + 8 * j);
#pragma GCC unroll 6
    for (std::size_t r = 0; r < Rows; ++r) {
        const __m256 av = _mm256_broadcast_ss(a + r * lda + kk);
#pragma GCC unroll 2
        for (std::size_t j = 0; j < Vecs; ++j) acc[r][j] = _mm256_fmadd_ps(av, bv[j], acc[r][j]);
    }
}

template <std::size_t Rows, std::size_t Vecs>
__attribute__((target("avx2,fma"))) inline void f32_kernel_avx2(const float* a, std::size_t lda, const float* b, std::size_t k,
                                                                const float* bias, float* c, std::size_t ldc, std::size_t cols,
                                                                bool accumulate, const prefetch_plan& prefetch) {
    __m256 acc[Rows][Vecs];
#pragma GCC unroll 6
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 2
        for (std::size_t j = 0; j < Vecs; ++j) acc[r][j] = _mm256_setzero_ps();
    std::size_t kk = 0;
    for (const std::size_t steps = prefetch.steps(); kk < steps; ++kk) {
        prefetch.issue(kk);
        f32_step_avx2(acc, a, lda, b, kk);
    }
#pragma GCC unroll 2
    for (; kk < k; ++kk) f32_step_avx2(acc, a, lda, b, kk);
#pragma GCC unroll 2
    for (std::size_t j = 0; j < Vecs; ++j) {
        const std::size_t c0 = j * 8;
        const __m256i mask = simd::mask8(cols - c0);
        const __m256 bias_v = bias ? _mm256_maskload_ps(bias + c0, mask) : _mm256_setzero_ps();
#pragma GCC unroll 6
        for (std::size_t r = 0; r < Rows; ++r) {
            const __m256 base = accumulate ? _mm256_maskload_ps(c + r * ldc + c0, mask) : bias_v;
            simd::store8(c + r * ldc + c0, cols - c0, mask, _mm256_add_ps(acc[r][j], base));
        }
    }
}

inline void f32_tile_avx2(std::size_t rows, const float* a, std::size_t lda, const float* b, std::size_t k, const float* bias, float* c,
                          std::size_t ldc, std::size_t cols, bool accumulate, const prefetch_plan& prefetch) {
    for (std::size_t c0 = 0; c0 < cols; c0 += 16) {
        const std::size_t width = std::min<std::size_t>(16, cols - c0);
        const float* bias_c = bias ? bias + c0 : nullptr;
        const prefetch_plan& ask = c0 == 0 ? prefetch : prefetch_plan{};  // the first pass asks for the tile's share
        with_rows(
            rows,
            [&](auto r) {
                constexpr std::size_t R = decltype(r)::value;
                if (width > 8) f32_kernel_avx2<R, 2>(a, lda, b + c0, k, bias_c, c + c0, ldc, width, accumulate, ask);
                else f32_kernel_avx2<R, 1>(a, lda, b + c0, k, bias_c, c + c0, ldc, width, accumulate, ask);
            },
            std::make_index_sequence<6>{});
    }
}
#endif

MMT_INTRINSICS_END

// The same tile on every other CPU (aarch64 today): Eigen's GEMM, which blocks for
// registers and vectorises for NEON as for SSE and AVX, on up to 32 rows of x and
// a k block of one panel (on one core 1.5 to 1.8 times the plain loops it replaced
// when built for AVX2, 1.3 to 1.4 times with SSE2 only). 32 rows amortise Eigen's
// repacking of the panel block; as a compile-time bound they also keep Eigen from
// starting threads of its own (it does for products of more than 32 rows), so the
// driver's split is the only one.
inline constexpr std::size_t f32_eigen_rows = 32;

inline void f32_tile_eigen(std::size_t rows, const float* a, std::size_t lda, const float* b, std::size_t k, const float* bias, float* c,
                           std::size_t ldc, std::size_t cols, bool accumulate, const prefetch_plan&) {
    using tile = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor, int(f32_eigen_rows), int(gemm::panel)>;
    const auto rows_i = Eigen::Index(rows), cols_i = Eigen::Index(cols), k_i = Eigen::Index(k);
    strided_map<tile> y(c, rows_i, cols_i, Eigen::OuterStride<>(Eigen::Index(ldc)));                   // [rows, cols]
    strided_map<const row_matrix> x(a, rows_i, k_i, Eigen::OuterStride<>(Eigen::Index(lda)));          // [rows, k]
    strided_map<const row_matrix> w(b, k_i, cols_i, Eigen::OuterStride<>(Eigen::Index(gemm::panel)));  // [k, cols] of the panel
    if (!accumulate) {
        if (bias) y.rowwise() = Eigen::Map<const Eigen::RowVectorXf>(bias, cols_i);
        else y.setZero();
    }
    y.noalias() += x * w;
}

}  // namespace detail

// float32 for the driver: x is read as it is, sums go straight into y.
struct f32_gemm {
    using weights = packed_weights;
    using weight = float;
    using a_type = float;
    using acc_type = float;
    using accumulator = sum_into_output;
    static constexpr std::size_t group = 1;
    // k per block, whatever the row tiles sharing it: 8 rows of x (8 KiB) stay in L1 across a panel.
    static constexpr std::size_t block_groups(std::size_t) { return 256; }

    struct prepared {
        const float* a;
        std::size_t lda;
    };
    static prepared prepare(const float* x, std::size_t, std::size_t ldx, std::size_t, kernel_isa) { return {x, ldx}; }

    static tile_kernel<f32_gemm> kernel(kernel_isa isa) {
#if defined(__x86_64__)
        if (isa >= kernel_isa::avx512) return {detail::f32_tile_avx512, 8, "AVX-512 8x48"};
        if (isa == kernel_isa::avx2) return {detail::f32_tile_avx2, 6, "AVX2 6x16"};
#endif
        (void)isa;
        return {detail::f32_tile_eigen, detail::f32_eigen_rows, "portable Eigen 32x48"};
    }

    // The sums are y already: only the epilogue is left.
    static void finish(kernel_isa, std::size_t rows, const float*, std::size_t, const prepared&, std::size_t r0, const weights&,
                       std::size_t c0, std::size_t cols, const float*, float* y, std::size_t ldy, const gemm_epilogue& epilogue) {
        epilogue.apply(y, ldy, r0, c0, rows, cols);
    }
};

// Which kernel gemm_packed runs now.
inline const char* packed_gemm_kernel() { return f32_gemm::kernel(active_kernel()).name; }

// x: [m, k] with row stride ldx, y: [m, n] with row stride ldy (must not alias x),
// bias: [n] or nullptr, `epilogue` on each finished tile of y.
inline void gemm_packed(const float* x, std::size_t m, std::size_t ldx, const packed_weights& w, const float* bias, float* y,
                        std::size_t ldy, const gemm_epilogue& epilogue = {}) {
    run_gemm<f32_gemm>(x, m, ldx, w, bias, y, ldy, epilogue);
}

// Contiguous x [m, k] and y [m, n].
inline void gemm_packed(const float* x, std::size_t m, const packed_weights& w, const float* bias, float* y,
                        const gemm_epilogue& epilogue = {}) {
    gemm_packed(x, m, w.cols(), w, bias, y, w.rows(), epilogue);
}

}  // namespace mmt::ops
