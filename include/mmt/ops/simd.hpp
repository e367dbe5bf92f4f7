// Masks for the last, partial vector of a row (x86 only): every kernel that
// reads or writes a tail takes its mask from here, and the GEMM tiles store
// through store16 / store8; the horizontal min and max of
// a vector, which several quantisers take; the 8x8 transpose that packs rows; and
// the rounding of 8 floats to bf16.
#pragma once

#include <cstddef>

#if defined(__x86_64__)
#include <immintrin.h>

namespace mmt::ops::simd {

// The first n of 16 lanes (all of them for n >= 16).
inline __mmask16 mask16(std::size_t n) { return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1); }

// The first n of 8 lanes as AVX2's masked loads and stores take it: a lane is on when its sign bit is set.
__attribute__((target("avx2"))) inline __m256i mask8(std::size_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n < 8 ? n : 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Stores the first n of 16 lanes (mask = mask16(n)), whole when n >= 16: a load of
// the same bytes soon after (a GEMM epilogue's, right after the kernel stored its
// tile) takes a whole store's value from the store buffer, but waits for a masked
// store to reach the cache (on Zen 5 that wait held 23 % of the int8 driver's
// samples in clip_b32_text, 5 % after; the model row 2-4 % faster).
__attribute__((target("avx512f"), always_inline)) inline void store16(float* p, std::size_t n, __mmask16 mask, __m512 v) {
    if (n >= 16)
        _mm512_storeu_ps(p, v);
    else
        _mm512_mask_storeu_ps(p, mask, v);
}

// store16 with 8 lanes (mask = mask8(n)).
__attribute__((target("avx2"), always_inline)) inline void store8(float* p, std::size_t n, __m256i mask, __m256 v) {
    if (n >= 8)
        _mm256_storeu_ps(p, v);
    else
        _mm256_maskstore_ps(p, mask, v);
}

// The sum, the smallest and the largest of 8 lanes.
__attribute__((target("avx2"), always_inline)) inline float reduce_add8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}
__attribute__((target("avx2"), always_inline)) inline float reduce_min8(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
}
__attribute__((target("avx2"), always_inline)) inline float reduce_max8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

// dst[j * ld_dst + i] = src[i * ld_src + j] for i, j < 8: a block transposed in registers.
__attribute__((target("avx2"), always_inline)) inline void transpose8x8(const float* src, std::size_t ld_src, float* dst, std::size_t ld_dst) {
    __m256 r[8], t[8];
    for (std::size_t i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * ld_src);
    for (std::size_t i = 0; i < 8; i += 2) {  // t[i]: rows i, i+1 interleaved by pairs of lanes
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (std::size_t i = 0; i < 8; i += 4) {  // r[i..i+3]: columns of four rows, in each 128-bit half
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    for (std::size_t j = 0; j < 4; ++j) {  // the halves of rows 0-3 and 4-7 joined
        _mm256_storeu_ps(dst + j * ld_dst, _mm256_permute2f128_ps(r[j], r[j + 4], 0x20));
        _mm256_storeu_ps(dst + (j + 4) * ld_dst, _mm256_permute2f128_ps(r[j], r[j + 4], 0x31));
    }
}

// float_to_bf16 (core/dtype.hpp) of 8 floats, with the same integer operations:
// round to nearest even, a NaN kept quiet. Each bf16 in the low half of its lane.
__attribute__((target("avx2"), always_inline)) inline __m256i to_bf16_lanes(__m256 v) {
    const __m256i bits = _mm256_castps_si256(v);
    const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
    const __m256i odd = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    const __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(bits, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), odd)), 16);
    const __m256i quiet = _mm256_or_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(0x40));
    return _mm256_blendv_epi8(rounded, quiet, nan);
}

// float_to_bf16 of 16 floats by to_bf16_lanes' operations, their bf16 in order in 256 bits.
__attribute__((target("avx512f"), always_inline)) inline __m256i to_bf16x16(__m512 v) {
    const __m512i bits = _mm512_castps_si512(v);
    const __mmask16 nan = _mm512_cmpgt_epi32_mask(_mm512_and_si512(bits, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(bits, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), odd)), 16);
    const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(0x40));
    return _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(rounded, nan, quiet));  // each < 2^16: narrowing keeps it
}

// to_bf16_lanes' 8 bf16 in order, in 128 bits.
__attribute__((target("avx2"), always_inline)) inline __m128i to_bf16x8(__m256 v) {
    const __m256i halves = to_bf16_lanes(v);                                // each < 2^16
    const __m256i packed = _mm256_packus_epi32(halves, halves);            // per 128-bit half: 4 twice
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(packed, 0x08));  // qwords 0 and 2: all 8 in order
}

}  // namespace mmt::ops::simd
#endif
