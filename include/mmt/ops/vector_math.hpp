// exp and the exp/erf-based activations over arrays, 16 floats at a time under the
// avx512 kernel_isa and 8 under avx2 (the same algorithm and accuracy; libm under
// portable): scalar libm calls otherwise dominate attention over 500 tokens and the
// GELU of every MLP.
// tests/ops/test_vector_math.cpp measures their error against libm.
#pragma once

#include <cmath>
#include <cstddef>

#include "mmt/core/cpu.hpp"
#include "mmt/core/kernel.hpp"
#include "mmt/ops/simd.hpp"

namespace mmt::ops {

MMT_INTRINSICS_BEGIN

#if defined(__x86_64__)
namespace detail {

// e^x: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), a degree-6
// polynomial for e^r, and scaled by 2^n. Underflows to 0 below
// -104 and saturates to inf above 88.7, as expf.
__attribute__((target("avx512f"))) inline __m512 exp16(__m512 x) {
    const __m512 hi = _mm512_set1_ps(88.7228394f), lo = _mm512_set1_ps(-104.0f);
    const __mmask16 overflow = _mm512_cmp_ps_mask(x, hi, _CMP_GT_OQ);
    const __mmask16 underflow = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    // p 2^n in one instruction (vscalefps), subnormal results rounded once.
    __m512 y = _mm512_scalef_ps(p, n);
    y = _mm512_mask_mov_ps(y, overflow, _mm512_set1_ps(INFINITY));
    return _mm512_mask_mov_ps(y, underflow, _mm512_setzero_ps());
}

// erf(x) = sign(x) (1 - t P(t) e^{-x^2}), t = 1 / (1 + p|x|): Abramowitz & Stegun
// 7.1.26, max abs error 1.5e-7.
__attribute__((target("avx512f"))) inline __m512 erf16(__m512 x) {
    const __m512 ax = _mm512_abs_ps(x);
    const __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(_mm512_set1_ps(0.3275911f), ax, _mm512_set1_ps(1.0f)));
    __m512 p = _mm512_set1_ps(1.061405429f);
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.453152027f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.421413741f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.284496736f));
    p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.254829592f));
    p = _mm512_mul_ps(p, t);
    const __m512 e = exp16(_mm512_mul_ps(_mm512_mul_ps(ax, ax), _mm512_set1_ps(-1.0f)));
    const __m512 y = _mm512_fnmadd_ps(p, e, _mm512_set1_ps(1.0f));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(y),
                                               _mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(int(0x80000000u)))));
}

// Applies f to 16 floats at a time; the tail goes through a masked load/store.
template <class F>
__attribute__((target("avx512f"), always_inline)) inline void map16(float* x, std::size_t n, F f) {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, f(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 mask = simd::mask16(n - i);
        _mm512_mask_storeu_ps(x + i, mask, f(_mm512_maskz_loadu_ps(mask, x + i)));
    }
}

// e^(a x + b), the affine part in one FMA.
struct exp_affine_op {
    float a, b;
    __attribute__((target("avx512f"), always_inline)) __m512 operator()(__m512 v) const {
        return exp16(_mm512_fmadd_ps(v, _mm512_set1_ps(a), _mm512_set1_ps(b)));
    }
    __attribute__((target("avx2,fma"), always_inline)) __m256 operator()(__m256 v) const;
};
// 0.5 x (1 + erf(x / sqrt 2)): nn.GELU, HF's "gelu".
struct gelu_op {
    __attribute__((target("avx512f"), always_inline)) __m512 operator()(__m512 v) const {
        const __m512 e = erf16(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)));
        return _mm512_mul_ps(_mm512_mul_ps(v, _mm512_set1_ps(0.5f)), _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
    }
    __attribute__((target("avx2,fma"), always_inline)) __m256 operator()(__m256 v) const;
};
// x sigmoid(a x) = x / (1 + e^{-a x}): quick_gelu (a = 1.702) and silu (a = 1).
struct sigmoid_gate_op {
    float a;
    __attribute__((target("avx512f"), always_inline)) __m512 operator()(__m512 v) const {
        const __m512 e = exp16(_mm512_mul_ps(v, _mm512_set1_ps(-a)));
        return _mm512_div_ps(v, _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
    }
    __attribute__((target("avx2,fma"), always_inline)) __m256 operator()(__m256 v) const;
};

__attribute__((target("avx512f"))) inline void exp_affine_avx512(float* x, std::size_t n, float a, float b) { map16(x, n, exp_affine_op{a, b}); }
__attribute__((target("avx512f"))) inline void gelu_avx512(float* x, std::size_t n) { map16(x, n, gelu_op{}); }
__attribute__((target("avx512f"))) inline void sigmoid_gate_avx512(float* x, std::size_t n, float a) { map16(x, n, sigmoid_gate_op{a}); }

// The AVX2+FMA twins of the above, 8 lanes: the same constants and the same
// order of operations, so both kernels give the same accuracy. The ops structs
// above take __m256 as well (one struct per function, one overload per width).

// e^x as exp16. AVX2 has no vscalefps, so 2^n is built in the exponent field.
// n reaches -150 at x = -104, below the smallest normal exponent (-126), so it is
// applied as two normal factors 2^(n>>1) 2^(n - (n>>1)) (each within [-75, 64]):
// the first product is exact and the second rounds once, as vscalefps does,
// subnormal results included.
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.7228394f), lo = _mm256_set1_ps(-104.0f);
    const __m256 overflow = _mm256_cmp_ps(x, hi, _CMP_GT_OQ);
    const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i ni = _mm256_cvtps_epi32(n);  // exact: n is integral and within [-150, 128]
    const __m256i n1 = _mm256_srai_epi32(ni, 1), n2 = _mm256_sub_epi32(ni, n1);
    const __m256i bias = _mm256_set1_epi32(127);
    const __m256 s1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
    const __m256 s2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
    __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
    y = _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), overflow);
    return _mm256_andnot_ps(underflow, y);
}

// erf as erf16 (Abramowitz & Stegun 7.1.26).
__attribute__((target("avx2,fma"))) inline __m256 erf8(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 ax = _mm256_andnot_ps(sign, x);
    const __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), ax, _mm256_set1_ps(1.0f)));
    __m256 p = _mm256_set1_ps(1.061405429f);
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-1.453152027f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(1.421413741f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(-0.284496736f));
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(0.254829592f));
    p = _mm256_mul_ps(p, t);
    const __m256 e = exp8(_mm256_mul_ps(_mm256_mul_ps(ax, ax), _mm256_set1_ps(-1.0f)));
    const __m256 y = _mm256_fnmadd_ps(p, e, _mm256_set1_ps(1.0f));
    return _mm256_or_ps(y, _mm256_and_ps(x, sign));
}

// The ops' 8-lane overloads, declared with their 16-lane ones above.
__attribute__((target("avx2,fma"), always_inline)) inline __m256 exp_affine_op::operator()(__m256 v) const {
    return exp8(_mm256_fmadd_ps(v, _mm256_set1_ps(a), _mm256_set1_ps(b)));
}
__attribute__((target("avx2,fma"), always_inline)) inline __m256 gelu_op::operator()(__m256 v) const {
    const __m256 e = erf8(_mm256_mul_ps(v, _mm256_set1_ps(0.70710678118654752f)));
    return _mm256_mul_ps(_mm256_mul_ps(v, _mm256_set1_ps(0.5f)), _mm256_add_ps(e, _mm256_set1_ps(1.0f)));
}
__attribute__((target("avx2,fma"), always_inline)) inline __m256 sigmoid_gate_op::operator()(__m256 v) const {
    const __m256 e = exp8(_mm256_mul_ps(v, _mm256_set1_ps(-a)));
    return _mm256_div_ps(v, _mm256_add_ps(e, _mm256_set1_ps(1.0f)));
}

// Applies f to 8 floats at a time; the tail goes through a masked load/store.
template <class F>
__attribute__((target("avx2,fma"), always_inline)) inline void map8(float* x, std::size_t n, F f) {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, f(_mm256_loadu_ps(x + i)));
    if (i < n) {
        const __m256i mask = simd::mask8(n - i);
        _mm256_maskstore_ps(x + i, mask, f(_mm256_maskload_ps(x + i, mask)));
    }
}

__attribute__((target("avx2,fma"))) inline void exp_affine_avx2(float* x, std::size_t n, float a, float b) { map8(x, n, exp_affine_op{a, b}); }
__attribute__((target("avx2,fma"))) inline void gelu_avx2(float* x, std::size_t n) { map8(x, n, gelu_op{}); }
__attribute__((target("avx2,fma"))) inline void sigmoid_gate_avx2(float* x, std::size_t n, float a) { map8(x, n, sigmoid_gate_op{a}); }

}  // namespace detail
#endif

MMT_INTRINSICS_END

// x[i] = e^(a x[i] + b)
inline void exp_affine_inplace(float* x, std::size_t n, float a, float b) {
#if defined(__x86_64__)
    if (active_kernel() >= kernel_isa::avx512) return detail::exp_affine_avx512(x, n, a, b);
    if (active_kernel() == kernel_isa::avx2) return detail::exp_affine_avx2(x, n, a, b);
#endif
    for (std::size_t i = 0; i < n; ++i) x[i] = std::exp(std::fma(a, x[i], b));
}

// x[i] = 0.5 x[i] (1 + erf(x[i] / sqrt 2))
inline void gelu_inplace(float* x, std::size_t n) {
#if defined(__x86_64__)
    if (active_kernel() >= kernel_isa::avx512) return detail::gelu_avx512(x, n);
    if (active_kernel() == kernel_isa::avx2) return detail::gelu_avx2(x, n);
#endif
    for (std::size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

// x[i] = x[i] sigmoid(a x[i])
inline void sigmoid_gate_inplace(float* x, std::size_t n, float a) {
#if defined(__x86_64__)
    if (active_kernel() >= kernel_isa::avx512) return detail::sigmoid_gate_avx512(x, n, a);
    if (active_kernel() == kernel_isa::avx2) return detail::sigmoid_gate_avx2(x, n, a);
#endif
    for (std::size_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-a * x[i]));
}

}  // namespace mmt::ops
