// LayoutLMConfig (transformers/models/layoutlm/configuration_layoutlm.py) plus the
// PretrainedConfig keys the heads read (id2label, label2id, num_labels,
// tie_word_embeddings). Member initialisers are HF's defaults, since config.json
// only holds the values that differ from them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/models/architecture_table.hpp"
#include "mmt/models/labels.hpp"
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

// id2label, label2id, num_labels(), label_of(): models/labels.hpp.
struct config : label_config {
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
};

}  // namespace mmt::layoutlm
