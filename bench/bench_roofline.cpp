// Roofline: the FMA peak, SGEMM GFLOP/s of the packed GEMM driver, memory bandwidth
// and the cost of fresh memory (what bounds loading a model into packed copies).
#include <sys/mman.h>

#include <vector>

#include <benchmark/benchmark.h>

#include "mmt/core/threading.hpp"
#include "mmt/ops/packed_gemm.hpp"
#include "roofline.hpp"

namespace {

void roofline_fma_peak(benchmark::State& state) {
    double gflops = 0;
    for (auto _ : state) gflops = mmt::bench::measure_fma_peak_gflops();
    state.counters["GFLOP/s"] = gflops;
    state.counters["threads"] = mmt::num_threads();
    state.SetLabel(mmt::bench::has_avx512() ? "AVX-512" : "AVX2");
}
BENCHMARK(roofline_fma_peak)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

// The peak of the avx2 kernels (MMT_KERNEL=avx2) on a CPU that also has AVX-512.
void roofline_fma_avx2_peak(benchmark::State& state) {
    if (!mmt::bench::has_avx2()) return state.SkipWithError("no AVX2 + FMA on this CPU");
    double gflops = 0;
    for (auto _ : state) gflops = mmt::bench::measure_fma_avx2_peak_gflops();
    state.counters["GFLOP/s"] = gflops;
    state.counters["vs_fma_peak"] = gflops / mmt::bench::fma_peak_gflops();
}
BENCHMARK(roofline_fma_avx2_peak)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

// The reduced-precision dot products' peaks, in float-equivalent GFLOP/s (2 per multiply-add).
void roofline_bf16_dot_peak(benchmark::State& state) {
    if (!__builtin_cpu_supports("avx512bf16")) return state.SkipWithError("no AVX512-BF16 on this CPU");
    double gflops = 0;
    for (auto _ : state) gflops = mmt::bench::bf16_dot_peak_gflops();
    state.counters["GFLOP/s"] = gflops;
    state.counters["vs_fma_peak"] = gflops / mmt::bench::fma_peak_gflops();
}
BENCHMARK(roofline_bf16_dot_peak)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

void roofline_vnni_dot_peak(benchmark::State& state) {
    if (!__builtin_cpu_supports("avx512vnni")) return state.SkipWithError("no AVX512-VNNI on this CPU");
    double gops = 0;
    for (auto _ : state) gops = mmt::bench::vnni_dot_peak_gops();
    state.counters["GOP/s"] = gops;
    state.counters["vs_fma_peak"] = gops / mmt::bench::fma_peak_gflops();
}
BENCHMARK(roofline_vnni_dot_peak)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

// The avx2 kernels' int8 roof (MMT_KERNEL=avx2): AVX-VNNI where the CPU has it, else vpmaddubsw.
void roofline_int8_avx2_dot_peak(benchmark::State& state) {
    if (!mmt::bench::has_avx2()) return state.SkipWithError("no AVX2 on this CPU");
    double gops = 0;
    for (auto _ : state) gops = mmt::bench::int8_avx2_dot_peak_gops();
    state.counters["GOP/s"] = gops;
    state.counters["vs_fma_peak"] = gops / mmt::bench::fma_peak_gflops();
    state.SetLabel(mmt::cpu::has_avx_vnni() ? "AVX-VNNI" : "vpmaddubsw");
}
BENCHMARK(roofline_int8_avx2_dot_peak)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

// y[M, N] = x[M, K] W[N, K]^T in float32 through the packed driver, the path every
// model takes, with the active kernel (MMT_KERNEL picks another).
void roofline_sgemm(benchmark::State& state) {
    const auto m = std::size_t(state.range(0)), k = std::size_t(state.range(1)), n = std::size_t(state.range(2));
    std::vector<float> x(m * k, 0.5f), w(n * k, 0.25f), y(m * n);
    const mmt::ops::packed_weights packed(w.data(), n, k);
    for (auto _ : state) {
        mmt::ops::gemm_packed(x.data(), m, packed, nullptr, y.data());
        benchmark::DoNotOptimize(y.data());
    }
    const double flop = 2.0 * double(m) * double(n) * double(k);
    state.counters["GFLOP/s"] = benchmark::Counter(flop * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["peak_fraction"] = benchmark::Counter(flop * 1e-9 / mmt::bench::fma_peak_gflops(), benchmark::Counter::kIsIterationInvariantRate);
    state.SetLabel(mmt::ops::packed_gemm_kernel());
}
BENCHMARK(roofline_sgemm)->ArgNames({"M", "K", "N"})
    ->Args({2048, 2048, 2048})
    ->Args({50, 768, 3072})   // CLIP B/32 MLP fc1, batch 1
    ->Args({400, 768, 3072})  // the same at batch 8
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// STREAM triad a = b + s*c over arrays far larger than the caches (roofline.hpp).
void roofline_memory_bandwidth(benchmark::State& state) {
    double gbs = 0;
    for (auto _ : state) gbs = mmt::bench::measure_memory_bandwidth_gbs();
    state.counters["GB/s"] = gbs;
}
BENCHMARK(roofline_memory_bandwidth)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

// The first touch of fresh memory: 256 MiB mapped, one write per 4 KiB page, unmapped.
// Every loader that packs copies of the weights pays this per MB it fills.
void roofline_first_touch(benchmark::State& state) {
    const std::size_t bytes = std::size_t(256) << 20;
    for (auto _ : state) {
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return state.SkipWithError("mmap failed");
        auto* memory = static_cast<volatile char*>(p);
        for (std::size_t i = 0; i < bytes; i += 4096) memory[i] = 1;
        ::munmap(p, bytes);
    }
    state.counters["MB/s"] = benchmark::Counter(double(bytes) / 1e6, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(roofline_first_touch)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
