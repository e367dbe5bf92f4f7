// LayoutLMConfig (transformers/models/layoutlm/configuration_layoutlm.py) plus the
// PretrainedConfig keys the heads read (id2label, label2id, num_labels,
// tie_word_embeddings). Member initialisers are HF's defaults, since config.json
// only holds the values that differ from them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/models/architecture_table.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::layoutlm {

// The five LayoutLM heads HF's `architectures` names.
enum class architecture { model, token_classification, sequence_classification, masked_lm, question_answering };

inline constexpr architecture_table<architecture, 5> architectures{
    "LayoutLM",
    {{{architecture::model, "LayoutLMModel"},
      {architecture::token_classification, "LayoutLMForTokenClassification"},
      {architecture::sequence_classification, "LayoutLMForSequenceClassification"},
      {architecture::masked_lm, "LayoutLMForMaskedLM"},
      {architecture::question_answering, "LayoutLMForQuestionAnswering"}}}};

inline const char* architecture_name(architecture a) { return architectures.name(a); }

struct config {
    architecture arch = architecture::model;
    std::size_t vocab_size = 30522;
    std::size_t hidden_size = 768;
    std::size_t num_hidden_layers = 12;
    std::size_t num_attention_heads = 12;
    std::size_t intermediate_size = 3072;
    std::string hidden_act = "gelu";
    std::size_t max_position_embeddings = 512;
    std::size_t type_vocab_size = 2;
    float layer_norm_eps = 1e-12f;
    std::size_t max_2d_position_embeddings = 1024;
    std::int64_t pad_token_id = 0;
    bool tie_word_embeddings = true;
    // PretrainedConfig: without id2label, num_labels (default 2) labels named LABEL_<i>.
    std::map<std::int64_t, std::string> id2label{{0, "LABEL_0"}, {1, "LABEL_1"}};
    std::map<std::string, std::int64_t> label2id{{"LABEL_0", 0}, {"LABEL_1", 1}};

    // Outputs of the classifier / qa_outputs layer: len(id2label), as HF's num_labels property.
    std::size_t num_labels() const { return id2label.size(); }

    static config from_json(const io::json& j, const std::string& where) {
        config c;
        std::string model_type = "layoutlm";
        io::json_optional(j, "model_type", model_type, where);
        if (model_type != "layoutlm")
            fail<config_error>(where, ": model_type \"", model_type, "\" is not LayoutLM (expected \"layoutlm\")");
        c.arch = architectures.read(j, where, architecture::model);

        io::json_optional(j, "vocab_size", c.vocab_size, where);
        io::json_optional(j, "hidden_size", c.hidden_size, where);
        io::json_optional(j, "num_hidden_layers", c.num_hidden_layers, where);
        io::json_optional(j, "num_attention_heads", c.num_attention_heads, where);
        io::json_optional(j, "intermediate_size", c.intermediate_size, where);
        io::json_optional(j, "hidden_act", c.hidden_act, where);
        io::json_optional(j, "max_position_embeddings", c.max_position_embeddings, where);
        io::json_optional(j, "type_vocab_size", c.type_vocab_size, where);
        io::json_optional(j, "layer_norm_eps", c.layer_norm_eps, where);
        io::json_optional(j, "max_2d_position_embeddings", c.max_2d_position_embeddings, where);
        io::json_optional(j, "pad_token_id", c.pad_token_id, where);
        io::json_optional(j, "tie_word_embeddings", c.tie_word_embeddings, where);
        c.read_labels(j, where);

        for (const auto& [key, value] : {std::pair<const char*, std::size_t>{"vocab_size", c.vocab_size},
                                         {"max_position_embeddings", c.max_position_embeddings},
                                         {"type_vocab_size", c.type_vocab_size},
                                         {"max_2d_position_embeddings", c.max_2d_position_embeddings},
                                         {"intermediate_size", c.intermediate_size}})
            if (value == 0) fail<config_error>(where, ": \"", key, "\" is 0, expected at least 1");
        if (c.arch == architecture::question_answering && c.num_labels() != 2)
            fail<config_error>(where, ": LayoutLMForQuestionAnswering splits its ", c.num_labels(),
                               " outputs into start and end logits; expected num_labels (id2label) of 2");
        c.layer_config(where);  // validates hidden_act and the head split
        return c;
    }

    static config from_file(const std::filesystem::path& path) { return from_json(io::read_json_file(path), path.string()); }

    // LayoutLMLayer is BERT's post-norm layer.
    layers::encoder_layer_config layer_config(const std::string& where) const {
        if (num_attention_heads == 0 || hidden_size % num_attention_heads != 0)
            fail<config_error>(where, ": hidden_size ", hidden_size, " is not divisible by num_attention_heads ", num_attention_heads);
        return {hidden_size, intermediate_size, num_attention_heads, ops::parse_activation(hidden_act, where + ": hidden_act"),
                layer_norm_eps, layers::norm_position::post};
    }

    // id2label[id], or a config_error naming `what` (e.g. the word) when the id has no entry.
    const std::string& label_of(std::int64_t id, const std::string& what) const {
        auto it = id2label.find(id);
        if (it == id2label.end()) {
            std::string known;
            for (const auto& [k, v] : id2label) known += (known.empty() ? "" : ", ") + std::to_string(k);
            fail<config_error>(what, ": label id ", id, " has no entry in config.json's id2label (ids: ", known, ")");
        }
        return it->second;
    }

private:
    // PretrainedConfig.__init__: id2label wins (keys are JSON strings of ints); without it,
    // num_labels makes LABEL_0..LABEL_<n-1>. A num_labels that contradicts id2label is refused
    // rather than guessed at.
    void read_labels(const io::json& j, const std::string& where) {
        std::size_t num = 0;
        const bool has_num = j.contains("num_labels") && !j["num_labels"].is_null();
        if (has_num) num = io::json_required<std::size_t>(j, "num_labels", where);
        if (j.contains("id2label") && !j["id2label"].is_null()) {
            const io::json& map = j["id2label"];
            if (!map.is_object()) fail<config_error>(where, ": key \"id2label\" should be an object, got ", map.type_name());
            id2label.clear();
            for (const auto& [key, value] : map.items()) {
                std::size_t used = 0;
                long long id = -1;
                try {
                    id = std::stoll(key, &used);
                } catch (const std::exception&) {
                }
                if (used != key.size() || key.empty() || id < 0)
                    fail<config_error>(where, ": id2label key \"", key, "\" is not a label id (a non-negative integer)");
                if (!value.is_string())
                    fail<config_error>(where, ": id2label[\"", key, "\"] should be a label name, got ", value.dump());
                id2label[id] = value.get<std::string>();
            }
            if (has_num && num != id2label.size())
                fail<config_error>(where, ": \"num_labels\" is ", num, " but \"id2label\" has ", id2label.size(), " entries");
        } else if (has_num) {
            id2label.clear();
            for (std::size_t i = 0; i < num; ++i) id2label[std::int64_t(i)] = "LABEL_" + std::to_string(i);
        }
        if (id2label.empty()) fail<config_error>(where, ": \"id2label\" / \"num_labels\" give no labels, expected at least one");
        label2id.clear();
        for (const auto& [id, label] : id2label) label2id[label] = id;
        if (j.contains("label2id") && !j["label2id"].is_null())
            label2id = io::json_required<std::map<std::string, std::int64_t>>(j, "label2id", where);
    }
};

}  // namespace mmt::layoutlm
