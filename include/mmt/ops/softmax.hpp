// Numerically stable softmax over the last dimension.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "mmt/core/cpu.hpp"
#include "mmt/core/kernel.hpp"
#include "mmt/ops/simd.hpp"
#include "mmt/ops/vector_math.hpp"

namespace mmt::ops {

namespace detail {
// The maximum and the sum of a row over 16 lanes, so both vectorise (a single
// running value is a chain of dependent operations, one element per add latency).
constexpr std::size_t softmax_lanes = 16;

inline float row_max_portable(const float* x, std::size_t n) {
    float lanes[softmax_lanes];
    std::fill(lanes, lanes + softmax_lanes, -std::numeric_limits<float>::infinity());
    std::size_t i = 0;
    for (; i + softmax_lanes <= n; i += softmax_lanes)
        for (std::size_t l = 0; l < softmax_lanes; ++l) lanes[l] = std::max(lanes[l], x[i + l]);
    for (; i < n; ++i) lanes[0] = std::max(lanes[0], x[i]);
    return *std::max_element(lanes, lanes + softmax_lanes);
}

inline float row_sum_portable(const float* x, std::size_t n) {
    float lanes[softmax_lanes] = {};
    std::size_t i = 0;
    for (; i + softmax_lanes <= n; i += softmax_lanes)
        for (std::size_t l = 0; l < softmax_lanes; ++l) lanes[l] += x[i + l];
    for (; i < n; ++i) lanes[0] += x[i];
    float sum = 0.0f;
    for (float lane : lanes) sum += lane;
    return sum;
}
}  // namespace detail

MMT_INTRINSICS_BEGIN

#if defined(__x86_64__)
namespace detail {
// row_max 32 floats at a time with a masked tail (16 under avx2): GCC 12 leaves the
// portable one scalar, and attention takes it once per query and key block (a
// tenth of its time at 50 tokens). The tail's masked lanes hold -inf, a max's identity.
__attribute__((target("avx2,fma"))) inline float row_max_avx2(const float* x, std::size_t n) {
    const __m256 minus_infinity = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    __m256 a0 = minus_infinity, a1 = minus_infinity;
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_max_ps(a0, _mm256_loadu_ps(x + i));
        a1 = _mm256_max_ps(a1, _mm256_loadu_ps(x + i + 8));
    }
    if (i + 8 <= n) {
        a0 = _mm256_max_ps(a0, _mm256_loadu_ps(x + i));
        i += 8;
    }
    if (i < n) {  // AVX2's masked load zeroes the lanes it skips
        const __m256i mask = simd::mask8(n - i);
        a1 = _mm256_max_ps(a1, _mm256_blendv_ps(minus_infinity, _mm256_maskload_ps(x + i, mask), _mm256_castsi256_ps(mask)));
    }
    return simd::reduce_max8(_mm256_max_ps(a0, a1));
}

__attribute__((target("avx512f"))) inline float row_max_avx512(const float* x, std::size_t n) {
    const __m512 minus_infinity = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    __m512 a0 = minus_infinity, a1 = minus_infinity;
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a0 = _mm512_max_ps(a0, _mm512_loadu_ps(x + i));
        a1 = _mm512_max_ps(a1, _mm512_loadu_ps(x + i + 16));
    }
    if (i + 16 <= n) {
        a0 = _mm512_max_ps(a0, _mm512_loadu_ps(x + i));
        i += 16;
    }
    if (i < n) a1 = _mm512_max_ps(a1, _mm512_mask_loadu_ps(minus_infinity, simd::mask16(n - i), x + i));
    return _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
}
}  // namespace detail
#endif

MMT_INTRINSICS_END

namespace detail {
inline float row_max(const float* x, std::size_t n) {
#if defined(__x86_64__)
    if (active_kernel() >= kernel_isa::avx512) return row_max_avx512(x, n);
    if (active_kernel() == kernel_isa::avx2) return row_max_avx2(x, n);
#endif
    return row_max_portable(x, n);
}
}  // namespace detail

MMT_INTRINSICS_BEGIN

#if defined(__x86_64__)
namespace detail {
// exp_affine_sum 16 lanes at a time: each value's exp and its add in one pass.
__attribute__((target("avx512f"))) inline float exp_affine_sum_avx512(float* x, std::size_t n, float a, float b) {
    const std::size_t full = n / 16 * 16;
    const __mmask16 tail = simd::mask16(n - full);
    const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    __m512 sum = _mm512_setzero_ps();
    for (std::size_t i = 0; i < full; i += 16) {
        const __m512 e = exp16(_mm512_fmadd_ps(_mm512_loadu_ps(x + i), va, vb));
        _mm512_storeu_ps(x + i, e);
        sum = _mm512_add_ps(sum, e);
    }
    if (tail) {
        const __m512 e = exp16(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, x + full), va, vb));
        _mm512_mask_storeu_ps(x + full, tail, e);
        sum = _mm512_mask_add_ps(sum, tail, sum, e);
    }
    return _mm512_reduce_add_ps(sum);
}

// exp_affine_sum 8 lanes at a time: the tail's lanes past n hold e^b (the masked
// load gives 0 there), so they are masked out of the sum.
__attribute__((target("avx2,fma"))) inline float exp_affine_sum_avx2(float* x, std::size_t n, float a, float b) {
    const std::size_t full = n / 8 * 8;
    const __m256i tail = simd::mask8(n - full);
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    __m256 sum = _mm256_setzero_ps();
    for (std::size_t i = 0; i < full; i += 8) {
        const __m256 e = exp8(_mm256_fmadd_ps(_mm256_loadu_ps(x + i), va, vb));
        _mm256_storeu_ps(x + i, e);
        sum = _mm256_add_ps(sum, e);
    }
    if (full < n) {
        const __m256 e = exp8(_mm256_fmadd_ps(_mm256_maskload_ps(x + full, tail), va, vb));
        _mm256_maskstore_ps(x + full, tail, e);
        sum = _mm256_add_ps(sum, _mm256_and_ps(e, _mm256_castsi256_ps(tail)));
    }
    return simd::reduce_add8(sum);
}
}  // namespace detail
#endif

MMT_INTRINSICS_END

// x[i] = e^(a x[i] + b), returning their sum: softmax's exponentials and their sum
// in one pass over the row.
inline float exp_affine_sum(float* x, std::size_t n, float a, float b) {
#if defined(__x86_64__)
    if (active_kernel() >= kernel_isa::avx512) return detail::exp_affine_sum_avx512(x, n, a, b);
    if (active_kernel() == kernel_isa::avx2) return detail::exp_affine_sum_avx2(x, n, a, b);
#endif
    exp_affine_inplace(x, n, a, b);
    return detail::row_sum_portable(x, n);
}

// softmax(scale x) of one row of n values, in place; scale > 0 (attention folds
// its 1/sqrt(head_dim) in here rather than in a pass of its own). Three passes: the
// max, the exponentials with their sum, and the division.
inline void softmax_row(float* x, std::size_t n, float scale = 1.0f) {
    const float max = detail::row_max(x, n);
    const float inv = 1.0f / exp_affine_sum(x, n, scale, -scale * max);
    for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}

// x: [rows, n], in place.
inline void softmax(float* x, std::size_t rows, std::size_t n) {
    for (std::size_t r = 0; r < rows; ++r) softmax_row(x + r * n, n);
}

}  // namespace mmt::ops
