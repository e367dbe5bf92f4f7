// exp and the exp/erf-based activations over arrays, 16 floats at a time on
// AVX-512 (the avx512 kernel_isa; libm for the others): scalar libm calls otherwise
// dominate attention over 500 tokens and the GELU of every MLP.
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
};
// 0.5 x (1 + erf(x / sqrt 2)): nn.GELU, HF's "gelu".
struct gelu_op {
    __attribute__((target("avx512f"), always_inline)) __m512 operator()(__m512 v) const {
        const __m512 e = erf16(_mm512_mul_ps(v, _mm512_set1_ps(0.70710678118654752f)));
        return _mm512_mul_ps(_mm512_mul_ps(v, _mm512_set1_ps(0.5f)), _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
    }
};
// x sigmoid(a x) = x / (1 + e^{-a x}): quick_gelu (a = 1.702) and silu (a = 1).
struct sigmoid_gate_op {
    float a;
    __attribute__((target("avx512f"), always_inline)) __m512 operator()(__m512 v) const {
        const __m512 e = exp16(_mm512_mul_ps(v, _mm512_set1_ps(-a)));
        return _mm512_div_ps(v, _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
    }
};

__attribute__((target("avx512f"))) inline void exp_affine_avx512(float* x, std::size_t n, float a, float b) { map16(x, n, exp_affine_op{a, b}); }
__attribute__((target("avx512f"))) inline void gelu_avx512(float* x, std::size_t n) { map16(x, n, gelu_op{}); }
__attribute__((target("avx512f"))) inline void sigmoid_gate_avx512(float* x, std::size_t n, float a) { map16(x, n, sigmoid_gate_op{a}); }

}  // namespace detail
#endif

MMT_INTRINSICS_END

// x[i] = e^(a x[i] + b)
inline void exp_affine_inplace(float* x, std::size_t n, float a, float b) {
#if defined(__x86_64__)
    if (active_kernel() == kernel_isa::avx512) return detail::exp_affine_avx512(x, n, a, b);
#endif
    for (std::size_t i = 0; i < n; ++i) x[i] = std::exp(std::fma(a, x[i], b));
}

// x[i] = 0.5 x[i] (1 + erf(x[i] / sqrt 2))
inline void gelu_inplace(float* x, std::size_t n) {
#if defined(__x86_64__)
    if (active_kernel() == kernel_isa::avx512) return detail::gelu_avx512(x, n);
#endif
    for (std::size_t i = 0; i < n; ++i) x[i] = 0.5f * x[i] * (1.0f + std::erf(x[i] * 0.70710678118654752f));
}

// x[i] = x[i] sigmoid(a x[i])
inline void sigmoid_gate_inplace(float* x, std::size_t n, float a) {
#if defined(__x86_64__)
    if (active_kernel() == kernel_isa::avx512) return detail::sigmoid_gate_avx512(x, n, a);
#endif
    for (std::size_t i = 0; i < n; ++i) x[i] = x[i] / (1.0f + std::exp(-a * x[i]));
}

}  // namespace mmt::ops
