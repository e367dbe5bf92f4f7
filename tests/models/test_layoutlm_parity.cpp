// LayoutLM on fixtures/layoutlm-tiny-token-cls and layoutlm-tiny-base against HF
// transformers' own outputs: directly, through `mmt forward`, and from rewritten
// checkpoints that carry the name drift of older files (no / extra "layoutlm."
// prefix, LayerNorm gamma/beta, the masked-LM decoder tied or stored).
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/layoutlm/heads.hpp"
#include "mmt/models/random_model.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/naive.hpp"
#include "support/tolerances.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {

const fs::path token_cls = test::data_path("layoutlm-tiny-token-cls");
const fs::path base = test::data_path("layoutlm-tiny-base");

layoutlm::model_inputs reference_inputs(const io::safetensors_file& ref) {
    return {ref.load<std::int64_t, 2>("input.input_ids"), ref.load<std::int64_t, 3>("input.bbox"),
            ref.load<std::int64_t, 2>("input.attention_mask"), ref.load<std::int64_t, 2>("input.token_type_ids")};
}

// `source`'s config.json plus its checkpoint with every tensor renamed by `rename`
// ("" drops it), written by io::safetensors_writer into a scratch directory.
fs::path rewritten(const fs::path& source, const std::string& name, const std::function<std::string(const std::string&)>& rename) {
    const fs::path dir = test::scratch_dir(name);
    fs::copy_file(source / "config.json", dir / "config.json");
    const io::safetensors_file original(source / "model.safetensors");
    io::safetensors_writer writer;
    for (const auto& tensor_name : original.names()) {
        const std::string renamed = rename(tensor_name);
        if (!renamed.empty()) writer.add(renamed, original.load<float>(tensor_name));
    }
    writer.save(dir / "model.safetensors");
    return dir;
}

std::string replace_suffix(const std::string& name, const std::string& from, const std::string& to) {
    if (name.size() < from.size() || name.compare(name.size() - from.size(), from.size(), from) != 0) return name;
    return name.substr(0, name.size() - from.size()) + to;
}

void check_token_cls(const fs::path& dir, const std::string& what) {
    const auto model = layoutlm::pretrained_model::from_pretrained(dir);
    const io::safetensors_file ref(token_cls / "reference.safetensors");
    test::check_close(model.token_logits(reference_inputs(ref)), ref.load<float>("output.logits"), test::tol::model_abs, what);
}

void check_base(const fs::path& dir, const std::string& what) {
    const auto model = layoutlm::pretrained_model::from_pretrained(dir);
    const io::safetensors_file ref(base / "reference.safetensors");
    const auto out = model.base_forward(reference_inputs(ref));
    test::check_close(out.last_hidden_state, ref.load<float>("output.last_hidden_state"), test::tol::model_abs, what + " last_hidden_state");
    test::check_close(out.pooler_output, ref.load<float>("output.pooler_output"), test::tol::model_abs, what + " pooler_output");
}

}  // namespace

TEST_CASE("models.layoutlm: layoutlm-tiny-token-cls logits match HF" * doctest::test_suite("parity")) {
    check_token_cls(token_cls, "token-cls logits");
}

TEST_CASE("models.layoutlm: layoutlm-tiny-base last_hidden_state and pooler_output match HF" * doctest::test_suite("parity")) {
    check_base(base, "base");
}

TEST_CASE("models.layoutlm: checkpoints with and without the layoutlm. prefix load" * doctest::test_suite("parity")) {
    // The token-classification body saved bare (as LayoutLMModel saves it), the base body prefixed.
    check_token_cls(rewritten(token_cls, "layoutlm_no_prefix",
                              [](const std::string& n) { return n.rfind("layoutlm.", 0) == 0 ? n.substr(9) : n; }),
                    "token-cls without prefix");
    check_base(rewritten(base, "layoutlm_prefixed", [](const std::string& n) { return "layoutlm." + n; }), "base with prefix");
}

TEST_CASE("models.layoutlm: LayerNorm gamma/beta names and the position_ids buffer load" * doctest::test_suite("parity")) {
    std::size_t renamed = 0;
    const fs::path dir = rewritten(token_cls, "layoutlm_gamma_beta", [&](const std::string& n) {
        const std::string out = replace_suffix(replace_suffix(n, "LayerNorm.weight", "LayerNorm.gamma"), "LayerNorm.bias", "LayerNorm.beta");
        renamed += out != n;
        return out;
    });
    CHECK(renamed == 2 + 2 * 2 * 2);  // embeddings + two per layer, weight and bias each
    {
        io::safetensors_writer writer;
        const io::safetensors_file f(dir / "model.safetensors");
        for (const auto& n : f.names()) writer.add(n, f.load<float>(n));
        int_tensor<2> position_ids({1, 64});
        for (std::size_t i = 0; i < 64; ++i) position_ids(0, i) = std::int64_t(i);
        writer.add("layoutlm.embeddings.position_ids", position_ids);
        writer.save(dir / "model2.safetensors");
    }
    fs::rename(dir / "model2.safetensors", dir / "model.safetensors");
    check_token_cls(dir, "token-cls with gamma/beta and position_ids");
}

TEST_CASE("models.layoutlm: the masked-LM decoder is tied to the word embeddings when the file has no decoder" *
          doctest::test_suite("parity")) {
    // A random LayoutLMForMaskedLM of the tiny size, as save_pretrained writes it: no decoder weight.
    const fs::path dir = test::scratch_dir("layoutlm_tied_mlm");
    io::json config = io::read_json_file(base / "config.json");
    config["architectures"] = {"LayoutLMForMaskedLM"};
    std::ofstream(dir / "config.in.json") << config.dump(2);
    write_random_model(dir / "config.in.json", dir / "model", dtype::f32, 7);
    const io::safetensors_file written(dir / "model" / "model.safetensors");
    CHECK_FALSE(written.contains("cls.predictions.decoder.weight"));
    CHECK(written.contains("cls.predictions.bias"));
    CHECK(written.contains("layoutlm.embeddings.word_embeddings.weight"));

    const auto model = layoutlm::pretrained_model::from_pretrained(dir / "model");
    REQUIRE(model.cls.has_value());
    CHECK(model.cls->tied());
    const io::safetensors_file ref(base / "reference.safetensors");
    const auto inputs = reference_inputs(ref);
    const tensor<3> logits = model.masked_lm_logits(inputs);  // [2, 24, 99]

    // The same in double precision: transform(hidden) . word_embeddings^T + bias.
    const tensor<3> hidden = model.layoutlm.forward(inputs, false).last_hidden_state;
    const std::size_t rows = hidden.shape(0) * hidden.shape(1), h = hidden.shape(2);
    const auto from_file = [&](const char* name) { return test::naive::to_double(written.load<float>(name)); };
    const test::naive::array flat = test::naive::to_double(xt::reshape_view(hidden, {rows, h}));
    test::naive::array t = test::naive::linear(flat, from_file("cls.predictions.transform.dense.weight"),
                                               from_file("cls.predictions.transform.dense.bias"));
    for (auto& v : t) v = test::naive::activate(ops::activation::gelu, v);
    t = test::naive::layer_norm(t, from_file("cls.predictions.transform.LayerNorm.weight"), from_file("cls.predictions.transform.LayerNorm.bias"),
                                1e-12);
    const test::naive::array expected = test::naive::linear(t, test::naive::to_double(written.load<float>("layoutlm.embeddings.word_embeddings.weight")),
                                                            test::naive::to_double(written.load<float>("cls.predictions.bias")));
    test::check_close(xt::reshape_view(logits, {rows, std::size_t(99)}), expected, test::tol::op_abs, "tied decoder logits");

    // A file that stores the decoder (and the bias under its old name) uses what it stores.
    dyn_tensor<float> decoder = written.load<float>("layoutlm.embeddings.word_embeddings.weight");
    for (auto& v : decoder) v *= -2.0f;
    const fs::path untied = rewritten(dir / "model", "layoutlm_untied_mlm",
                                      [](const std::string& n) { return n == "cls.predictions.bias" ? std::string("cls.predictions.decoder.bias") : n; });
    {
        io::safetensors_writer writer;
        const io::safetensors_file f(untied / "model.safetensors");
        for (const auto& n : f.names()) writer.add(n, f.load<float>(n));
        writer.add("cls.predictions.decoder.weight", decoder);
        writer.save(untied / "model2.safetensors");
    }
    fs::rename(untied / "model2.safetensors", untied / "model.safetensors");
    const auto stored = layoutlm::pretrained_model::from_pretrained(untied);
    CHECK_FALSE(stored.cls->tied());
    const test::naive::array expected_untied =
        test::naive::linear(t, test::naive::to_double(decoder),
                            test::naive::to_double(written.load<float>("cls.predictions.bias")));
    test::check_close(xt::reshape_view(stored.masked_lm_logits(inputs), {rows, std::size_t(99)}), expected_untied, test::tol::op_abs,
                      "stored decoder logits");
}

TEST_CASE("models.layoutlm: every architecture loads from random-model and runs through auto_model" * doctest::test_suite("unit")) {
    const io::safetensors_file ref(base / "reference.safetensors");
    const named_inputs inputs = named_inputs::from_file(ref);
    const struct {
        const char* arch;
        std::vector<std::pair<std::string, std::vector<std::size_t>>> outputs;
    } cases[] = {
        {"LayoutLMModel", {{"last_hidden_state", {2, 24, 32}}, {"pooler_output", {2, 32}}}},
        {"LayoutLMForTokenClassification", {{"logits", {2, 24, 3}}}},
        {"LayoutLMForSequenceClassification", {{"logits", {2, 3}}}},
        {"LayoutLMForMaskedLM", {{"logits", {2, 24, 99}}}},
        {"LayoutLMForQuestionAnswering", {{"start_logits", {2, 24}}, {"end_logits", {2, 24}}}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.arch);
        const fs::path dir = test::scratch_dir(std::string("layoutlm_random_") + c.arch);
        io::json config = io::read_json_file(base / "config.json");
        config["architectures"] = {c.arch};
        config["num_labels"] = std::string(c.arch) == "LayoutLMForQuestionAnswering" ? 2 : 3;
        std::ofstream(dir / "config.in.json") << config.dump(2);
        write_random_model(dir / "config.in.json", dir / "model", dtype::f32, 1);
        const auto model = auto_model::from_pretrained(dir / "model");
        CHECK(model.architecture() == c.arch);
        const named_outputs out = model.forward(inputs);
        REQUIRE(out.size() == c.outputs.size());
        for (std::size_t i = 0; i < out.size(); ++i) {
            CHECK(out[i].first == c.outputs[i].first);
            CHECK(std::vector<std::size_t>(out[i].second.shape().begin(), out[i].second.shape().end()) == c.outputs[i].second);
        }
    }
}
