// The wav2vec2-like models on the tiny fixtures against HF transformers' own
// outputs: Wav2Vec2ForCTC (base and stable-layer-norm variants),
// Wav2Vec2ForPreTraining, Wav2Vec2ForSequenceClassification and MMS adapters, and
// HuBERT, WavLM and Data2VecAudio with their heads.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "mmt/io/safetensors.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/wav2vec2/wav2vec2_model.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/pytorch_bin.hpp"
#include "support/throws.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

namespace {

struct fixture {
    std::filesystem::path dir;
    io::safetensors_file ref;
    explicit fixture(const std::string& name, const std::string& reference = "reference.safetensors")
        : dir(test::data_path(name)), ref(dir / reference) {}

    tensor<2> input_values() const { return ref.load<float, 2>("input.input_values"); }
    int_tensor<2> attention_mask() const {
        return ref.contains("input.attention_mask") ? ref.load<std::int64_t, 2>("input.attention_mask") : int_tensor<2>();
    }
    template <class T>
    void expect(const T& actual, const std::string& name) const {
        test::check_close(actual, ref.load<float>("output." + name), test::tol::model_abs, name);
    }
};

// Every output.* of the fixture through auto_model's named forward, and nothing else.
void check_forward_named(const fixture& f, const auto_model& model) {
    const named_outputs out = model.forward(named_inputs::from_file(f.ref));
    std::size_t expected = 0;
    for (const auto& name : f.ref.names()) expected += name.rfind("output.", 0) == 0;
    CHECK(out.size() == expected);
    for (const auto& [name, value] : out) f.expect(value, name);
}

// A head's logits and the body's outputs through the model class, then every output through auto_model.
template <class Forward>
void check_head(const std::string& name, wav2vec2::architecture arch, Forward&& forward) {
    const fixture f(name);
    const auto model = wav2vec2::wav2vec2_model::from_pretrained(f.dir);
    CHECK(model.config.arch == arch);
    const auto out = forward(model, f);
    f.expect(out.logits, "logits");
    f.expect(out.wav2vec2.last_hidden_state, "last_hidden_state");
    if (model.config.has_extract_features()) f.expect(out.wav2vec2.extract_features, "extract_features");
    check_forward_named(f, auto_model::from_pretrained(f.dir));
}

void check_ctc(const std::string& name) {
    check_head(name, wav2vec2::architecture::ctc,
               [](const auto& model, const fixture& f) { return model.forward_ctc(f.input_values(), f.attention_mask()); });
}

void check_sequence_classification(const std::string& name) {
    check_head(name, wav2vec2::architecture::sequence_classification, [](const auto& model, const fixture& f) {
        return model.forward_sequence_classification(f.input_values(), f.attention_mask());
    });
}

}  // namespace

TEST_CASE("models.wav2vec2: wav2vec2-tiny-ctc (GroupNorm conv, post-norm encoder) matches every HF output" *
          doctest::test_suite("parity")) {
    check_ctc("wav2vec2-tiny-ctc");
}

TEST_CASE("models.wav2vec2: the feature encoder's buffers, kept between calls, give each call its own outputs" *
          doctest::test_suite("parity")) {
    const fixture f("wav2vec2-tiny-ctc");
    const auto model = wav2vec2::wav2vec2_model::from_pretrained(f.dir);
    const tensor<2> input = f.input_values();
    tensor<2> longer({input.shape(0), 3 * input.shape(1)});  // the input three times over
    for (std::size_t b = 0; b < input.shape(0); ++b)
        for (std::size_t i = 0; i < longer.shape(1); ++i) longer(b, i) = input(b, i % input.shape(1));
    const tensor<3> first = model.forward_ctc(input).logits;
    const tensor<3> three_times = model.forward_ctc(longer).logits;
    CHECK(model.feature_extractor.scratch->free_buffers() == 2);  // grown, not added to
    f.expect(model.forward_ctc(input).logits, "logits");          // after the longer call
    const auto fresh = wav2vec2::wav2vec2_model::from_pretrained(f.dir);
    CHECK(three_times == fresh.forward_ctc(longer).logits);  // bit for bit
    CHECK(first == model.forward_ctc(input).logits);
}

TEST_CASE("models.wav2vec2: wav2vec2-tiny-stable-ctc (LayerNorm convs, stable encoder, padded batch) matches every HF output" *
          doctest::test_suite("parity")) {
    check_ctc("wav2vec2-tiny-stable-ctc");
}

TEST_CASE("models.wav2vec2: wav2vec2-tiny-pretraining matches every HF output, codevector indices exactly" *
          doctest::test_suite("parity")) {
    const fixture f("wav2vec2-tiny-pretraining");
    const auto model = wav2vec2::wav2vec2_model::from_pretrained(f.dir);
    const auto out = model.forward_pretraining(f.input_values());
    f.expect(out.projected_states, "projected_states");
    f.expect(out.projected_quantized_states, "projected_quantized_states");
    f.expect(tensor<1>{out.codevector_perplexity}, "codevector_perplexity");
    f.expect(out.quantized_features, "quantized_features");
    f.expect(out.wav2vec2.last_hidden_state, "last_hidden_state");
    f.expect(out.wav2vec2.extract_features, "extract_features");

    const auto expected = f.ref.load<float>("output.codevector_indices");
    REQUIRE(expected.size() == out.codevector_indices.size());
    std::size_t exact = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) exact += float(out.codevector_indices.data()[i]) == expected.data()[i];
    MESSAGE("codevector_indices: " << exact << " / " << expected.size() << " exact");
    CHECK(exact == expected.size());
    // The quantizer alone (the speech units) picks the same codes from extract_features.
    CHECK(model.quantizer->code_indices(model.extract_features(f.input_values())) == out.codevector_indices);
}

TEST_CASE("models.wav2vec2: weight norm stored as parametrizations.weight.original0/1 loads to the same outputs" *
          doctest::test_suite("parity")) {
    // The checkpoint as torch >= 2.1 saves it: same tensors, the weight norm renamed.
    const fixture f("wav2vec2-tiny-ctc");
    const auto dir = test::scratch_dir("w2v_parametrizations");
    std::filesystem::copy_file(f.dir / "config.json", dir / "config.json");
    const io::safetensors_file original(f.dir / "model.safetensors");
    io::safetensors_writer writer;
    std::size_t renamed = 0;
    for (const auto& name : original.names()) {
        std::string stored = name;
        for (const auto& [from, to] : {std::pair<std::string, std::string>{".weight_g", ".parametrizations.weight.original0"},
                                       {".weight_v", ".parametrizations.weight.original1"}}) {
            if (stored.size() > from.size() && stored.compare(stored.size() - from.size(), from.size(), from) == 0) {
                stored = stored.substr(0, stored.size() - from.size()) + to;
                ++renamed;
            }
        }
        writer.add(stored, original.load<float>(name));
    }
    writer.save(dir / "model.safetensors");
    CHECK(renamed == 2);
    const auto model = wav2vec2::wav2vec2_model::from_pretrained(dir);
    const auto out = model.forward_ctc(f.input_values());
    f.expect(out.logits, "logits");
    f.expect(out.wav2vec2.last_hidden_state, "last_hidden_state");
}

TEST_CASE("models.hubert: hubert-tiny-ctc (GroupNorm conv, post-norm, feature projection LayerNorm) matches every HF output" *
          doctest::test_suite("parity")) {
    check_ctc("hubert-tiny-ctc");
    const auto model = wav2vec2::wav2vec2_model::from_pretrained(test::data_path("hubert-tiny-ctc"));
    CHECK(std::string(model.architecture()) == "HubertForCTC");
    CHECK(model.forward(fixture("hubert-tiny-ctc").input_values()).extract_features.size() == 0);  // HubertModel returns none
}

TEST_CASE("models.hubert: hubert-tiny-stable-seq-cls (LayerNorm convs, stable encoder, weighted layer sum, padded batch) "
          "matches every HF output" * doctest::test_suite("parity")) {
    check_sequence_classification("hubert-tiny-stable-seq-cls");
    const auto model = wav2vec2::wav2vec2_model::from_pretrained(test::data_path("hubert-tiny-stable-seq-cls"));
    CHECK(model.id2label().at(4) == "left");
}

TEST_CASE("models.hubert: without feat_proj_layer_norm the projection reads the conv features directly" * doctest::test_suite("parity")) {
    // No HF reference holds this layout: it is checked against the fixture model's own
    // encoder run on the projection of the raw conv features.
    const fixture f("hubert-tiny-ctc");
    const auto dir = test::copy_model(f.dir, "hubert_no_proj_norm");
    test::edit_config(dir, [](io::json& j) { j["feat_proj_layer_norm"] = false; });
    test::rewrite_checkpoint(dir, [](const std::string& name, dyn_tensor<float>&) {
        return name.find("feature_projection.layer_norm") == std::string::npos;
    });
    const auto without = wav2vec2::wav2vec2_model::from_pretrained(dir);
    CHECK(!without.feature_projection.layer_norm);
    const auto with = wav2vec2::wav2vec2_model::from_pretrained(f.dir);
    const tensor<3> features = with.feature_extractor.forward(f.input_values());
    // The same encoder on projection(features) instead of projection(LayerNorm(features)).
    const tensor<3> expected = with.encoder.forward(with.feature_projection.projection.forward(features), {});
    test::check_close(without.forward(f.input_values()).last_hidden_state, expected, 0.0, "last_hidden_state");
}

TEST_CASE("models.wavlm: wavlm-tiny-ctc (gated relative position bias, padded batch) matches every HF output" *
          doctest::test_suite("parity")) {
    check_ctc("wavlm-tiny-ctc");
}

TEST_CASE("models.wavlm: relative position buckets as HF's _relative_positions_bucket" * doctest::test_suite("unit")) {
    // num_buckets 320, max_distance 800 (WavLM base): exact below 80, logarithmic to 159, by sign.
    CHECK(wav2vec2::relative_position_bucket(0, 320, 800) == 0);
    CHECK(wav2vec2::relative_position_bucket(79, 320, 800) == 160 + 79);
    CHECK(wav2vec2::relative_position_bucket(-79, 320, 800) == 79);
    CHECK(wav2vec2::relative_position_bucket(80, 320, 800) == 160 + 80);
    // 80 + floor(log(400 / 80) / log(800 / 80) * 80) = 80 + floor(55.92) = 135
    CHECK(wav2vec2::relative_position_bucket(-400, 320, 800) == 135);
    CHECK(wav2vec2::relative_position_bucket(800, 320, 800) == 160 + 159);  // capped
    CHECK(wav2vec2::relative_position_bucket(-100000, 320, 800) == 159);
}

TEST_CASE("models.data2vec_audio: data2vec-audio-tiny-ctc (positional conv stack, padded batch) matches every HF output" *
          doctest::test_suite("parity")) {
    check_ctc("data2vec-audio-tiny-ctc");
}

TEST_CASE("models.wav2vec2: wav2vec2-tiny-seq-cls (mean pooling, no mask) matches every HF output" * doctest::test_suite("parity")) {
    check_sequence_classification("wav2vec2-tiny-seq-cls");
}

TEST_CASE("models.wav2vec2: MMS adapters: the checkpoint's own language, then another, then back" * doctest::test_suite("parity")) {
    const fixture eng("wav2vec2-tiny-mms-adapter", "reference_eng.safetensors"), fra("wav2vec2-tiny-mms-adapter");
    auto model = wav2vec2::wav2vec2_model::from_pretrained(eng.dir);
    REQUIRE(model.config.has_adapters());
    const auto check = [&](const fixture& f, std::size_t vocab) {
        const auto out = model.forward_ctc(f.input_values(), f.attention_mask());
        CHECK(out.logits.shape(2) == vocab);
        f.expect(out.logits, "logits");
        f.expect(out.wav2vec2.last_hidden_state, "last_hidden_state");
        f.expect(out.wav2vec2.extract_features, "extract_features");
    };
    check(eng, 32);
    model.load_adapter(eng.dir, "fra");
    check(fra, 45);
    model.load_adapter(eng.dir, "eng");
    check(eng, 32);

    // The one-call form, through auto_model as the tool loads it.
    load_options options;
    options.target_lang = "fra";
    check_forward_named(fra, auto_model::from_pretrained(fra.dir, options));
}

TEST_CASE("models.wav2vec2: an MMS adapter saved as adapter.<lang>.bin, when there is no .safetensors of it" * doctest::test_suite("parity")) {
    const fixture fra("wav2vec2-tiny-mms-adapter");
    const auto dir = test::scratch_dir("mms_adapter_bin");
    for (const char* file : {"config.json", "model.safetensors"}) std::filesystem::copy_file(fra.dir / file, dir / file);
    test::write_file(dir / "adapter.fra.bin", test::pytorch_bin::from_tensors(io::safetensors_file(fra.dir / "adapter.fra.safetensors")));
    auto model = wav2vec2::wav2vec2_model::from_pretrained(dir);
    model.load_adapter(dir, "fra");
    fra.expect(model.forward_ctc(fra.input_values(), fra.attention_mask()).logits, "logits");
    test::check_throws<config_error>([&] { model.load_adapter(dir, "deu"); }, {"adapter.deu.safetensors", "the languages present are fra"});
}

TEST_CASE("models.wav2vec2: an adapter language that is not there lists those that are" * doctest::test_suite("unit")) {
    auto model = wav2vec2::wav2vec2_model::from_pretrained(test::data_path("wav2vec2-tiny-mms-adapter"));
    test::check_throws<config_error>([&] { model.load_adapter(test::data_path("wav2vec2-tiny-mms-adapter"), "deu"); },
                                     {"language \"deu\"", "adapter.deu.safetensors", "the languages present are eng or fra"});
    auto plain = wav2vec2::wav2vec2_model::from_pretrained(test::data_path("wav2vec2-tiny-ctc"));
    test::check_throws<config_error>([&] { plain.load_adapter(test::data_path("wav2vec2-tiny-ctc"), "fra"); },
                                     {"Wav2Vec2ForCTC", "needs an MMS checkpoint", "has no language adapters"});
}

TEST_CASE("models.hubert: a HubertModel checkpoint loads with and without the hubert. prefix" * doctest::test_suite("parity")) {
    const fixture f("hubert-tiny-ctc");
    const auto with_head = wav2vec2::wav2vec2_model::from_pretrained(f.dir);
    const tensor<3> expected = with_head.forward(f.input_values(), f.attention_mask()).last_hidden_state;
    for (const bool keep_prefix : {false, true}) {
        CAPTURE(keep_prefix);
        const auto dir = test::copy_model(f.dir, keep_prefix ? "hubert_body_prefixed" : "hubert_body_bare");
        test::edit_config(dir, [](io::json& j) { j["architectures"] = {"HubertModel"}; });
        io::safetensors_writer writer;  // the body's tensors, "hubert." kept or dropped
        {
            const io::safetensors_file original(f.dir / "model.safetensors");
            for (const auto& name : original.names())
                if (name.rfind("hubert.", 0) == 0) writer.add(keep_prefix ? name : name.substr(7), original.load<float>(name));
        }
        writer.save(dir / "model.safetensors");
        const auto body = wav2vec2::wav2vec2_model::from_pretrained(dir);
        CHECK(std::string(body.architecture()) == "HubertModel");
        test::check_close(body.forward(f.input_values(), f.attention_mask()).last_hidden_state, expected, 0.0, "last_hidden_state");
    }
}
