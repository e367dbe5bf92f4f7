// Exact search over an embedding index at scale: 1,000,000 stored 512-d unit
// embeddings (2 GB in 10 shards, written once into the temp dir and reused; page
// cached after the first run), searched through pipelines::embedding_index as
// `mmt search --index` does. One pass streams every byte, so a query's time is
// set against the time to stream them at the STREAM bandwidth measured in the same
// run (vs_bandwidth: 1 means at that bound); a batch of queries shares the pass.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include <benchmark/benchmark.h>

#include "mmt/core/threading.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/ops/packed_gemm.hpp"
#include "mmt/ops/top_k_dot.hpp"
#include "mmt/pipelines/embedding_index.hpp"
#include "roofline.hpp"

namespace {

namespace fs = std::filesystem;
namespace format = mmt::pipelines::index_format;

constexpr std::size_t index_rows = 1'000'000, index_dim = 512, index_shards = 10;

// Row `row` of a reproducible set of unit vectors (a hash per element: no RNG state to share between threads).
void unit_row(std::uint64_t row, float* out) {
    double norm = 0;
    for (std::size_t i = 0; i < index_dim; ++i) {
        std::uint64_t h = (row * index_dim + i + 1) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 31;
        h *= 0xBF58476D1CE4E5B9ull;
        out[i] = float(double(h >> 40) / double(1ull << 24) - 0.5);
        norm += double(out[i]) * out[i];
    }
    const float inverse = float(1.0 / std::sqrt(norm));
    for (std::size_t i = 0; i < index_dim; ++i) out[i] *= inverse;
}

// The index folder, written on the first run (into a temporary name, renamed when complete).
const fs::path& million_index() {
    static const fs::path dir = [] {
        const fs::path out = fs::temp_directory_path() / "mmt_bench_index_1m_512";
        if (fs::exists(out)) return out;
        const fs::path partial = out.string() + ".partial";
        fs::remove_all(partial);
        fs::create_directories(partial);
        const std::size_t per_shard = index_rows / index_shards;
        std::FILE* manifest = std::fopen((partial / format::manifest_file).c_str(), "w");
        if (!manifest) throw mmt::io_error("cannot create the benchmark index in " + partial.string());
        for (std::size_t s = 0; s < index_shards; ++s) {
            mmt::tensor<2> rows({per_shard, index_dim});
            mmt::parallel_for(per_shard, 1024, [&](std::size_t r0, std::size_t r1) {
                for (std::size_t r = r0; r < r1; ++r) unit_row(s * per_shard + r, &rows(r, 0));
            });
            mmt::io::safetensors_writer writer;
            writer.add(format::embeddings_tensor, rows);
            writer.set_metadata(format::model_key, "bench/random");
            writer.set_metadata(format::dim_key, std::to_string(index_dim));
            writer.set_metadata(format::modality_key, "image");
            writer.save(partial / format::shard_file(s));
            for (std::size_t r = 0; r < per_shard; ++r)
                std::fprintf(manifest, "{\"id\": \"%zu\", \"path\": \"images/%zu.jpg\", \"shard\": %zu, \"row\": %zu}\n", s * per_shard + r,
                             s * per_shard + r, s, r);
        }
        std::fclose(manifest);
        fs::rename(partial, out);
        return out;
    }();
    return dir;
}

// Args: queries. The index is opened once (reading its manifest of a million lines)
// and searched once before timing, so its pages are mapped.
void search_index(benchmark::State& state) {
    static const mmt::pipelines::embedding_index index(million_index());
    const auto n = std::size_t(state.range(0));
    mmt::tensor<2> queries({n, index_dim});
    for (std::size_t q = 0; q < n; ++q) unit_row(index_rows + q, &queries(q, 0));
    benchmark::DoNotOptimize(index.search(queries, 10));
    double seconds = 0;
    for (auto _ : state) {
        const auto start = std::chrono::steady_clock::now();
        benchmark::DoNotOptimize(index.search(queries, 10));
        const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        state.SetIterationTime(elapsed);
        seconds += elapsed;
    }
    seconds /= double(state.iterations());
    const double gigabytes = double(index_rows * index_dim * sizeof(float)) * 1e-9;
    state.counters["GB/s"] = gigabytes / seconds;
    state.counters["vs_bandwidth"] = seconds / (gigabytes / mmt::bench::memory_bandwidth_gbs());
    state.counters["ms_per_query"] = seconds * 1e3 / double(n);
    state.counters["bandwidth_GB/s"] = mmt::bench::memory_bandwidth_gbs();
    state.counters["threads"] = mmt::num_threads();
    state.SetLabel(n < mmt::ops::few_queries ? "dot_rows" : mmt::ops::packed_gemm_kernel());
}
BENCHMARK(search_index)->ArgName("queries")->Arg(1)->Arg(64)->Unit(benchmark::kMillisecond)->UseManualTime();

// What `mmt search --index` pays before its pass: mapping the shards, checking their
// headers and reading the manifest's million lines.
void search_index_open(benchmark::State& state) {
    const fs::path& dir = million_index();
    for (auto _ : state) benchmark::DoNotOptimize(mmt::pipelines::embedding_index(dir).size());
}
BENCHMARK(search_index_open)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

}  // namespace

