// What bf16 and int8 linear layers cost in accuracy on the real-size models
// (real_size_models.hpp), against the same model in float32 on the same inputs:
// the bars are CLIP embedding cosine >= 0.999 and LayoutLM token labels
// and wav2vec2 CTC frame labels >= 99 % unchanged. Each case runs the reduced
// model once; its counters are the figures (`cosine`: the smallest over the
// batch; `labels_unchanged`: the fraction of tokens or frames, and
// `logit_error`: the RMS of the logits' change over the RMS of float32's
// logits).
#include <cmath>
#include <string>
#include <utility>

#include <benchmark/benchmark.h>

#include "mmt/models/clip/clip_model.hpp"
#include "mmt/models/layoutlm/heads.hpp"
#include "mmt/models/wav2vec2/wav2vec2_model.hpp"
#include "mmt/ops/packed_gemm_any.hpp"
#include "real_size_models.hpp"
#include "support/agreement.hpp"

namespace {

using mmt::precision;

void embedding_figures(benchmark::State& state, const mmt::tensor<2>& f32, const mmt::tensor<2>& reduced) {
    state.counters["cosine"] = mmt::test::min_row_cosine(f32, reduced);
}

// Logits [batch, positions, classes].
void label_figures(benchmark::State& state, const mmt::tensor<3>& f32, const mmt::tensor<3>& reduced) {
    state.counters["labels_unchanged"] = mmt::test::fraction_equal(mmt::test::argmax_last(f32), mmt::test::argmax_last(reduced));
    double change = 0, size = 0;
    for (std::size_t i = 0; i < f32.size(); ++i) {
        change += std::pow(double(reduced.data()[i]) - f32.data()[i], 2);
        size += std::pow(double(f32.data()[i]), 2);
    }
    state.counters["logit_error"] = std::sqrt(change / size);
}

// `run`'s output on the model in float32, then on the model with `linear`
// layers (timed, once), compared by `figures`.
template <class Model, class Run, class Figures>
void against_f32(benchmark::State& state, const std::string& config_file, const std::string& architecture, const mmt::load_options& linear,
                 const Run& run, const Figures& figures) {
    const auto reference = run(mmt::bench::model_for<Model>(config_file, precision::f32, architecture));
    const Model& model = mmt::bench::model_for<Model>(config_file, linear, architecture);
    decltype(run(model)) reduced;
    for (auto _ : state) reduced = run(model);
    figures(state, reference, reduced);
    state.SetLabel(mmt::ops::packed_gemm_kernel(linear.linear));
}

const std::string clip_config = "clip-vit-base-patch32.json";

void clip_b32_image(benchmark::State& state, std::size_t batch, precision linear) {
    const auto pixels =
        mmt::bench::clip_pixels(batch, mmt::bench::model_for<mmt::clip::clip_model>(clip_config, precision::f32).config.vision.image_size);
    against_f32<mmt::clip::clip_model>(
        state, clip_config, "", linear, [&](const mmt::clip::clip_model& m) { return m.get_image_features(pixels); }, embedding_figures);
}

void clip_b32_text(benchmark::State& state, std::size_t batch, precision linear) {
    const auto in = mmt::bench::clip_text(
        batch, mmt::bench::model_for<mmt::clip::clip_model>(clip_config, precision::f32).config.text.max_position_embeddings);
    against_f32<mmt::clip::clip_model>(
        state, clip_config, "", linear, [&](const mmt::clip::clip_model& m) { return m.get_text_features(in.input_ids, in.attention_mask); },
        embedding_figures);
}

// LayoutLMForTokenClassification on layoutlm-base-uncased's config (its two labels).
void layoutlm_base(benchmark::State& state, std::size_t batch, std::size_t seq, precision linear) {
    const auto in = mmt::bench::layoutlm_inputs(batch, seq);
    against_f32<mmt::layoutlm::pretrained_model>(
        state, "layoutlm-base-uncased.json", "LayoutLMForTokenClassification", linear,
        [&](const mmt::layoutlm::pretrained_model& m) { return m.token_logits(in); }, label_figures);
}

void wav2vec2_base(benchmark::State& state, std::size_t seconds, const mmt::load_options& linear) {
    const auto audio = mmt::bench::speech_audio(seconds);
    against_f32<mmt::wav2vec2::wav2vec2_model>(
        state, "wav2vec2-base-960h.json", "", linear, [&](const mmt::wav2vec2::wav2vec2_model& m) { return m.forward_ctc(audio).logits; },
        label_figures);
}

const bool registered = [] {
    for (precision p : {precision::bf16, precision::int8}) {
        const std::string suffix = p == precision::bf16 ? "/bf16" : "/int8";
        auto add = [&](const std::string& name, auto fn) {
            benchmark::RegisterBenchmark(("accuracy/" + name + suffix).c_str(), fn)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);
        };
        add("clip_b32_image/batch:8", [p](benchmark::State& s) { clip_b32_image(s, 8, p); });
        add("clip_b32_text/batch:8", [p](benchmark::State& s) { clip_b32_text(s, 8, p); });
        add("layoutlm_base/1x512", [p](benchmark::State& s) { layoutlm_base(s, 1, 512, p); });
        add("wav2vec2_base/seconds:10", [p](benchmark::State& s) { wav2vec2_base(s, 10, p); });
    }
    // wav2vec2 with modules in another precision: int8 with the feature encoder's
    // convolutions in bf16 or float32 (as ONNX Runtime's quantize_dynamic leaves
    // convolutions); and float32 with one 512 -> 768 layer alone in int8, which
    // already moves this random model's near-tied frame labels by about 1 %.
    const std::pair<precision, mmt::module_precisions> mixed[] = {{precision::int8, {{"feature_extractor", precision::bf16}}},
                                                                  {precision::int8, {{"feature_extractor", precision::f32}}},
                                                                  {precision::f32, {{"feature_projection", precision::int8}}}};
    for (const auto& [linear, modules] : mixed) {
        mmt::load_options options{linear};
        options.module_precision = modules;
        const std::string& module = modules.front().first;
        benchmark::RegisterBenchmark(("accuracy/wav2vec2_base/seconds:10/" + std::string(precision_name(linear)) + "/" + module + ":" +
                                      precision_name(modules.front().second))
                                         .c_str(),
                                     [=](benchmark::State& s) { wav2vec2_base(s, 10, options); })
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime()
            ->Iterations(1);
    }
    return true;
}();

}  // namespace
