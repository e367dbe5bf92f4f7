// LiltConfig (transformers 4.45, models/lilt/configuration_lilt.py) plus the
// PretrainedConfig keys the heads read (id2label, num_labels). Member initialisers
// are HF's defaults, since config.json only holds what differs.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <utility>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/models/architecture_table.hpp"
#include "mmt/models/bert_config.hpp"
#include "mmt/models/labels.hpp"

namespace mmt::lilt {

// The LiLT heads HF's `architectures` names.
enum class architecture { model, token_classification, sequence_classification, question_answering };

inline constexpr architecture_table<architecture, 4> architectures{
    "LiLT",
    {{{architecture::model, "LiltModel"},
      {architecture::token_classification, "LiltForTokenClassification"},
      {architecture::sequence_classification, "LiltForSequenceClassification"},
      {architecture::question_answering, "LiltForQuestionAnswering"}}}};

inline const char* architecture_name(architecture a) { return architectures.name(a); }

// id2label, label2id, num_labels(), label_of(): models/labels.hpp. BertConfig's
// keys and defaults: models/bert_config.hpp; pad_token_id is RoBERTa's padding_idx,
// which positions count from.
struct config : label_config, bert_config {
    architecture arch = architecture::model;
    std::string position_embedding_type = "absolute";
    std::size_t channel_shrink_ratio = 4;  // the layout stream is hidden_size / ratio wide
    std::size_t max_2d_position_embeddings = 1024;

    static config from_json(const io::json& j, const std::string& where) {
        config c;
        std::string model_type = "lilt";
        io::json_optional(j, "model_type", model_type, where);
        if (model_type != "lilt") fail<config_error>(where, ": model_type \"", model_type, "\" is not LiLT (expected \"lilt\")");
        c.arch = architectures.read(j, where, architecture::model);
        c.read_bert_keys(j, where);
        io::json_optional(j, "channel_shrink_ratio", c.channel_shrink_ratio, where);
        io::json_optional(j, "max_2d_position_embeddings", c.max_2d_position_embeddings, where);
        io::json_optional(j, "position_embedding_type", c.position_embedding_type, where);
        c.read_labels(j, where);
        c.validate(where);
        return c;
    }

    static config from_file(const std::filesystem::path& path) { return from_json(io::read_json_file(path), path.string()); }

    std::size_t layout_size() const { return hidden_size / channel_shrink_ratio; }

    // The text stream's layer is bert_config::layer_config; the layout stream's has
    // every width divided by channel_shrink_ratio and the same number of heads.
    layers::encoder_layer_config layout_layer_config(const std::string& where) const {
        layers::encoder_layer_config l = layer_config(where);
        l.hidden_size = layout_size();
        l.intermediate_size = intermediate_size / channel_shrink_ratio;
        return l;
    }

private:
    void validate(const std::string& where) const {
        for (const auto& [key, value] : {std::pair<const char*, std::size_t>{"max_2d_position_embeddings", max_2d_position_embeddings},
                                         {"channel_shrink_ratio", channel_shrink_ratio}})
            if (value == 0) fail<config_error>(where, ": \"", key, "\" is 0, expected at least 1");
        if (position_embedding_type != "absolute")
            fail<config_error>(where, ": position_embedding_type \"", position_embedding_type, "\" is not supported (expected \"absolute\")");
        if (hidden_size % 6 != 0)
            fail<config_error>(where, ": hidden_size ", hidden_size, " is not a multiple of 6: the box embedding is six tables of hidden_size / 6");
        if (num_attention_heads == 0 || hidden_size % (num_attention_heads * channel_shrink_ratio) != 0)
            fail<config_error>(where, ": hidden_size ", hidden_size, " is not divisible by num_attention_heads ", num_attention_heads,
                               " * channel_shrink_ratio ", channel_shrink_ratio, " (both streams split into the same heads)");
        if (intermediate_size / channel_shrink_ratio == 0)
            fail<config_error>(where, ": intermediate_size ", intermediate_size, " / channel_shrink_ratio ", channel_shrink_ratio, " is 0");
        if (arch == architecture::question_answering && num_labels() != 2)
            fail<config_error>(where, ": LiltForQuestionAnswering splits its ", num_labels(),
                               " outputs into start and end logits; expected num_labels (id2label) of 2");
    }
};

}  // namespace mmt::lilt
