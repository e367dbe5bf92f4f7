// The machine's limits, measured in the same run as the benchmarks that are
// compared with them: float32 FMA peak on all threads, with AVX-512 and with AVX2
// (the peak of each kernel family, core/kernel.hpp), the reduced-precision dot
// products' peaks, and memory bandwidth.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

#include <immintrin.h>

#include "mmt/core/cpu.hpp"
#include "mmt/core/kernel.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/packed_gemm_bf16.hpp"

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

// The avx2 kernels' int8 dot products on 8 lanes: AVX-VNNI's vpdpbusd (4 multiply-adds
// per lane), or on CPUs without it the exact split vpmaddubsw + vpmaddwd + vpaddd: two
// functions, as a compiler told about AVX-VNNI may fold the split into vpdpbusd.
__attribute__((target("avx2,avxvnni"))) inline float avx_vnni_chains(std::size_t iterations) {
    __m256i acc[12];
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_epi32(i);
    const __m256i a = _mm256_set1_epi32(0x01010101), b = _mm256_set1_epi32(0x02020202);
    for (std::size_t it = 0; it < iterations; ++it)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) acc[i] = _mm256_dpbusd_avx_epi32(acc[i], a, b);
    __m256i sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm256_add_epi32(sum, acc[i]);
    return float(_mm256_extract_epi32(sum, 0) + _mm256_extract_epi32(sum, 7));
}

__attribute__((target("avx2"))) inline float maddubs_chains(std::size_t iterations) {
    __m256i acc[12];
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_epi32(i);
    const __m256i a = _mm256_set1_epi32(0x01010101), b = _mm256_set1_epi32(0x02020202), ones = _mm256_set1_epi16(1);
    for (std::size_t it = 0; it < iterations; ++it)
#pragma GCC unroll 12
        for (int i = 0; i < 12; ++i) acc[i] = _mm256_add_epi32(acc[i], _mm256_madd_epi16(_mm256_maddubs_epi16(a, b), ones));
    __m256i sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm256_add_epi32(sum, acc[i]);
    return float(_mm256_extract_epi32(sum, 0) + _mm256_extract_epi32(sum, 7));
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

// The peaks of the reduced-precision dot products, in float-equivalent GFLOP/s (2 per
// multiply-add), measured once per process: AVX512-BF16, AVX512-VNNI, and the avx2
// kernels' int8 (AVX-VNNI, else vpmaddubsw).
inline double bf16_dot_peak_gflops() {
    static const double peak = measure_peak(detail::bf16_chains, 12 * 32 * 2);
    return peak;
}

inline double vnni_dot_peak_gops() {
    static const double peak = measure_peak(detail::vnni_chains, 12 * 64 * 2);
    return peak;
}

inline double int8_avx2_dot_peak_gops() {
    static const double peak =
        cpu::has_avx_vnni() ? measure_peak(detail::avx_vnni_chains, 12 * 32 * 2) : measure_peak(detail::maddubs_chains, 12 * 32 * 2);
    return peak;
}

// The roof of the kernel the active kernel_isa runs `linear` layers on: the peak of
// its multiply-add instruction (float32 FMA, vdpbf16ps, vpdpbusd, ...); 0 where none
// is measured (the portable kernels, AMX). bf16 without AVX512-BF16 is widened to
// float32 FMAs, int8 without AVX512-VNNI runs the avx2 kernel (ops/packed_gemm_*.hpp).
inline double kernel_peak_gflops(precision linear, kernel_isa isa) {
    if (isa == kernel_isa::portable || isa == kernel_isa::amx) return 0;
    const bool wide = isa == kernel_isa::avx512;
    switch (linear) {
        case precision::f32: return wide ? fma_peak_gflops() : fma_avx2_peak_gflops();
        case precision::bf16: return ops::bf16_is_native(isa) ? bf16_dot_peak_gflops() : fma_avx2_peak_gflops();
        case precision::int8: return wide && cpu::has_avx512_vnni() ? vnni_dot_peak_gops() : int8_avx2_dot_peak_gops();
    }
    return 0;
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
