// Masks for the last, partial vector of a row (x86 only): every kernel that
// reads or writes a tail takes its mask from here; and the horizontal min and max
// of a vector, which several quantisers take.
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

// The smallest and the largest of 8 lanes.
__attribute__((target("avx2"))) inline float reduce_min8(__m256 v) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_min_ss(m, _mm_movehdup_ps(m)));
}
__attribute__((target("avx2"))) inline float reduce_max8(__m256 v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_movehdup_ps(m)));
}

}  // namespace mmt::ops::simd
#endif
