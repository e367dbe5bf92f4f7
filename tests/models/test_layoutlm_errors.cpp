// LayoutLM configs (HF defaults, the real layoutlm-base-uncased config.json) and
// bad input: broken configs, checkpoints that do not fit them, boxes and ids
// outside the tables, each checked by exception type and message.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/models/chinese_clip/config.hpp"
#include "mmt/models/layoutlm/heads.hpp"
#include "mmt/models/layoutlmv3/config.hpp"
#include "mmt/models/lilt/config.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {

const fs::path tiny_token_cls = test::data_path("layoutlm-tiny-token-cls");
const fs::path tiny_base = test::data_path("layoutlm-tiny-base");

layoutlm::config layoutlm_config(const io::json& j) { return layoutlm::config::from_json(j, "test config"); }



layoutlm::model_inputs inputs_of(std::size_t seq_len) {
    layoutlm::model_inputs in;
    in.input_ids = int_tensor<2>({1, seq_len});
    for (std::size_t s = 0; s < seq_len; ++s) in.input_ids(0, s) = std::int64_t(5 + s % 50);
    in.bbox = int_tensor<3>({1, seq_len, 4});
    for (std::size_t s = 0; s < seq_len; ++s) {
        in.bbox(0, s, 0) = 10, in.bbox(0, s, 1) = 20, in.bbox(0, s, 2) = 30, in.bbox(0, s, 3) = 40;
    }
    return in;
}

}  // namespace

TEST_CASE("models.layoutlm_config: an empty config.json is HF's LayoutLMConfig()" * doctest::test_suite("unit")) {
    const layoutlm::config c = layoutlm_config(io::json::object());
    CHECK(c.arch == layoutlm::architecture::model);
    CHECK(c.vocab_size == 30522);
    CHECK(c.hidden_size == 768);
    CHECK(c.num_hidden_layers == 12);
    CHECK(c.num_attention_heads == 12);
    CHECK(c.intermediate_size == 3072);
    CHECK(c.hidden_act == "gelu");
    CHECK(c.max_position_embeddings == 512);
    CHECK(c.type_vocab_size == 2);
    CHECK(c.layer_norm_eps == 1e-12f);
    CHECK(c.max_2d_position_embeddings == 1024);
    CHECK(c.pad_token_id == 0);
    CHECK(c.tie_word_embeddings);
    CHECK(c.num_labels() == 2);
    CHECK(c.id2label.at(1) == "LABEL_1");
    CHECK(c.label2id.at("LABEL_0") == 0);
    CHECK(c.layer_config("x").norm == layers::norm_position::post);

    const layoutlm::config five = layoutlm_config({{"num_labels", 5}});
    CHECK(five.num_labels() == 5);
    CHECK(five.id2label.at(4) == "LABEL_4");
}

TEST_CASE("models.layoutlm_config: the LayoutLM configs in tests/data/configs parse to the file's numbers" * doctest::test_suite("unit")) {
    int layoutlm_configs = 0;
    for (const auto& entry : fs::directory_iterator(test::data_path("configs"))) {
        const io::json j = io::read_json_file(entry.path());
        if (j.value("model_type", "") != "layoutlm") continue;
        ++layoutlm_configs;
        CAPTURE(entry.path().filename().string());
        const layoutlm::config c = layoutlm::config::from_file(entry.path());
        CHECK(std::string(layoutlm::architecture_name(c.arch)) == j["architectures"][0].get<std::string>());
        CHECK(c.vocab_size == j["vocab_size"].get<std::size_t>());
        CHECK(c.hidden_size == j["hidden_size"].get<std::size_t>());
        CHECK(c.num_hidden_layers == j["num_hidden_layers"].get<std::size_t>());
        CHECK(c.num_attention_heads == j["num_attention_heads"].get<std::size_t>());
        CHECK(c.intermediate_size == j["intermediate_size"].get<std::size_t>());
        CHECK(c.hidden_act == j["hidden_act"].get<std::string>());
        CHECK(c.max_position_embeddings == j["max_position_embeddings"].get<std::size_t>());
        CHECK(c.type_vocab_size == j["type_vocab_size"].get<std::size_t>());
        CHECK(c.layer_norm_eps == j["layer_norm_eps"].get<float>());
        CHECK(c.max_2d_position_embeddings == j["max_2d_position_embeddings"].get<std::size_t>());
        CHECK(c.pad_token_id == j["pad_token_id"].get<std::int64_t>());
        CHECK(c.tie_word_embeddings == j["tie_word_embeddings"].get<bool>());
        CHECK(c.num_labels() == j["id2label"].size());
    }
    CHECK(layoutlm_configs == 1);

    const layoutlm::config tiny = layoutlm::config::from_file(tiny_token_cls / "config.json");
    CHECK(tiny.arch == layoutlm::architecture::token_classification);
    CHECK(tiny.num_labels() == 7);
    CHECK(tiny.id2label.at(6) == "LABEL_6");
    CHECK(tiny.label2id.at("LABEL_3") == 3);
    CHECK(layoutlm::config::from_file(tiny_base / "config.json").arch == layoutlm::architecture::model);
}

TEST_CASE("models.layoutlm_config: unknown names and broken invariants are config errors naming the key" * doctest::test_suite("unit")) {
    test::check_throws<config_error>([] { layoutlm_config({{"architectures", {"LayoutLMForImageClassification"}}}); },
                                     {"test config", "unknown architecture \"LayoutLMForImageClassification\"", "LayoutLMForMaskedLM"});
    test::check_throws<config_error>([] { layoutlm_config({{"architectures", {"LayoutLMModel", "LayoutLMForMaskedLM"}}}); }, {"2 entries"});
    test::check_throws<config_error>([] { layoutlm_config({{"model_type", "bert"}}); }, {"model_type \"bert\"", "layoutlm"});
    test::check_throws<config_error>([] { layoutlm_config({{"hidden_act", "gelu_fancy"}}); }, {"hidden_act", "\"gelu_fancy\""});
    test::check_throws<config_error>([] { layoutlm_config({{"num_attention_heads", 5}}); }, {"hidden_size 768", "num_attention_heads 5"});
    test::check_throws<config_error>([] { layoutlm_config({{"max_2d_position_embeddings", 0}}); }, {"\"max_2d_position_embeddings\" is 0"});
    test::check_throws<config_error>([] { layoutlm_config({{"num_hidden_layers", -1}}); }, {"\"num_hidden_layers\"", "-1"});
    test::check_throws<config_error>([] { layoutlm_config({{"num_labels", 3}, {"id2label", {{"0", "a"}, {"1", "b"}}}}); },
                                     {"\"num_labels\" is 3", "2 entries"});
    test::check_throws<config_error>([] { layoutlm_config({{"id2label", {{"first", "a"}}}}); }, {"id2label key \"first\""});
    test::check_throws<config_error>([] { layoutlm_config({{"id2label", {{"0", 7}}}}); }, {"id2label[\"0\"]", "7"});
    test::check_throws<config_error>([] { layoutlm_config({{"architectures", {"LayoutLMForQuestionAnswering"}}, {"num_labels", 3}}); },
                                     {"LayoutLMForQuestionAnswering", "num_labels", "2"});
    const layoutlm::config gaps = layoutlm_config({{"id2label", {{"0", "O"}, {"2", "B-KEY"}}}});
    CHECK(gaps.label_of(2, "word 4") == "B-KEY");
    test::check_throws<config_error>([&] { gaps.label_of(1, "word 4 (\"Total\")"); },
                                     {"word 4 (\"Total\")", "label id 1", "id2label", "ids: 0, 2"});
}

TEST_CASE("models.bert_config: the BERT-like configs read BertConfig's keys over their own HF class's defaults" *
          doctest::test_suite("unit")) {
    // The defaults LayoutLMv3Config changes, and those the others keep (BertConfig's).
    const layoutlmv3::config v3 = layoutlmv3::config::from_json(io::json::object(), "v3");
    CHECK(v3.vocab_size == 50265);
    CHECK(v3.layer_norm_eps == 1e-5f);
    CHECK(v3.pad_token_id == 1);
    CHECK(v3.hidden_size == 768);
    CHECK(v3.intermediate_size == 3072);
    const lilt::config lilt = lilt::config::from_json(io::json::object(), "lilt");
    const chinese_clip::config chinese = chinese_clip::config::from_json(io::json::object(), "chinese");
    for (const bert_config* c : {static_cast<const bert_config*>(&lilt), &chinese.text}) {
        CHECK(c->vocab_size == 30522);
        CHECK(c->layer_norm_eps == 1e-12f);
        CHECK(c->pad_token_id == 0);
        CHECK(c->max_position_embeddings == 512);
        CHECK(c->type_vocab_size == 2);
        CHECK(c->hidden_act == "gelu");
    }

    // The keys are read, and checked, the same way in each family.
    const io::json small{{"vocab_size", 99}, {"hidden_size", 96}, {"num_hidden_layers", 3}, {"num_attention_heads", 4},
                         {"intermediate_size", 40}, {"max_position_embeddings", 64}, {"type_vocab_size", 1},
                         {"layer_norm_eps", 1e-6}, {"pad_token_id", 5}, {"hidden_act", "relu"}};
    const auto check_small = [](const bert_config& c) {
        CHECK(c.vocab_size == 99);
        CHECK(c.hidden_size == 96);
        CHECK(c.num_hidden_layers == 3);
        CHECK(c.num_attention_heads == 4);
        CHECK(c.intermediate_size == 40);
        CHECK(c.max_position_embeddings == 64);
        CHECK(c.type_vocab_size == 1);
        CHECK(c.layer_norm_eps == 1e-6f);
        CHECK(c.pad_token_id == 5);
        CHECK(c.layer_config("x").hidden_act == ops::activation::relu);
        CHECK(c.layer_config("x").norm == layers::norm_position::post);
        CHECK(c.text_embeddings().max_position_embeddings == 64);
    };
    check_small(layoutlm_config(small));
    check_small(lilt::config::from_json(small, "lilt"));
    check_small(chinese_clip::config::from_json({{"text_config", small}}, "chinese").text);
    io::json v3_small = small;
    v3_small["coordinate_size"] = 16, v3_small["shape_size"] = 16;
    check_small(layoutlmv3::config::from_json(v3_small, "v3"));

    for (const char* key : {"vocab_size", "max_position_embeddings", "type_vocab_size", "intermediate_size"}) {
        CAPTURE(key);
        io::json zero = small;
        zero[key] = 0;
        const std::string says = std::string("\"") + key + "\" is 0, expected at least 1";
        test::check_throws<config_error>([&] { layoutlm_config(zero); }, {"test config", says});
        test::check_throws<config_error>([&] { lilt::config::from_json(zero, "lilt"); }, {"lilt", says});
        test::check_throws<config_error>([&] { chinese_clip::config::from_json({{"text_config", zero}}, "chinese"); },
                                         {"chinese: text_config", says});
    }
}

TEST_CASE("models.layoutlm_errors: checkpoints that do not fit config.json" * doctest::test_suite("unit")) {
    SUBCASE("a head without its tensors") {
        const fs::path dir = test::copy_model(tiny_base, "layoutlm_err_head");
        test::edit_config(dir, [](io::json& j) { j["architectures"] = {"LayoutLMForTokenClassification"}; });
        test::check_throws<weight_error>([&] { layoutlm::pretrained_model::from_pretrained(dir); },
                                         {"missing tensor 'classifier.weight'", "[2, 32]"});
    }
    SUBCASE("a head's tensors read as a bare LayoutLMModel") {
        const fs::path dir = test::copy_model(tiny_token_cls, "layoutlm_err_unused");
        test::edit_config(dir, [](io::json& j) { j["architectures"] = {"LayoutLMModel"}; });
        test::check_throws<weight_error>([&] { layoutlm::pretrained_model::from_pretrained(dir); },
                                         {"does not use", "'classifier.bias'"});
    }
    SUBCASE("a layer count that disagrees") {
        const fs::path dir = test::copy_model(tiny_base, "layoutlm_err_layers");
        test::edit_config(dir, [](io::json& j) { j["num_hidden_layers"] = 3; });
        test::check_throws<weight_error>([&] { layoutlm::pretrained_model::from_pretrained(dir); },
                                         {"missing tensor 'encoder.layer.2.attention.self.query.weight'"});
    }
    SUBCASE("a width that disagrees") {
        const fs::path dir = test::copy_model(tiny_token_cls, "layoutlm_err_labels");
        test::edit_config(dir, [](io::json& j) {
            j["id2label"] = {{"0", "O"}, {"1", "B"}};
            j.erase("label2id");
        });
        test::check_throws<weight_error>([&] { layoutlm::pretrained_model::from_pretrained(dir); },
                                         {"'classifier.weight'", "[7, 32]", "expected [2, 32]"});
    }
    SUBCASE("an untied masked-LM decoder that is not stored") {
        const fs::path dir = test::copy_model(tiny_base, "layoutlm_err_untied");
        {
            io::safetensors_writer writer;
            const io::safetensors_file f(tiny_base / "model.safetensors");
            for (const auto& n : f.names()) writer.add("layoutlm." + n, f.load<float>(n));
            for (const char* n : {"cls.predictions.transform.dense.bias", "cls.predictions.transform.LayerNorm.weight",
                                  "cls.predictions.transform.LayerNorm.bias"})
                writer.add(n, dyn_tensor<float>(std::vector<std::size_t>{32}, 0.5f));
            writer.add("cls.predictions.transform.dense.weight", dyn_tensor<float>(std::vector<std::size_t>{32, 32}, 0.01f));
            writer.add("cls.predictions.bias", dyn_tensor<float>(std::vector<std::size_t>{99}, 0.0f));
            writer.save(dir / "model.safetensors");
        }
        test::edit_config(dir, [](io::json& j) { j["architectures"] = {"LayoutLMForMaskedLM"}; });
        CHECK(layoutlm::pretrained_model::from_pretrained(dir).cls->tied());
        test::edit_config(dir, [](io::json& j) { j["tie_word_embeddings"] = false; });
        test::check_throws<weight_error>([&] { layoutlm::pretrained_model::from_pretrained(dir); },
                                         {"missing tensor 'cls.predictions.decoder.weight'", "[99, 32]"});
    }
}

TEST_CASE("models.layoutlm_errors: boxes, ids and shapes outside what the model takes" * doctest::test_suite("unit")) {
    const auto model = layoutlm::pretrained_model::from_pretrained(tiny_token_cls);
    CHECK(model.token_logits(inputs_of(64)).shape(1) == 64);

    auto in = inputs_of(6);
    in.bbox(0, 3, 2) = 1024;
    test::check_throws<input_error>([&] { model.token_logits(in); },
                                    {"bbox of token 3 in sequence 0", "[10, 20, 1024, 40]", "<= 1023"});
    in = inputs_of(6);
    in.bbox(0, 2, 0) = 35;  // x0 > x1: a negative width has no row
    test::check_throws<input_error>([&] { model.token_logits(in); }, {"bbox of token 2", "[35, 20, 30, 40]", "x0 <= x1"});
    in = inputs_of(6);
    in.bbox(0, 5, 1) = -1;
    test::check_throws<input_error>([&] { model.token_logits(in); }, {"bbox of token 5", "-1"});
    in = inputs_of(6);
    in.bbox = int_tensor<3>({1, 5, 4});
    test::check_throws<shape_error>([&] { model.token_logits(in); }, {"bbox has shape [1, 5, 4]", "expected [1, 6, 4]"});
    in = inputs_of(6);
    in.input_ids(0, 4) = 99;
    test::check_throws<input_error>([&] { model.token_logits(in); }, {"input_ids", "id 99", "99 rows"});
    in = inputs_of(6);
    in.token_type_ids = int_tensor<2>({1, 6}, 0);
    in.token_type_ids(0, 1) = 2;
    test::check_throws<input_error>([&] { model.token_logits(in); }, {"token_type_ids has 2 at token 1", "0..1"});
    in = inputs_of(6);
    in.attention_mask = int_tensor<2>({1, 5}, 1);
    test::check_throws<shape_error>([&] { model.token_logits(in); }, {"attention_mask has shape [1, 5]", "[1, 6]"});
    test::check_throws<input_error>([&] { model.token_logits(inputs_of(65)); }, {"65 tokens", "max_position_embeddings = 64", "windows"});
    test::check_throws<input_error>([&] { model.token_logits(layoutlm::model_inputs{}); }, {"input_ids is empty"});
    test::check_throws<input_error>([&] { model.sequence_logits(inputs_of(4)); },
                                    {"LayoutLMForSequenceClassification", "this one is LayoutLMForTokenClassification"});
    test::check_throws<input_error>([&] { model.masked_lm_logits(inputs_of(4)); }, {"LayoutLMForMaskedLM"});
}
