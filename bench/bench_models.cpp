// Whole models at real size, built from the hub configs in tests/data/configs
// with random weights (no download), timed on fixed random inputs. Each reports
// ms per forward, GFLOP/s from FLOPs counted from the shapes, and the fraction
// of the FMA peak measured in the same run.
#include <cstdint>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>

#include "mmt/io/json.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/random_model.hpp"
#include "roofline.hpp"
#include "support/random.hpp"

namespace {

using mmt::tensor;

// The model a hub config describes, with random weights made in memory.
const mmt::auto_model& model_for(const std::string& config_file) {
    static std::map<std::string, std::unique_ptr<mmt::auto_model>> cache;
    auto& slot = cache[config_file];
    if (!slot) {
        const std::string path = std::string(MMT_CONFIGS_DIR) + "/" + config_file;
        mmt::io::weight_loader loader([](const std::string& name, const std::vector<std::size_t>& shape, float* out) {
            mmt::detail::random_values(name, shape, out, 0);
        });
        slot = std::make_unique<mmt::auto_model>(mmt::auto_model::from_config(mmt::io::read_json_file(path), path, loader));
    }
    return *slot;
}

void report(benchmark::State& state, double flop) {
    state.counters["GFLOP"] = flop * 1e-9;
    state.counters["GFLOP/s"] = benchmark::Counter(flop * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["peak_fraction"] = benchmark::Counter(flop * 1e-9 / mmt::bench::fma_peak_gflops(), benchmark::Counter::kIsIterationInvariantRate);
    state.counters["threads"] = mmt::num_threads();
}

// FLOPs of a transformer encoder: projections, attention scores and weighted sum, MLP.
double encoder_flops(double tokens, double seq_len, double hidden, double intermediate, double layers) {
    return layers * (8 * tokens * hidden * hidden + 4 * tokens * seq_len * hidden + 4 * tokens * hidden * intermediate);
}

void clip_b32_image(benchmark::State& state) {
    const auto& model = *model_for("clip-vit-base-patch32.json").get<mmt::clip::clip_model>();
    const std::size_t batch = std::size_t(state.range(0));
    const auto& c = model.config.vision;
    const tensor<4> pixels = mmt::test::random_tensor<4>({batch, 3, c.image_size, c.image_size}, 7);
    for (auto _ : state) benchmark::DoNotOptimize(model.get_image_features(pixels));
    const double patches = double(c.num_patches()), tokens = double(batch) * (patches + 1);
    report(state, 2 * double(batch) * patches * double(3 * c.patch_size * c.patch_size * c.hidden_size) +
                      encoder_flops(tokens, patches + 1, double(c.hidden_size), double(c.intermediate_size), double(c.num_hidden_layers)) +
                      2 * double(batch) * double(c.hidden_size) * double(model.config.projection_dim));
}
BENCHMARK(clip_b32_image)->ArgName("batch")->Arg(1)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

void clip_b32_text(benchmark::State& state) {
    const auto& model = *model_for("clip-vit-base-patch32.json").get<mmt::clip::clip_model>();
    const std::size_t batch = std::size_t(state.range(0));
    const auto& c = model.config.text;
    const std::size_t seq = c.max_position_embeddings;
    mmt::int_tensor<2> ids({batch, seq}), mask({batch, seq});
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t s = 0; s < seq; ++s) {
            ids(b, s) = s == 0 ? 49406 : s + 1 == seq ? 49407 : std::int64_t(1000 + 37 * (b + s) % 40000);
            mask(b, s) = 1;
        }
    for (auto _ : state) benchmark::DoNotOptimize(model.get_text_features(ids, mask));
    const double tokens = double(batch * seq);
    report(state, encoder_flops(tokens, double(seq), double(c.hidden_size), double(c.intermediate_size), double(c.num_hidden_layers)) +
                      2 * double(batch) * double(c.hidden_size) * double(model.config.projection_dim));
}
BENCHMARK(clip_b32_text)->ArgName("batch")->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(2.0);

}  // namespace
