// Whole models at real size (real_size_models.hpp), timed on fixed inputs. Each reports
// ms per forward, GFLOP/s from FLOPs counted from the shapes, and the fractions of
// the FMA peak and of its kernel's own roof (roofline.hpp) measured in the same run.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <benchmark/benchmark.h>

#include "mmt/io/image.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/layoutlmv3/heads.hpp"
#include "mmt/models/quantize.hpp"
#include "mmt/models/random_model.hpp"
#include "mmt/ops/packed_gemm_any.hpp"
#include "mmt/pipelines/collection_sources.hpp"
#include "mmt/pipelines/embed_collection.hpp"
#include "mmt/pipelines/text_image_embedders.hpp"
#include "real_size_models.hpp"
#include "roofline.hpp"
#include "support/image_collection.hpp"

namespace {

using mmt::tensor;

using mmt::precision;

void report(benchmark::State& state, double flop, precision linear) {
    state.SetLabel(mmt::ops::packed_gemm_kernel(linear));
    state.counters["GFLOP"] = flop * 1e-9;
    state.counters["GFLOP/s"] = benchmark::Counter(flop * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["peak_fraction"] = benchmark::Counter(flop * 1e-9 / mmt::bench::fma_peak_gflops(), benchmark::Counter::kIsIterationInvariantRate);
    // Of the roof of the instruction the linear layers ran on (vdpbf16ps for bf16, vpdpbusd for int8, ...).
    if (const double roof = mmt::bench::kernel_peak_gflops(linear, mmt::active_kernel()))
        state.counters["kernel_peak_fraction"] = benchmark::Counter(flop * 1e-9 / roof, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["threads"] = mmt::num_threads();
}

// forward() once untimed, as a service's first request, then timed. The first call
// faults in what later calls reuse (wav2vec2's feature encoder keeps its activations
// between calls), and a case that runs one iteration (wav2vec2 at 30 s) would time it.
template <class Forward>
void time_warm(benchmark::State& state, Forward&& forward) {
    benchmark::DoNotOptimize(forward());
    for (auto _ : state) benchmark::DoNotOptimize(forward());
}

// FLOPs of a transformer encoder: projections, attention scores and weighted sum, MLP.
double encoder_flops(double tokens, double seq_len, double hidden, double intermediate, double layers) {
    return layers * (8 * tokens * hidden * hidden + 4 * tokens * seq_len * hidden + 4 * tokens * hidden * intermediate);
}

void clip_b32_image(benchmark::State& state, std::size_t batch, precision linear) {
    const auto& model = mmt::bench::model_for<mmt::clip::clip_model>("clip-vit-base-patch32.json", linear);
    const auto& c = model.config.vision;
    const tensor<4> pixels = mmt::bench::clip_pixels(batch, c.image_size);
    time_warm(state, [&] { return model.get_image_features(pixels); });
    const double patches = double(c.num_patches()), tokens = double(batch) * (patches + 1);
    report(state, 2 * double(batch) * patches * double(3 * c.patch_size * c.patch_size * c.hidden_size) +
                      encoder_flops(tokens, patches + 1, double(c.hidden_size), double(c.intermediate_size), double(c.num_hidden_layers)) +
                      2 * double(batch) * double(c.hidden_size) * double(model.config.projection_dim),
           linear);
}

void clip_b32_text(benchmark::State& state, std::size_t batch, precision linear) {
    const auto& model = mmt::bench::model_for<mmt::clip::clip_model>("clip-vit-base-patch32.json", linear);
    const auto& c = model.config.text;
    const auto in = mmt::bench::clip_text(batch, c.max_position_embeddings);
    time_warm(state, [&] { return model.get_text_features(in.input_ids, in.attention_mask); });
    const double seq = double(c.max_position_embeddings), tokens = double(batch) * seq;
    report(state, encoder_flops(tokens, seq, double(c.hidden_size), double(c.intermediate_size), double(c.num_hidden_layers)) +
                      2 * double(batch) * double(c.hidden_size) * double(model.config.projection_dim),
           linear);
}

void layoutlm_base(benchmark::State& state, std::size_t batch, std::size_t seq, precision linear) {
    const auto& model = mmt::bench::model_for<mmt::layoutlm::pretrained_model>("layoutlm-base-uncased.json", linear);
    const auto& c = model.config;
    const auto in = mmt::bench::layoutlm_inputs(batch, seq);
    time_warm(state, [&] { return model.base_forward(in); });
    report(state, encoder_flops(double(batch * seq), double(seq), double(c.hidden_size), double(c.intermediate_size),
                                double(c.num_hidden_layers)),
           linear);
}

// LiltModel at SCUT-DLVCLab/lilt-roberta-en-base's size (HF's default LiltConfig with
// RoBERTa's vocabulary, 514 positions and padding index): a text stream as
// layoutlm_base's and a layout stream a quarter as wide. The FLOPs are HF's, whose
// last layout layer runs and is dropped.
void lilt_base(benchmark::State& state, std::size_t batch, std::size_t seq, precision linear) {
    const auto& model = mmt::bench::model_for<mmt::lilt::pretrained_model>("lilt-roberta-en-base.json", linear);
    const auto& c = model.config;
    const auto in = mmt::bench::layoutlm_inputs(batch, seq);
    time_warm(state, [&] { return model.base_forward(in); });
    const double tokens = double(batch * seq), ratio = double(c.channel_shrink_ratio);
    report(state,
           encoder_flops(tokens, double(seq), double(c.hidden_size), double(c.intermediate_size), double(c.num_hidden_layers)) +
               encoder_flops(tokens, double(seq), double(c.hidden_size) / ratio, double(c.intermediate_size) / ratio,
                             double(c.num_hidden_layers)),
           linear);
}

// LayoutLMv3Model on `seq` text tokens and a 224x224 page (197 visual tokens), the
// base size with microsoft/layoutlmv3-base's 514 positions (HF's default config otherwise).
void layoutlmv3_base(benchmark::State& state, std::size_t batch, std::size_t seq, precision linear) {
    const auto& model = mmt::bench::model_for<mmt::layoutlmv3::pretrained_model>("layoutlmv3-base.json", linear);
    const auto& c = model.config;
    mmt::layoutlmv3::model_inputs in;
    in.input_ids = mmt::int_tensor<2>::from_shape({batch, seq});
    in.bbox = mmt::int_tensor<3>::from_shape({batch, seq, 4});
    in.attention_mask = mmt::int_tensor<2>::from_shape({batch, seq});
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t s = 0; s < seq; ++s) {
            in.input_ids(b, s) = s == 0 ? 0 : s + 1 == seq ? 2 : std::int64_t(1000 + (b * 131 + s * 17) % 48000);
            const std::int64_t x = std::int64_t((s * 37) % 900), y = std::int64_t((s * 53) % 950);
            in.bbox(b, s, 0) = x, in.bbox(b, s, 1) = y, in.bbox(b, s, 2) = x + 60, in.bbox(b, s, 3) = y + 20;
            in.attention_mask(b, s) = 1;
        }
    in.pixel_values = mmt::tensor<4>::from_shape({batch, 3, c.input_size, c.input_size});
    for (std::size_t i = 0; i < in.pixel_values.size(); ++i) in.pixel_values.data()[i] = float(int(i * 7919 % 2001) - 1000) / 1000.0f;
    time_warm(state, [&] { return model.base_forward(in); });
    const double patches = double((c.input_size / c.patch_size) * (c.input_size / c.patch_size));
    const double tokens = double(seq) + patches + 1, h = double(c.hidden_size);
    report(state, double(batch) * (encoder_flops(tokens, tokens, h, double(c.intermediate_size), double(c.num_hidden_layers)) +
                                   2 * patches * h * 3 * double(c.patch_size * c.patch_size)),
           linear);
}

// The feature encoder's convolutions, the positional convolution and the encoder
// (WavLM's position-bias gate adds under 0.1 %, left out).
double wav2vec2_flops(const mmt::wav2vec2::config& c, std::int64_t samples) {
    double flop = 0, length = double(samples), in_channels = 1;
    for (std::size_t i = 0; i < c.conv_dim.size(); ++i) {
        length = std::floor((length - double(c.conv_kernel[i])) / double(c.conv_stride[i])) + 1;
        flop += 2 * length * double(c.conv_dim[i]) * in_channels * double(c.conv_kernel[i]);
        in_channels = double(c.conv_dim[i]);
    }
    const double h = double(c.hidden_size);
    flop += 2 * length * in_channels * h;                                                                   // feature projection
    flop += 2 * length * h * (h / double(c.num_conv_pos_embedding_groups)) * double(c.num_conv_pos_embeddings);  // positional conv
    return flop + encoder_flops(length, length, h, double(c.intermediate_size), double(c.num_hidden_layers));
}

// A CTC model of the wav2vec2-like family on `seconds` of 16 kHz audio.
void speech_ctc(benchmark::State& state, const std::string& config_file, std::size_t seconds, const mmt::load_options& options) {
    const auto& model = mmt::bench::model_for<mmt::wav2vec2::wav2vec2_model>(config_file, options);
    const tensor<2> audio = mmt::bench::speech_audio(seconds);
    time_warm(state, [&] { return model.forward_ctc(audio); });
    report(state, wav2vec2_flops(model.config, std::int64_t(audio.shape(1))), options.linear);
}

// Start-up: ViT-B/32 (CLIPModel, 605 MB of float32) loaded from a warm page cache,
// its weights packed for the GEMM: the float32 checkpoint in float32 (f32),
// rounded to bf16 or quantised to int8 as it loads (bf16_at_load, int8_at_load), or
// the checkpoint `mmt quantize` stored in int8 (int8_stored). The checkpoint is
// written once to a temporary directory and read once before timing, so the page
// cache holds it.
enum class load_case { f32, bf16_at_load, int8_at_load, int8_stored };
void clip_b32_load(benchmark::State& state, load_case c) {
    const auto dir = std::filesystem::temp_directory_path() / ("mmt_bench_clip_b32_" + std::to_string(::getpid()));
    mmt::write_random_model(std::string(MMT_CONFIGS_DIR) + "/clip-vit-base-patch32.json", dir, mmt::dtype::f32, 0);
    auto source = dir;
    if (c == load_case::int8_stored) mmt::quantize_pretrained(dir, source = dir / "int8", precision::int8);
    const mmt::load_options options{c == load_case::int8_at_load ? precision::int8
                                    : c == load_case::bf16_at_load ? precision::bf16
                                                                   : precision::f32};
    benchmark::DoNotOptimize(mmt::auto_model::from_pretrained(source, options));
    for (auto _ : state) benchmark::DoNotOptimize(mmt::auto_model::from_pretrained(source, options));
    state.counters["weight_MB"] = double(std::filesystem::file_size(source / "model.safetensors")) * 1e-6;
    state.counters["threads"] = mmt::num_threads();
    std::filesystem::remove_all(dir);
}

// embed-collection's throughput on ViT-B/32 (random weights): a folder of 1,000
// 500x375 photo-like JPEGs (quality 90) through the collection pipeline, which
// decodes and preprocesses on worker threads while the model runs; the model alone
// on decoded, preprocessed batches of the pipeline's size; and decoding and
// preprocessing alone on one thread. items_per_second: images per second.
struct collection_setup {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / ("mmt_bench_collection_" + std::to_string(::getpid()));
    std::shared_ptr<const mmt::interfaces::text_image_embedder> embedder;
    std::vector<std::filesystem::path> images;  // dir/images, in the collection's order

    collection_setup() {
        const auto model = dir / "model";
        mmt::write_random_model(std::string(MMT_CONFIGS_DIR) + "/clip-vit-base-patch32.json", model, mmt::dtype::f32, 0);
        for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"})
            std::filesystem::copy_file(std::string(MMT_CONFIGS_DIR) + "/../clip-tokenizer/" + f, model / f);
        std::ofstream(model / "preprocessor_config.json") << R"({"image_processor_type": "CLIPImageProcessor"})";  // HF's defaults
        embedder = mmt::pipelines::text_image_embedder_from_pretrained(model);
        std::filesystem::remove(model / "model.safetensors");  // 605 MB, loaded
        mmt::test::image_collection_spec spec;
        spec.count = 1000;
        spec.min_width = spec.max_width = 500;
        spec.min_height = spec.max_height = 375;
        spec.jpeg_only = true;
        for (const auto& f : mmt::test::write_image_collection(dir / "images", spec)) images.push_back(dir / "images" / f.id);
    }
    ~collection_setup() { std::filesystem::remove_all(dir); }
};

const collection_setup& collection() {
    static const collection_setup setup;
    return setup;
}

const std::size_t collection_batch = mmt::pipelines::collection_options{}.batch_size;

void clip_b32_collection(benchmark::State& state) {
    const auto& c = collection();
    mmt::pipelines::collection_options options;
    for (auto _ : state) {
        std::filesystem::remove_all(c.dir / "index");
        mmt::pipelines::image_folder source(c.dir / "images");
        mmt::pipelines::embed_collection(*c.embedder, source, "clip-vit-base-patch32", c.dir / "index", options);
    }
    state.SetItemsProcessed(std::int64_t(state.iterations() * c.images.size()));
    state.counters["decode_threads"] = double(options.decode_threads);
    state.counters["threads"] = mmt::num_threads();
}

void clip_b32_collection_model_only(benchmark::State& state) {
    const auto& c = collection();
    mmt::tensor<4> batch;  // [collection_batch, 3, 224, 224]
    for (std::size_t i = 0; i < collection_batch; ++i) {
        const mmt::tensor<3> pixels = c.embedder->preprocess_image(mmt::io::read_image(c.images[i]));
        if (i == 0) batch = mmt::tensor<4>::from_shape({collection_batch, pixels.shape(0), pixels.shape(1), pixels.shape(2)});
        std::copy(pixels.begin(), pixels.end(), batch.data() + i * pixels.size());
    }
    for (auto _ : state) benchmark::DoNotOptimize(c.embedder->embed_pixels(batch));
    state.SetItemsProcessed(std::int64_t(state.iterations() * collection_batch));
    state.counters["threads"] = mmt::num_threads();
}

void clip_b32_collection_decode_only(benchmark::State& state) {
    const auto& c = collection();
    std::size_t next = 0;
    for (auto _ : state) benchmark::DoNotOptimize(c.embedder->preprocess_image(mmt::io::read_image(c.images[next++ % c.images.size()])));
    state.SetItemsProcessed(std::int64_t(state.iterations()));
}

// The case run with another program's thread busy on a core all along (a spinning
// thread of this process, which the scheduler treats alike): with 2 cores, the ops'
// second thread shares a core with it. `threads` 1 runs the ops on the calling
// thread alone, which the ops on every thread should not fall behind; 0 keeps the
// count as it is.
template <class Case>
void with_busy_core(benchmark::State& state, int threads, Case&& run) {
    std::atomic<bool> stop{false};
    std::thread busy([&] {
        while (!stop.load(std::memory_order_relaxed)) {
        }
    });
    const int before = mmt::num_threads();
    if (threads > 0) mmt::set_num_threads(threads);
    run(state);
    mmt::set_num_threads(before);
    stop = true;
    busy.join();
}

// The cases of the performance table, by the names it uses; each again with
// bf16 and int8 linear layers ("/bf16", "/int8"). Registered in this order so each
// model is built once.
const bool registered = [] {
    for (precision p : {precision::f32, precision::bf16, precision::int8}) {
        const std::string suffix = p == precision::bf16 ? "/bf16" : p == precision::int8 ? "/int8" : "";
        auto add = [&](const std::string& name, auto fn) {
            benchmark::RegisterBenchmark((name + suffix).c_str(), fn)->Unit(benchmark::kMillisecond)->UseRealTime();
        };
        add("clip_b32_image/batch:1", [p](benchmark::State& s) { clip_b32_image(s, 1, p); });
        add("clip_b32_image/batch:8", [p](benchmark::State& s) { clip_b32_image(s, 8, p); });
        add("clip_b32_text/batch:8", [p](benchmark::State& s) { clip_b32_text(s, 8, p); });
        add("layoutlm_base/1x512", [p](benchmark::State& s) { layoutlm_base(s, 1, 512, p); });
        add("layoutlm_base/8x128", [p](benchmark::State& s) { layoutlm_base(s, 8, 128, p); });
        add("layoutlm_base/32x128", [p](benchmark::State& s) { layoutlm_base(s, 32, 128, p); });
        add("layoutlmv3_base/1x512", [p](benchmark::State& s) { layoutlmv3_base(s, 1, 512, p); });
        add("lilt_base/1x512", [p](benchmark::State& s) { lilt_base(s, 1, 512, p); });
        add("wav2vec2_base/seconds:10", [p](benchmark::State& s) { speech_ctc(s, "wav2vec2-base-960h.json", 10, p); });
        add("wav2vec2_base/seconds:30", [p](benchmark::State& s) { speech_ctc(s, "wav2vec2-base-960h.json", 30, p); });
        add("hubert_base/seconds:10", [p](benchmark::State& s) { speech_ctc(s, "hubert-base-defaults.json", 10, p); });
        add("wavlm_base/seconds:10", [p](benchmark::State& s) { speech_ctc(s, "wavlm-base-defaults.json", 10, p); });
        add("wavlm_base/seconds:30", [p](benchmark::State& s) { speech_ctc(s, "wavlm-base-defaults.json", 30, p); });
    }
    // int8 with the feature encoder's convolutions in bf16 or float32 (as ONNX
    // Runtime's quantize_dynamic leaves convolutions): wav2vec2's int8 at ONNX
    // Runtime's accuracy (bench_accuracy.cpp).
    for (const precision conv : {precision::bf16, precision::f32}) {
        mmt::load_options options{precision::int8};
        options.module_precision = {{"feature_extractor", conv}};
        for (const std::size_t seconds : {10, 30})
            benchmark::RegisterBenchmark(
                ("wav2vec2_base/seconds:" + std::to_string(seconds) + "/int8/feature_extractor:" + precision_name(conv)).c_str(),
                [=](benchmark::State& s) { speech_ctc(s, "wav2vec2-base-960h.json", seconds, options); })
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
    }
    for (const int threads : {0, 1}) {
        const std::string suffix = threads ? "/busy_core/threads:1" : "/busy_core";
        auto add = [&](const std::string& name, void (*fn)(benchmark::State&)) {
            benchmark::RegisterBenchmark((name + suffix).c_str(), [threads, fn](benchmark::State& s) { with_busy_core(s, threads, fn); })
                ->Unit(benchmark::kMillisecond)
                ->UseRealTime();
        };
        add("clip_b32_image/batch:1", [](benchmark::State& s) { clip_b32_image(s, 1, precision::f32); });
        add("layoutlm_base/8x128", [](benchmark::State& s) { layoutlm_base(s, 8, 128, precision::f32); });
    }
    benchmark::RegisterBenchmark("clip_b32_load/f32", clip_b32_load, load_case::f32)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark("clip_b32_load/bf16_at_load", clip_b32_load, load_case::bf16_at_load)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark("clip_b32_load/int8_at_load", clip_b32_load, load_case::int8_at_load)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark("clip_b32_load/int8_stored", clip_b32_load, load_case::int8_stored)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark("clip_b32_collection/images:1000", clip_b32_collection)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark("clip_b32_collection/model_only", clip_b32_collection_model_only)->Unit(benchmark::kMillisecond)->UseRealTime();
    benchmark::RegisterBenchmark("clip_b32_collection/decode_only", clip_b32_collection_decode_only)->Unit(benchmark::kMillisecond)->UseRealTime();
    return true;
}();

}  // namespace
