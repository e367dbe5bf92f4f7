// LayoutLMForMaskedLM's decoder tied to the word embeddings: one packed table serves
// the decoder's GEMM and the embeddings' lookup, which reads the checkpoint's rows
// back from it exactly (the logits themselves are checked in test_layoutlm_parity).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <variant>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/models/layoutlm/heads.hpp"
#include "mmt/models/random_model.hpp"
#include "support/data.hpp"

using namespace mmt;
namespace fs = std::filesystem;

TEST_CASE("models.layoutlm: a tied masked-LM decoder and the word lookup share one packed table" * doctest::test_suite("unit")) {
    const fs::path base = test::data_path("layoutlm-tiny-base"), dir = test::scratch_dir("layoutlm_tied_table");
    io::json config = io::read_json_file(base / "config.json");
    config["architectures"] = {"LayoutLMForMaskedLM"};
    std::ofstream(dir / "config.in.json") << config.dump(2);
    write_random_model(dir / "config.in.json", dir / "model", dtype::f32, 11);
    const auto model = layoutlm::pretrained_model::from_pretrained(dir / "model");
    REQUIRE(model.cls->tied());

    const auto* table = std::get_if<ops::packed_weights>(&model.layoutlm.embeddings.word_embeddings);
    REQUIRE(table != nullptr);
    CHECK(table->panel_data(0) == model.cls->decoder.panel_data(0));  // one buffer, not a copy

    // The lookup from the packed table gives the body the checkpoint's rows, bit for bit.
    const io::safetensors_file written(dir / "model" / "model.safetensors"), ref(base / "reference.safetensors");
    layoutlm::embeddings plain = model.layoutlm.embeddings;
    const tensor<2> table_values = written.load<float, 2>("layoutlm.embeddings.word_embeddings.weight");
    plain.word_embeddings = ops::embedding_table(rows_in_memory(table_values.data(), table_values.shape(1)), table_values.shape(0), table_values.shape(1), precision::f32);
    const auto ids = ref.load<std::int64_t, 2>("input.input_ids");
    const auto bbox = ref.load<std::int64_t, 3>("input.bbox");
    const auto types = ref.load<std::int64_t, 2>("input.token_type_ids");
    CHECK(model.layoutlm.embeddings.forward(ids, bbox, types) == plain.forward(ids, bbox, types));
}
