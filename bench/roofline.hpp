// The machine's limits, measured in the same run as the benchmarks that are
// compared with them: float32 FMA peak on all threads, with AVX-512 and with AVX2
// (the peak of each kernel family, core/kernel.hpp), and memory bandwidth.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

#include <immintrin.h>

#include "mmt/core/threading.hpp"

namespace mmt::bench {

namespace detail {
// 12 independent FMA chains of 16 floats hide the FMA latency on every core we target.
__attribute__((target("avx512f"))) inline float fma_chains_avx512(std::size_t iterations) {
    __m512 acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(float(i) * 1e-3f);
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (std::size_t it = 0; it < iterations; ++it)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __m512 sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm512_add_ps(sum, acc[i]);
    return _mm512_reduce_add_ps(sum);
}

// The same 12 chains with AVX512-BF16 dot products (2 multiply-adds per lane) and
// AVX512-VNNI u8 x s8 dot products (4 per lane): what reduced precision can gain.
__attribute__((target("avx512f,avx512bf16"))) inline float bf16_chains(std::size_t iterations) {
    __m512 acc[12];
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(float(i));
    const __m512bh a = (__m512bh)_mm512_set1_epi32(0x3f803f80), b = (__m512bh)_mm512_set1_epi32(0x33d633d6);
    for (std::size_t it = 0; it < iterations; ++it)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, b);
    __m512 sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm512_add_ps(sum, acc[i]);
    return _mm512_reduce_add_ps(sum);
}

__attribute__((target("avx512f,avx512vnni"))) inline float vnni_chains(std::size_t iterations) {
    __m512i acc[12];
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_epi32(i);
    const __m512i a = _mm512_set1_epi32(0x01010101), b = _mm512_set1_epi32(0x02020202);
    for (std::size_t it = 0; it < iterations; ++it)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    __m512i sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm512_add_epi32(sum, acc[i]);
    return float(_mm512_reduce_add_epi32(sum));
}

__attribute__((target("avx2,fma"))) inline float fma_chains_avx2(std::size_t iterations) {
    __m256 acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(float(i) * 1e-3f);
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (std::size_t it = 0; it < iterations; ++it)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    float out[8];
    __m256 sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
    _mm256_storeu_ps(out, sum);
    return out[0] + out[7];
}
}  // namespace detail

inline bool has_avx512() { return __builtin_cpu_supports("avx512f"); }
inline bool has_avx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

// G multiply-adds x 2 per second of `chains` on every thread at once; `per_call`
// is the FLOPs (or integer ops) one call of `iterations` does.
template <class Chains>
inline double measure_peak(Chains chains, double per_call_per_iteration) {
    const std::size_t iterations = 20'000'000;
    double best = 0;
    for (int rep = 0; rep < 3; ++rep) {
        volatile float sink = 0;
        const auto start = std::chrono::steady_clock::now();
        const std::size_t threads = std::size_t(num_threads());
        parallel_for(threads, 1, [&](std::size_t t0, std::size_t t1) {
            for (std::size_t t = t0; t < t1; ++t) sink = sink + chains(iterations);
        });
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        best = std::max(best, per_call_per_iteration * double(iterations) * double(threads) / seconds / 1e9);
    }
    return best;
}

// GFLOP/s of float32 fused multiply-adds on every thread at once (2 FLOP each),
// with the widest vectors the CPU has.
inline double measure_fma_peak_gflops() {
    if (has_avx512()) return measure_peak(detail::fma_chains_avx512, 12 * 16 * 2);
    return measure_peak(detail::fma_chains_avx2, 12 * 8 * 2);
}

// The same with 8-float AVX2 vectors: what the avx2 kernels can reach.
inline double measure_fma_avx2_peak_gflops() { return measure_peak(detail::fma_chains_avx2, 12 * 8 * 2); }

// Measured once per process, on first use.
inline double fma_peak_gflops() {
    static const double peak = measure_fma_peak_gflops();
    return peak;
}

inline double fma_avx2_peak_gflops() {
    static const double peak = measure_fma_avx2_peak_gflops();
    return peak;
}

// GB/s of the STREAM triad a = b + s c over arrays far larger than the caches, on
// every thread, counting the bytes read and written (12 per element); best of 5.
inline double measure_memory_bandwidth_gbs() {
    const std::size_t n = std::size_t(64) << 20;  // 3 x 256 MiB
    std::vector<float> a(n), b(n, 1.0f), c(n, 2.0f);
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
        const auto start = std::chrono::steady_clock::now();
        parallel_for(n, 1 << 16, [&](std::size_t i0, std::size_t i1) {
            for (std::size_t i = i0; i < i1; ++i) a[i] = b[i] + 3.0f * c[i];
        });
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        best = std::max(best, 12.0 * double(n) / seconds / 1e9);
    }
    volatile float sink = a[n - 1];  // a is read, so the stores stay
    (void)sink;
    return best;
}

// Measured once per process, on first use.
inline double memory_bandwidth_gbs() {
    static const double bandwidth = measure_memory_bandwidth_gbs();
    return bandwidth;
}

}  // namespace mmt::bench
