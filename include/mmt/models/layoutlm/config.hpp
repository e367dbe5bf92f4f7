// LayoutLMConfig (transformers/models/layoutlm/configuration_layoutlm.py) plus the
// PretrainedConfig keys the heads read (id2label, label2id, num_labels,
// tie_word_embeddings). Member initialisers are HF's defaults, since config.json
// only holds the values that differ from them.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/models/architecture_table.hpp"
#include "mmt/models/bert_config.hpp"
#include "mmt/models/labels.hpp"

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

// id2label, label2id, num_labels(), label_of(): models/labels.hpp. BertConfig's
// keys and defaults: models/bert_config.hpp.
struct config : label_config, bert_config {
    architecture arch = architecture::model;
    std::size_t max_2d_position_embeddings = 1024;
    bool tie_word_embeddings = true;

    static config from_json(const io::json& j, const std::string& where) {
        config c;
        std::string model_type = "layoutlm";
        io::json_optional(j, "model_type", model_type, where);
        if (model_type != "layoutlm")
            fail<config_error>(where, ": model_type \"", model_type, "\" is not LayoutLM (expected \"layoutlm\")");
        c.arch = architectures.read(j, where, architecture::model);
        c.read_bert_keys(j, where);
        io::json_optional(j, "max_2d_position_embeddings", c.max_2d_position_embeddings, where);
        io::json_optional(j, "tie_word_embeddings", c.tie_word_embeddings, where);
        c.read_labels(j, where);

        if (c.max_2d_position_embeddings == 0) fail<config_error>(where, ": \"max_2d_position_embeddings\" is 0, expected at least 1");
        if (c.arch == architecture::question_answering && c.num_labels() != 2)
            fail<config_error>(where, ": LayoutLMForQuestionAnswering splits its ", c.num_labels(),
                               " outputs into start and end logits; expected num_labels (id2label) of 2");
        return c;
    }

    static config from_file(const std::filesystem::path& path) { return from_json(io::read_json_file(path), path.string()); }
};

}  // namespace mmt::layoutlm
