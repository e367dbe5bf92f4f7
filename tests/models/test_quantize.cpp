// `mmt quantize` (models/quantize.hpp): a checkpoint stored in int8 or bf16 loads
// without quantising again and gives exactly the outputs of the original loaded in
// that precision, through every packing site (linear layers, patch embedding,
// SigLIP's attention-pooling in_proj, wav2vec2's convolutions); its damaged forms
// are clear errors. And load_options::module_precision, which picks a precision per
// module at load and which quantize stores.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "mmt/io/checkpoint.hpp"
#include "mmt/io/quantized_format.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "mmt/models/quantize.hpp"
#include "mmt/models/wav2vec2/wav2vec2_model.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {
// The named outputs of `a` and `b` on the fixture's inputs are the same floats.
void check_same_outputs(const auto_model& a, const auto_model& b, const fs::path& reference) {
    const named_inputs inputs = named_inputs::from_file(io::safetensors_file(reference));
    const named_outputs x = a.forward(inputs), y = b.forward(inputs);
    REQUIRE(!x.empty());
    REQUIRE(x.size() == y.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        INFO(x[i].first);
        CHECK(x[i].first == y[i].first);
        CHECK(x[i].second == y[i].second);
    }
}

std::uintmax_t checkpoint_bytes(const fs::path& dir) {
    std::uintmax_t bytes = 0;
    for (const fs::path& file : io::checkpoint::open(dir).files()) bytes += fs::file_size(file);
    return bytes;
}

// A quantized copy of `fixture` in a scratch dir `name`, with its file rewritten by `edit` (metadata and raw tensors).
fs::path damaged_copy(const std::string& fixture, const std::string& name,
                      const std::function<void(const std::string& tensor, io::tensor_info& info, std::string& bytes)>& edit,
                      const std::map<std::string, std::string>& metadata = {}) {
    const fs::path out = test::scratch_dir(name);
    quantize_pretrained(test::data_path(fixture), out, precision::int8);
    io::safetensors_writer writer;
    {
        const io::safetensors_file file(out / "model.safetensors");
        for (const auto& [key, value] : file.metadata()) writer.set_metadata(key, value);
        for (const auto& [key, value] : metadata) writer.set_metadata(key, value);
        for (const auto& tensor : file.names()) {
            io::tensor_info info = file.info(tensor);
            std::string bytes(info.nbytes, '\0');
            file.read_bytes(info, bytes.data());
            edit(tensor, info, bytes);
            if (!info.name.empty()) writer.add_raw(tensor, info.dtype, info.shape, std::move(bytes));
        }
    }
    writer.save(out / "model.safetensors");
    return out;
}
const auto unchanged = [](const std::string&, io::tensor_info&, std::string&) {};
const std::string scale = "text_model.encoder.layers.0.mlp.fc1.weight_scale";
}  // namespace

TEST_CASE("quantize: each fixture stored in int8 or bf16 gives the outputs of the original loaded in that precision" *
          doctest::test_suite("unit")) {
    struct quantize_case {
        const char* fixture;
        precision p;
    };
    // CLIP: linear layers and the patch embedding; SigLIP: the pooling head's in_proj;
    // wav2vec2: the feature encoder and the weight-normed positional convolution;
    // Data2VecAudio: its positional conv layers; a sharded pytorch_model.bin as source.
    for (const quantize_case c : {quantize_case{"clip-tiny", precision::int8}, {"clip-tiny", precision::bf16}, {"siglip-tiny", precision::int8},
                                  {"wav2vec2-tiny-ctc", precision::int8}, {"data2vec-audio-tiny-ctc", precision::int8},
                                  {"layoutlm-tiny-token-cls", precision::bf16}, {"pytorch-bin/clip-tiny-sharded", precision::int8}}) {
        INFO(c.fixture << " in " << precision_name(c.p));
        const fs::path dir = test::data_path(c.fixture), out = test::scratch_dir("quantize_roundtrip");
        const std::size_t reduced = quantize_pretrained(dir, out, c.p);
        CHECK(reduced > 0);
        const io::checkpoint stored = io::checkpoint::open(out);
        CHECK(io::quantized_format::precision_of(stored) == c.p);
        CHECK(stored.files() == std::vector<fs::path>{out / "model.safetensors"});
        const bool sharded = std::string(c.fixture).find("sharded") != std::string::npos;
        const fs::path reference = test::data_path(sharded ? "clip-tiny" : c.fixture) / "reference.safetensors";
        check_same_outputs(auto_model::from_pretrained(out), auto_model::from_pretrained(dir, {c.p}), reference);
        CHECK(checkpoint_bytes(out) < checkpoint_bytes(dir));
        for (const auto& entry : fs::directory_iterator(dir)) {  // every other file comes along as it is
            const std::string file = entry.path().filename().string();
            if (file.find("pytorch_model") == 0) CHECK_FALSE(fs::exists(out / file));
            else if (file != "model.safetensors") CHECK(test::read_file(out / file) == test::read_file(entry.path()));
        }
    }
}

TEST_CASE("quantize: body weights are stored reduced with their scales, heads and everything else as they were" *
          doctest::test_suite("unit")) {
    const fs::path out = test::scratch_dir("quantize_layout");
    quantize_pretrained(test::data_path("clip-tiny"), out, precision::int8);
    const io::checkpoint original = io::checkpoint::open(test::data_path("clip-tiny")), stored = io::checkpoint::open(out);
    const io::tensor_info& fc1 = stored.info("text_model.encoder.layers.0.mlp.fc1.weight");
    CHECK(fc1.dtype == dtype::i8);
    CHECK(fc1.shape == original.info("text_model.encoder.layers.0.mlp.fc1.weight").shape);
    CHECK(fc1.nbytes * 4 == original.info("text_model.encoder.layers.0.mlp.fc1.weight").nbytes);
    CHECK(stored.info(scale).dtype == dtype::f32);
    CHECK(stored.info(scale).shape == std::vector<std::size_t>{fc1.shape[0]});
    CHECK(stored.info("vision_model.embeddings.patch_embedding.weight").dtype == dtype::i8);
    CHECK(stored.info("text_model.embeddings.token_embedding.weight").dtype == dtype::i8);  // the vocabulary's table
    for (const char* kept : {"text_projection.weight", "visual_projection.weight", "text_model.embeddings.position_embedding.weight",
                             "text_model.encoder.layers.0.mlp.fc1.bias", "logit_scale"}) {
        INFO(kept);
        CHECK(stored.info(kept).dtype == original.info(kept).dtype);
    }
    // Loaded with the default options, the body runs in int8 and the heads in float32.
    const auto model = clip::clip_model::from_pretrained(out);
    CHECK(model.text_model->encoder.layers[0].ffn.fc1.precision() == precision::int8);
    CHECK(model.text_model->token_embedding.precision() == precision::int8);
    CHECK(model.text_projection->precision() == precision::f32);
    // A wav2vec2 model's convolutions too.
    const fs::path speech = test::scratch_dir("quantize_layout_speech");
    quantize_pretrained(test::data_path("wav2vec2-tiny-ctc"), speech, precision::int8);
    const auto w2v = wav2vec2::wav2vec2_model::from_pretrained(speech);
    CHECK(w2v.feature_extractor.conv_layers[0].weight.precision() == precision::int8);
    CHECK(w2v.lm_head->lm_head.precision() == precision::f32);
}

TEST_CASE("quantize: bad requests and damaged quantized checkpoints are clear errors" * doctest::test_suite("unit")) {
    const fs::path clip = test::data_path("clip-tiny");
    test::check_throws<input_error>([&] { quantize_pretrained(clip, test::scratch_dir("quantize_f32"), precision::f32); },
                                    {"precision f32", "expected int8 or bf16"});
    const fs::path copy = test::copy_model(clip, "quantize_in_place");
    test::check_throws<input_error>([&] { quantize_pretrained(copy, copy, precision::int8); }, {"is the model's own"});
    const fs::path once = test::scratch_dir("quantize_twice");
    quantize_pretrained(clip, once, precision::int8);
    test::check_throws<input_error>([&] { quantize_pretrained(once, test::scratch_dir("quantize_twice_out"), precision::bf16); },
                                    {"already quantized (int8)", "quantize the original checkpoint"});
    test::check_throws<config_error>([&] { (void)auto_model::from_pretrained(once, {precision::bf16}); },
                                     {"holds int8 weights written by mmt quantize", "not bf16"});
    CHECK_NOTHROW((void)auto_model::from_pretrained(once, {precision::int8}));

    const fs::path version = damaged_copy("clip-tiny", "quantize_version", unchanged, {{io::quantized_format::version_key, "3"}});
    test::check_throws<format_error>([&] { (void)auto_model::from_pretrained(version); },
                                     {"layout version '3'", "this mmt reads versions 1 to 2"});
    const fs::path kind = damaged_copy("clip-tiny", "quantize_kind", unchanged, {{io::quantized_format::precision_key, "int4"}});
    test::check_throws<format_error>([&] { (void)auto_model::from_pretrained(kind); }, {"'int4'", "expected 'int8' or 'bf16'"});

    const fs::path missing = damaged_copy("clip-tiny", "quantize_missing_scale", [](const std::string& t, io::tensor_info& info, std::string&) {
        if (t == scale) info.name.clear();  // dropped
    });
    test::check_throws<format_error>([&] { (void)auto_model::from_pretrained(missing); }, {"has no scale table", scale});
    const fs::path zero = damaged_copy("clip-tiny", "quantize_zero_scale", [](const std::string& t, io::tensor_info&, std::string& bytes) {
        if (t == scale) std::fill(bytes.begin() + 4, bytes.begin() + 8, '\0');
    });
    test::check_throws<format_error>([&] { (void)auto_model::from_pretrained(zero); }, {scale, "holds 0 at row 1", "positive finite"});
    const fs::path nan = damaged_copy("clip-tiny", "quantize_nan_scale", [](const std::string& t, io::tensor_info&, std::string& bytes) {
        const float value = std::numeric_limits<float>::quiet_NaN();
        if (t == scale) std::memcpy(bytes.data(), &value, 4);
    });
    test::check_throws<format_error>([&] { (void)auto_model::from_pretrained(nan); }, {scale, "at row 0", "positive finite"});
    const fs::path shape = damaged_copy("clip-tiny", "quantize_scale_shape", [](const std::string& t, io::tensor_info& info, std::string& bytes) {
        if (t != scale) return;
        info.shape[0] -= 1;
        bytes.resize(bytes.size() - 4);
    });
    test::check_throws<format_error>([&] { (void)auto_model::from_pretrained(shape); }, {scale, "expected F32 ["});
    // k_proj back in float32 beside q_proj's levels: the stacked projection cannot take both.
    const std::string k_proj = "text_model.encoder.layers.0.self_attn.k_proj.weight";
    const fs::path mixed = damaged_copy("clip-tiny", "quantize_mixed_stack", [&](const std::string& t, io::tensor_info& info, std::string& bytes) {
        if (t == k_proj + io::quantized_format::scale_suffix) info.name.clear();
        if (t != k_proj) return;
        std::string floats(bytes.size() * 4, '\0');
        for (std::size_t i = 0; i < bytes.size(); ++i) {
            const float level = float(static_cast<std::int8_t>(bytes[i]));
            std::memcpy(&floats[4 * i], &level, 4);
        }
        info.dtype = dtype::f32;
        bytes = std::move(floats);
    });
    test::check_throws<format_error>([&] { (void)auto_model::from_pretrained(mixed); },
                                     {"text_model.encoder.layers.0.self_attn.q_proj and the layers stacked with it are not all stored as int8 levels"});
}

namespace {
load_options with_modules(precision linear, module_precisions modules) {
    load_options o{linear};
    o.module_precision = std::move(modules);
    return o;
}
}  // namespace

TEST_CASE("module precision: the text form is MODULE=PRECISION pairs, anything else is a clear error" * doctest::test_suite("unit")) {
    const module_precisions modules{{"feature_extractor", precision::bf16}, {"encoder.layers.0", precision::f32}, {"fc1", precision::int8}};
    CHECK(module_precision_text(modules) == "feature_extractor=bf16,encoder.layers.0=f32,fc1=int8");
    CHECK(parse_module_precision(module_precision_text(modules), "test") == modules);
    CHECK(parse_module_precision("", "test").empty());
    for (const char* bad : {"feature_extractor", "=bf16", "a=fp16", "a=bf16,,b=f32", ",a=bf16"}) {
        INFO(bad);
        test::check_throws<input_error>([&] { (void)parse_module_precision(bad, "--module-precision"); },
                                        {"--module-precision: '", "is not MODULE=PRECISION", "feature_extractor=bf16"});
    }
}

TEST_CASE("module precision: the first entry whose dotted components a layer's name holds decides its precision, through every "
          "packing site; an entry that matches no layer is an error" * doctest::test_suite("unit")) {
    const fs::path speech = test::data_path("wav2vec2-tiny-ctc"), clip = test::data_path("clip-tiny");
    const fs::path reference = speech / "reference.safetensors";
    const auto model = wav2vec2::wav2vec2_model::from_pretrained(
        speech, with_modules(precision::int8, {{"feature_extractor", precision::bf16},
                                               {"layers.0.feed_forward", precision::int8},
                                               {"layers.0", precision::f32}}));
    for (const auto& conv : model.feature_extractor.conv_layers) CHECK(conv.weight.precision() == precision::bf16);
    const auto& layer0 = model.encoder.layers.layers.at(0);
    const auto& layer1 = model.encoder.layers.layers.at(1);
    CHECK(layer0.attention.qkv_proj.precision() == precision::f32);
    CHECK(layer0.attention.out_proj.precision() == precision::f32);
    CHECK(layer0.ffn.fc1.precision() == precision::int8);  // the earlier entry wins
    CHECK(layer1.attention.qkv_proj.precision() == precision::int8);
    CHECK(model.feature_projection.projection.precision() == precision::int8);
    CHECK(model.lm_head->lm_head.precision() == precision::f32);  // heads stay float32

    // Whole components only: "layers.0" is not in "conv_layers.0".
    const auto exact_layer = wav2vec2::wav2vec2_model::from_pretrained(speech, with_modules(precision::int8, {{"layers.0", precision::f32}}));
    CHECK(exact_layer.feature_extractor.conv_layers.at(0).weight.precision() == precision::int8);
    CHECK(exact_layer.encoder.layers.layers.at(0).ffn.fc2.precision() == precision::f32);

    // The whole model's modules in another precision give exactly that precision's outputs.
    check_same_outputs(auto_model::from_pretrained(speech, with_modules(precision::int8, {{"wav2vec2", precision::f32}})),
                       auto_model::from_pretrained(speech), reference);
    check_same_outputs(auto_model::from_pretrained(speech, with_modules(precision::f32, {{"wav2vec2", precision::int8}})),
                       auto_model::from_pretrained(speech, {precision::int8}), reference);
    check_same_outputs(
        auto_model::from_pretrained(clip, with_modules(precision::f32, {{"text_model", precision::int8}, {"vision_model", precision::int8}})),
        auto_model::from_pretrained(clip, {precision::int8}), clip / "reference.safetensors");

    test::check_throws<config_error>(
        [&] { (void)auto_model::from_pretrained(speech, with_modules(precision::int8, {{"feature_extracter", precision::bf16}})); },
        {"module precision 'feature_extracter=bf16'", "no module of this model", "one is 'wav2vec2.feature_extractor.conv_layers.0.conv'"});
    test::check_throws<config_error>(  // a head stays float32: it takes no precision
        [&] { (void)auto_model::from_pretrained(speech, with_modules(precision::int8, {{"lm_head", precision::bf16}})); },
        {"module precision 'lm_head=bf16'", "no module of this model"});
    test::check_throws<config_error>(  // shadowed by the pair before it
        [&] {
            (void)auto_model::from_pretrained(
                speech, with_modules(precision::int8, {{"encoder", precision::f32}, {"encoder.layers.0", precision::bf16}}));
        },
        {"module precision 'encoder.layers.0=bf16'", "an earlier pair decides every layer it names"});
    test::check_throws<config_error>(  // q, k and v pack as one weight
        [&] { (void)auto_model::from_pretrained(speech, with_modules(precision::int8, {{"layers.1.attention.v_proj", precision::bf16}})); },
        {"encoder.layers.1.attention.v_proj: loads in bf16, but attention.q_proj, stacked with it, in int8"});
}

TEST_CASE("quantize: modules stored in their own precision load so, in layout version 2, with the outputs of the original loaded "
          "with the same modules" * doctest::test_suite("unit")) {
    const fs::path speech = test::data_path("wav2vec2-tiny-ctc"), out = test::scratch_dir("quantize_modules");
    const module_precisions modules{{"feature_extractor", precision::bf16}, {"encoder.layers.0", precision::f32}};
    quantize_pretrained(speech, out, precision::int8, modules);
    const io::checkpoint stored = io::checkpoint::open(out);
    CHECK(stored.metadata(io::quantized_format::version_key) == std::string("2"));
    CHECK(stored.metadata(io::quantized_format::modules_key) == std::string("feature_extractor=bf16,encoder.layers.0=f32"));
    CHECK(stored.info("wav2vec2.feature_extractor.conv_layers.1.conv.weight").dtype == dtype::bf16);
    CHECK(stored.info("wav2vec2.encoder.layers.0.feed_forward.output_dense.weight").dtype == dtype::f32);
    CHECK_FALSE(stored.contains("wav2vec2.encoder.layers.0.feed_forward.output_dense.weight_scale"));
    CHECK(stored.info("wav2vec2.encoder.layers.1.feed_forward.output_dense.weight").dtype == dtype::i8);
    const fs::path reference = speech / "reference.safetensors";
    check_same_outputs(auto_model::from_pretrained(out), auto_model::from_pretrained(speech, with_modules(precision::int8, modules)), reference);
    CHECK_NOTHROW((void)auto_model::from_pretrained(out, with_modules(precision::int8, modules)));
    test::check_throws<config_error>(
        [&] { (void)auto_model::from_pretrained(out, with_modules(precision::f32, {{"feature_extractor", precision::f32}})); },
        {"stored its modules as 'feature_extractor=bf16,encoder.layers.0=f32'", "not as 'feature_extractor=f32'"});
    // Without modules the layout is version 1's, as before.
    const fs::path plain = test::scratch_dir("quantize_modules_plain");
    quantize_pretrained(speech, plain, precision::int8);
    CHECK(io::checkpoint::open(plain).metadata(io::quantized_format::version_key) == std::string("1"));
    CHECK_FALSE(io::checkpoint::open(plain).metadata(io::quantized_format::modules_key));

    test::check_throws<config_error>(
        [&] { quantize_pretrained(speech, test::scratch_dir("quantize_modules_typo"), precision::int8, {{"encoder.layer.0", precision::f32}}); },
        {"module precision 'encoder.layer.0=f32'", "no module of this model"});
    const fs::path in_v1 = damaged_copy("clip-tiny", "quantize_modules_v1", unchanged, {{io::quantized_format::modules_key, "text_model=f32"}});
    test::check_throws<format_error>([&] { (void)auto_model::from_pretrained(in_v1); }, {"in a layout version 1 file"});
    const fs::path bad = damaged_copy("clip-tiny", "quantize_modules_bad", unchanged,
                                      {{io::quantized_format::version_key, "2"}, {io::quantized_format::modules_key, "text_model=int4"}});
    test::check_throws<format_error>([&] { (void)auto_model::from_pretrained(bad); }, {"'text_model=int4'", "is not MODULE=PRECISION"});
    // Metadata that says a module stored in int8 is float32 would read its levels as weights.
    const fs::path lying = damaged_copy("clip-tiny", "quantize_modules_lying", unchanged,
                                        {{io::quantized_format::version_key, "2"}, {io::quantized_format::modules_key, "text_model=f32"}});
    test::check_throws<format_error>([&] { (void)auto_model::from_pretrained(lying); },
                                     {"int8 weight 'text_model.", "is asked for in f32", "mmt_module_precision"});
}
