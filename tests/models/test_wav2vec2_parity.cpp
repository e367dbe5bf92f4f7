// Wav2Vec2ForCTC (base and stable-layer-norm variants) and Wav2Vec2ForPreTraining
// on the tiny fixtures against HF transformers' own outputs.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "mmt/io/safetensors.hpp"
#include "mmt/models/wav2vec2/wav2vec2_model.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

namespace {

struct fixture {
    std::filesystem::path dir;
    io::safetensors_file ref;
    explicit fixture(const std::string& name) : dir(test::data_path(name)), ref(dir / "reference.safetensors") {}

    tensor<2> input_values() const { return ref.load<float, 2>("input.input_values"); }
    int_tensor<2> attention_mask() const {
        return ref.contains("input.attention_mask") ? ref.load<std::int64_t, 2>("input.attention_mask") : int_tensor<2>();
    }
    template <class T>
    void expect(const T& actual, const std::string& name) const {
        test::check_close(actual, ref.load<float>("output." + name), test::tol::model_abs, name);
    }
};

void check_ctc(const std::string& name) {
    const fixture f(name);
    const auto model = wav2vec2::wav2vec2_model::from_pretrained(f.dir);
    CHECK(model.config.arch == wav2vec2::architecture::ctc);
    const auto out = model.forward_ctc(f.input_values(), f.attention_mask());
    f.expect(out.logits, "logits");
    f.expect(out.wav2vec2.last_hidden_state, "last_hidden_state");
    f.expect(out.wav2vec2.extract_features, "extract_features");
}

}  // namespace

TEST_CASE("models.wav2vec2: wav2vec2-tiny-ctc (GroupNorm conv, post-norm encoder) matches every HF output" *
          doctest::test_suite("parity")) {
    check_ctc("wav2vec2-tiny-ctc");
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
