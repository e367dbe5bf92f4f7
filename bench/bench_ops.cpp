// Ops at the real models' shapes, each beside its naive double-precision twin
// (tests/support/naive.hpp), so the speed-up of every fast path is on record.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include <benchmark/benchmark.h>

#include "mmt/core/eigen.hpp"
#include "mmt/core/kernel.hpp"
#include "mmt/ops/activations.hpp"
#include "mmt/ops/attention.hpp"
#include "mmt/ops/conv1d.hpp"
#include "mmt/ops/group_norm.hpp"
#include "mmt/ops/layer_norm.hpp"
#include "mmt/ops/packed_gemm_any.hpp"
#include "mmt/ops/patch_embed.hpp"
#include "roofline.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"

namespace {

using mmt::tensor;
namespace naive = mmt::test::naive;

void set_flops(benchmark::State& state, double flop) {
    state.counters["GFLOP/s"] = benchmark::Counter(flop * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["peak_fraction"] = benchmark::Counter(flop * 1e-9 / mmt::bench::fma_peak_gflops(), benchmark::Counter::kIsIterationInvariantRate);
}

// The reference for op_linear_packed's portable kernel (kernel = 0), which runs
// Eigen's GEMM on packed panels: Eigen's whole GEMM, with its own blocking and
// threads, on the unpacked weight, y = x W^T + b. Args: rows, in, out. CLIP B/32
// fc1 at batch 1 and CLIP text q_proj at 8 x 77.
void op_linear_eigen(benchmark::State& state) {
    const auto rows = std::size_t(state.range(0)), in = std::size_t(state.range(1)), out = std::size_t(state.range(2));
    const tensor<2> x = mmt::test::random_tensor<2>({rows, in}, 1), w = mmt::test::random_tensor<2>({out, in}, 2);
    const tensor<1> b = mmt::test::random_tensor<1>({out}, 3);
    tensor<2> y({rows, out});
    const auto r = Eigen::Index(rows), i = Eigen::Index(in), o = Eigen::Index(out);
    const Eigen::Map<const mmt::row_matrix> X(x.data(), r, i), W(w.data(), o, i);
    Eigen::Map<mmt::row_matrix> Y(y.data(), r, o);
    for (auto _ : state) {
        Y.noalias() = X * W.transpose();
        Y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(b.data(), o);
        benchmark::DoNotOptimize(y.data());
    }
    set_flops(state, 2.0 * double(rows) * double(in) * double(out));
}
BENCHMARK(op_linear_eigen)->ArgNames({"rows", "in", "out"})->Args({50, 768, 3072})->Args({616, 512, 512})->Unit(benchmark::kMicrosecond)->UseRealTime();

// The model's path: weights packed at load (layers::linear) in float32, bf16 or
// int8, run by one kernel family (core/kernel.hpp; a family the CPU lacks is
// skipped). A model's weights are never in cache when a layer runs, so with
// cold = 1 the layer cycles through copies that together exceed the last-level
// cache; cold = 0 shows the kernel with its weights in cache. peak_fraction is of
// the FMA peak of the kernel's vector width (avx2: 8 floats, else the CPU's widest).
// Args: rows, in, out, cold, precision (mmt::precision), kernel (kernel_isa).
void op_linear_packed(benchmark::State& state) {
    const auto rows = std::size_t(state.range(0)), in = std::size_t(state.range(1)), out = std::size_t(state.range(2));
    const auto precision = mmt::precision(state.range(4));
    const auto isa = mmt::kernel_isa(state.range(5));
    if (!mmt::cpu_has(isa)) return state.SkipWithError("this CPU lacks the kernel's instructions");
    const mmt::kernel_isa before = mmt::active_kernel();
    mmt::set_kernel(isa);
    const tensor<2> x = mmt::test::random_tensor<2>({rows, in}, 1), w = mmt::test::random_tensor<2>({out, in}, 2);
    const tensor<1> b = mmt::test::random_tensor<1>({out}, 3);
    const std::size_t copies = state.range(3) ? std::max<std::size_t>(2, (std::size_t(256) << 20) / (w.size() * sizeof(float))) : 1;
    std::vector<mmt::ops::any_packed_weights> packed;  // each its own buffer (copies of one would share it)
    for (std::size_t c = 0; c < copies; ++c) packed.push_back(mmt::ops::pack_weights(w.data(), out, in, precision));
    tensor<2> y({rows, out});
    std::size_t i = 0;
    for (auto _ : state) {
        mmt::ops::gemm_packed(x.data(), rows, packed[i++ % copies], b.data(), y.data());
        benchmark::DoNotOptimize(y.data());
    }
    state.SetLabel(mmt::ops::packed_gemm_kernel(precision));
    mmt::set_kernel(before);
    const double flop = 2.0 * double(rows) * double(in) * double(out);
    state.counters["GFLOP/s"] = benchmark::Counter(flop * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    const double peak = isa == mmt::kernel_isa::avx2 ? mmt::bench::fma_avx2_peak_gflops() : mmt::bench::fma_peak_gflops();
    state.counters["peak_fraction"] = benchmark::Counter(flop * 1e-9 / peak, benchmark::Counter::kIsIterationInvariantRate);
}
// The models' shapes (CLIP B/32 fc1 at batch 1, in cache and cold; 616 x 512 ->
// 512; fc1 of a base model at 512 tokens): float32 under every kernel, bf16 and
// int8 under the default one and, where the CPU has AMX, under amx.
void linear_packed_args(benchmark::internal::Benchmark* b) {
    const std::vector<std::vector<std::int64_t>> shapes{{50, 768, 3072, 0}, {50, 768, 3072, 1}, {616, 512, 512, 1}, {512, 768, 3072, 1}};
    for (std::int64_t isa : {2, 1, 0})
        for (const auto& s : shapes) b->Args({s[0], s[1], s[2], s[3], 0, isa});
    std::vector<mmt::kernel_isa> reduced{mmt::best_kernel()};
    if (mmt::cpu_has(mmt::kernel_isa::amx)) reduced.push_back(mmt::kernel_isa::amx);
    for (mmt::kernel_isa isa : reduced)
        for (std::int64_t precision : {1, 2})
            for (const auto& s : shapes) b->Args({s[0], s[1], s[2], s[3], precision, std::int64_t(isa)});
}
BENCHMARK(op_linear_packed)->ArgNames({"rows", "in", "out", "cold", "precision", "kernel"})->Apply(linear_packed_args)
    ->Unit(benchmark::kMicrosecond)->UseRealTime();

// Attention's q, k and v projections as the models run them, stacked in one weight
// (layers::linear::load_stacked: x prepared once, one product three parts wide), or
// as three products of their own. Weights cold, as in op_linear_packed. Args: rows,
// hidden, stacked, precision (mmt::precision): CLIP B/32 image at batch 1, CLIP
// text at 8 x 77, LayoutLM at 8 x 128.
void op_qkv_projection(benchmark::State& state) {
    const auto rows = std::size_t(state.range(0)), h = std::size_t(state.range(1));
    const bool stacked = state.range(2) != 0;
    const auto precision = mmt::precision(state.range(3));
    const tensor<2> x = mmt::test::random_tensor<2>({rows, h}, 1), w = mmt::test::random_tensor<2>({3 * h, h}, 2);
    const tensor<1> b = mmt::test::random_tensor<1>({3 * h}, 3);
    const std::size_t copies = std::max<std::size_t>(2, (std::size_t(256) << 20) / (w.size() * sizeof(float)));
    std::vector<mmt::ops::any_packed_weights> packed;  // [copy] stacked, or [copy * 3 + part]
    for (std::size_t c = 0; c < copies; ++c) {
        if (stacked) packed.push_back(mmt::ops::pack_weights(w.data(), 3 * h, h, precision, nullptr, 3));
        else
            for (std::size_t part = 0; part < 3; ++part) packed.push_back(mmt::ops::pack_weights(&w(part * h, 0), h, h, precision));
    }
    tensor<2> y({rows, 3 * h});
    std::size_t i = 0;
    for (auto _ : state) {
        const std::size_t c = i++ % copies;
        if (stacked) mmt::ops::gemm_packed(x.data(), rows, packed[c], b.data(), y.data());
        else
            for (std::size_t part = 0; part < 3; ++part)  // [rows, 3 h] as the stacked product writes it
                mmt::ops::gemm_packed(x.data(), rows, h, packed[c * 3 + part], &b(part * h), &y(0, part * h), 3 * h);
        benchmark::DoNotOptimize(y.data());
    }
    state.SetLabel(mmt::ops::packed_gemm_kernel(precision));
    set_flops(state, 2.0 * double(rows) * double(h) * double(3 * h));
}
BENCHMARK(op_qkv_projection)->ArgNames({"rows", "hidden", "stacked", "precision"})
    ->ArgsProduct({{50, 616, 1024}, {768}, {0, 1}, {0, 1, 2}})->Args({616, 512, 0, 2})->Args({616, 512, 1, 2})
    ->Args({616, 512, 0, 0})->Args({616, 512, 1, 0})->Unit(benchmark::kMicrosecond)->UseRealTime();

void op_linear_naive(benchmark::State& state) {
    const auto rows = std::size_t(state.range(0)), in = std::size_t(state.range(1)), out = std::size_t(state.range(2));
    const auto x = naive::to_double(mmt::test::random_tensor<2>({rows, in}, 1));
    const auto w = naive::to_double(mmt::test::random_tensor<2>({out, in}, 2));
    const auto b = naive::to_double(mmt::test::random_tensor<1>({out}, 3));
    for (auto _ : state) benchmark::DoNotOptimize(naive::linear(x, w, b));
    set_flops(state, 2.0 * double(rows) * double(in) * double(out));
}
BENCHMARK(op_linear_naive)->ArgNames({"rows", "in", "out"})->Args({50, 768, 3072})->Unit(benchmark::kMillisecond)->UseRealTime();

// Args: batch, q_len, kv_len, heads, head_dim, causal, bf16; `padding`: [batch, kv_len] or empty.
void run_attention(benchmark::State& state, const std::vector<std::int64_t>& padding) {
    const mmt::ops::attention_shape s{std::size_t(state.range(0)), std::size_t(state.range(1)), std::size_t(state.range(2)),
                                      std::size_t(state.range(3)), std::size_t(state.range(4))};
    const tensor<3> q = mmt::test::random_tensor<3>({s.batch, s.q_len, s.hidden()}, 1);
    const tensor<3> k = mmt::test::random_tensor<3>({s.batch, s.kv_len, s.hidden()}, 2);
    const tensor<3> v = mmt::test::random_tensor<3>({s.batch, s.kv_len, s.hidden()}, 3);
    tensor<3> out(q.shape());
    const mmt::ops::attention_mask mask{state.range(5) != 0, padding.empty() ? nullptr : padding.data()};
    const auto products = state.range(6) ? mmt::precision::bf16 : mmt::precision::f32;
    for (auto _ : state) {
        mmt::ops::attention(mmt::ops::dense_rows(q.data(), s.q_len, s.hidden()), mmt::ops::dense_rows(k.data(), s.kv_len, s.hidden()),
                            mmt::ops::dense_rows(v.data(), s.kv_len, s.hidden()), s, mask, {}, 1.0f / std::sqrt(float(s.head_dim)),
                            mmt::ops::dense_rows(out.data(), s.q_len, s.hidden()), products);
        benchmark::DoNotOptimize(out.data());
    }
    set_flops(state, 4.0 * double(s.batch) * double(s.q_len) * double(s.kv_len) * double(s.hidden()));
}

void op_attention(benchmark::State& state) { run_attention(state, {}); }
BENCHMARK(op_attention)->ArgNames({"batch", "q", "kv", "heads", "head_dim", "causal", "bf16"})
    ->ArgsProduct({{1}, {50}, {50}, {12}, {64}, {0}, {0, 1}})      // CLIP B/32 image
    ->ArgsProduct({{8}, {77}, {77}, {8}, {64}, {1}, {0, 1}})       // CLIP text
    ->ArgsProduct({{1}, {512}, {512}, {12}, {64}, {0}, {0, 1}})    // LayoutLM-base
    ->ArgsProduct({{1}, {499}, {499}, {12}, {64}, {0}, {0, 1}})    // wav2vec2-base, 10 s
    ->ArgsProduct({{1}, {1499}, {1499}, {12}, {64}, {0}, {0, 1}})  // wav2vec2-base, 30 s
    ->Args({1, 1, 196, 12, 64, 0, 0})      // a pooling head's probe query over ViT-B/16's patches
    ->Args({1, 1, 729, 16, 72, 0, 0})      // SigLIP so400m's pooling head: one probe over 27 x 27 patches
    ->Unit(benchmark::kMicrosecond)->UseRealTime();

// op_attention with a padding mask, as a tokenizer's attention_mask comes: the last
// eighth of each item's keys padded, every score through the masked path.
void op_attention_padded(benchmark::State& state) {
    const auto batch = std::size_t(state.range(0)), kv_len = std::size_t(state.range(2));
    std::vector<std::int64_t> padding(batch * kv_len, 1);
    for (std::size_t b = 0; b < batch; ++b) std::fill_n(padding.begin() + std::ptrdiff_t(b * kv_len + kv_len - kv_len / 8), kv_len / 8, 0);
    run_attention(state, padding);
}
BENCHMARK(op_attention_padded)->ArgNames({"batch", "q", "kv", "heads", "head_dim", "causal", "bf16"})
    ->ArgsProduct({{8}, {77}, {77}, {8}, {64}, {1}, {0, 1}})     // CLIP text
    ->ArgsProduct({{1}, {512}, {512}, {12}, {64}, {0}, {0, 1}})  // LayoutLM-base
    ->ArgsProduct({{8}, {128}, {128}, {12}, {64}, {0}, {0, 1}})  // LayoutLM-base, batch 8
    ->Unit(benchmark::kMicrosecond)->UseRealTime();

void op_attention_naive(benchmark::State& state) {
    const std::size_t batch = std::size_t(state.range(0)), seq = std::size_t(state.range(1)), heads = std::size_t(state.range(2)),
                      hidden = heads * std::size_t(state.range(3));
    const auto q = naive::to_double(mmt::test::random_tensor<3>({batch, seq, hidden}, 1));
    const auto k = naive::to_double(mmt::test::random_tensor<3>({batch, seq, hidden}, 2));
    const auto v = naive::to_double(mmt::test::random_tensor<3>({batch, seq, hidden}, 3));
    for (auto _ : state) benchmark::DoNotOptimize(naive::attention(q, k, v, heads, state.range(4) != 0, {}, 1.0 / std::sqrt(double(hidden / heads))));
    set_flops(state, 4.0 * double(batch) * double(seq) * double(seq) * double(hidden));
}
BENCHMARK(op_attention_naive)->ArgNames({"batch", "seq", "heads", "head_dim", "causal"})->Args({1, 50, 12, 64, 0})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// Args: batch, length, in, out, kernel, stride, padding, groups.
mmt::ops::conv1d_shape conv1d_shape_of(const benchmark::State& state) {
    return {std::size_t(state.range(0)), std::size_t(state.range(1)), std::size_t(state.range(2)), std::size_t(state.range(3)),
            std::size_t(state.range(4)), std::size_t(state.range(5)), std::size_t(state.range(6)), std::size_t(state.range(7))};
}

double conv1d_flops(const mmt::ops::conv1d_shape& s) {
    return 2.0 * double(s.batch * s.out_length() * s.out_channels) * double(s.in_per_group() * s.kernel);
}

// wav2vec2-base at 10 s: the feature encoder's first two convolutions and the grouped
// positional one, as the model runs them (weights prepared at load).
void op_conv1d(benchmark::State& state) {
    const mmt::ops::conv1d_shape s = conv1d_shape_of(state);
    const tensor<3> x = mmt::test::random_tensor<3>({s.batch, s.length, s.in_channels}, 1);
    const tensor<3> w = mmt::test::random_tensor<3>({s.out_channels, s.in_per_group(), s.kernel}, 2, -0.05f, 0.05f);
    const tensor<1> b = mmt::test::random_tensor<1>({s.out_channels}, 3);
    const mmt::ops::conv1d_weights prepared(w.data(), s.out_channels, s.in_per_group(), s.kernel, s.groups);
    tensor<3> y({s.batch, s.out_length(), s.out_channels});
    for (auto _ : state) {
        mmt::ops::conv1d(x.data(), s, prepared, b.data(), y.data());
        benchmark::DoNotOptimize(y.data());
    }
    set_flops(state, conv1d_flops(s));
}
BENCHMARK(op_conv1d)->ArgNames({"batch", "length", "in", "out", "kernel", "stride", "padding", "groups"})
    ->Args({1, 160000, 1, 512, 10, 5, 0, 1})
    ->Args({1, 31999, 512, 512, 3, 2, 0, 1})
    ->Args({1, 499, 768, 768, 128, 1, 64, 16})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

void op_conv1d_naive(benchmark::State& state) {
    const mmt::ops::conv1d_shape s = conv1d_shape_of(state);
    const auto x = naive::to_double(mmt::test::random_tensor<3>({s.batch, s.length, s.in_channels}, 1));
    const auto w = naive::to_double(mmt::test::random_tensor<3>({s.out_channels, s.in_per_group(), s.kernel}, 2, -0.05f, 0.05f));
    const auto b = naive::to_double(mmt::test::random_tensor<1>({s.out_channels}, 3));
    for (auto _ : state) benchmark::DoNotOptimize(naive::conv1d(x, w, b, s));
    set_flops(state, conv1d_flops(s));
}
// The second convolution's shape over 401 input frames (the naive loops take seconds per 0.3 GFLOP).
BENCHMARK(op_conv1d_naive)->ArgNames({"batch", "length", "in", "out", "kernel", "stride", "padding", "groups"})
    ->Args({1, 401, 512, 512, 3, 2, 0, 1})
    ->Unit(benchmark::kMillisecond)->UseRealTime();

// wav2vec2's first GroupNorm (one group per channel) with its GELU, in place on the
// first conv's output at 10 and 30 s: three passes over 65 or 197 MB. Args: frames, channels.
void op_group_norm(benchmark::State& state) {
    const auto frames = std::size_t(state.range(0)), channels = std::size_t(state.range(1));
    tensor<2> x = mmt::test::random_tensor<2>({frames, channels}, 1);
    const tensor<1> w = mmt::test::random_tensor<1>({channels}, 2, 0.5f, 1.5f), b = mmt::test::random_tensor<1>({channels}, 3);
    for (auto _ : state) {
        mmt::ops::group_norm(x.data(), 1, frames, channels, channels, w.data(), b.data(), 1e-5f, x.data(), mmt::ops::activation::gelu);
        benchmark::DoNotOptimize(x.data());
    }
}
BENCHMARK(op_group_norm)->ArgNames({"frames", "channels"})->Args({31999, 512})->Args({95999, 512})->Unit(benchmark::kMillisecond)->UseRealTime();

// GELU (erf) over an MLP's hidden activations, in place. Args: rows, dim:
// CLIP B/32 at batch 1 and wav2vec2-base at 30 s. The input is restored
// untimed each time: GELU applied over and over drives values subnormal.
void op_gelu(benchmark::State& state) {
    const auto rows = std::size_t(state.range(0)), dim = std::size_t(state.range(1));
    const tensor<2> x = mmt::test::random_tensor<2>({rows, dim}, 1, -4.0f, 4.0f);
    tensor<2> y = x;
    for (auto _ : state) {
        mmt::ops::apply_activation(mmt::ops::activation::gelu, y.data(), y.size());
        benchmark::DoNotOptimize(y.data());
        state.PauseTiming();
        std::copy(x.begin(), x.end(), y.begin());
        state.ResumeTiming();
    }
    state.counters["Gelem/s"] = benchmark::Counter(double(rows * dim) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(op_gelu)->ArgNames({"rows", "dim"})->Args({50, 3072})->Args({1499, 3072})->Unit(benchmark::kMicrosecond)->UseRealTime();

void op_gelu_naive(benchmark::State& state) {
    const auto rows = std::size_t(state.range(0)), dim = std::size_t(state.range(1));
    const tensor<2> x = mmt::test::random_tensor<2>({rows, dim}, 1, -4.0f, 4.0f);
    std::vector<double> y(x.size());
    for (auto _ : state) {
        for (std::size_t i = 0; i < x.size(); ++i) y[i] = naive::activate(mmt::ops::activation::gelu, double(x.data()[i]));
        benchmark::DoNotOptimize(y.data());
    }
    state.counters["Gelem/s"] = benchmark::Counter(double(rows * dim) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(op_gelu_naive)->ArgNames({"rows", "dim"})->Args({50, 3072})->Unit(benchmark::kMicrosecond)->UseRealTime();

// Args: rows, dim.
void op_layer_norm(benchmark::State& state) {
    const auto rows = std::size_t(state.range(0)), dim = std::size_t(state.range(1));
    const tensor<2> x = mmt::test::random_tensor<2>({rows, dim}, 1);
    const tensor<1> w = mmt::test::random_tensor<1>({dim}, 2), b = mmt::test::random_tensor<1>({dim}, 3);
    tensor<2> y(x.shape());
    for (auto _ : state) {
        mmt::ops::layer_norm(x.data(), rows, dim, w.data(), b.data(), 1e-5f, y.data());
        benchmark::DoNotOptimize(y.data());
    }
    state.counters["GB/s"] = benchmark::Counter(2.0 * double(rows * dim) * 4 * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(op_layer_norm)->ArgNames({"rows", "dim"})->Args({50, 768})->Args({616, 512})->Args({512, 768})->Unit(benchmark::kMicrosecond)->UseRealTime();

void op_layer_norm_naive(benchmark::State& state) {
    const auto rows = std::size_t(state.range(0)), dim = std::size_t(state.range(1));
    const auto x = naive::to_double(mmt::test::random_tensor<2>({rows, dim}, 1));
    const auto w = naive::to_double(mmt::test::random_tensor<1>({dim}, 2)), b = naive::to_double(mmt::test::random_tensor<1>({dim}, 3));
    for (auto _ : state) benchmark::DoNotOptimize(naive::layer_norm(x, w, b, 1e-5));
}
BENCHMARK(op_layer_norm_naive)->ArgNames({"rows", "dim"})->Args({50, 768})->Unit(benchmark::kMicrosecond)->UseRealTime();

// CLIP B/32: [batch, 3, 224, 224] in 32 x 32 patches to width 768, the weight
// packed once in float32 as the model does at load.
void op_patch_embed(benchmark::State& state) {
    const std::size_t batch = std::size_t(state.range(0));
    const mmt::ops::patch_shape s{batch, 3, 224, 224, 32};
    const tensor<4> pixels = mmt::test::random_tensor<4>({batch, 3, 224, 224}, 1);
    const tensor<4> w = mmt::test::random_tensor<4>({768, 3, 32, 32}, 2);
    const mmt::ops::any_packed_weights packed = mmt::ops::pack_weights(w.data(), 768, s.patch_dim(), mmt::precision::f32);
    tensor<3> out({batch, s.num_patches(), 768});
    for (auto _ : state) {
        mmt::ops::patch_embed(pixels.data(), s, packed, nullptr, out.data());
        benchmark::DoNotOptimize(out.data());
    }
    set_flops(state, 2.0 * double(batch * s.num_patches()) * double(s.patch_dim()) * 768);
}
BENCHMARK(op_patch_embed)->ArgName("batch")->Arg(1)->Arg(8)->Unit(benchmark::kMicrosecond)->UseRealTime();

void op_patch_embed_naive(benchmark::State& state) {
    const std::size_t batch = std::size_t(state.range(0));
    const auto pixels = naive::to_double(mmt::test::random_tensor<4>({batch, 3, 224, 224}, 1));
    const auto w = naive::to_double(mmt::test::random_tensor<4>({768, 3, 32, 32}, 2));
    for (auto _ : state) benchmark::DoNotOptimize(naive::patch_conv(pixels, w, naive::array()));
    set_flops(state, 2.0 * double(batch * 49) * 3072.0 * 768);
}
BENCHMARK(op_patch_embed_naive)->ArgName("batch")->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
