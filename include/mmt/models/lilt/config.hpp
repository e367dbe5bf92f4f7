// LiltConfig (transformers 4.45, models/lilt/configuration_lilt.py) plus the
// PretrainedConfig keys the heads read (id2label, num_labels). Member initialisers
// are HF's defaults, since config.json only holds what differs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/layers/bert_embeddings.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/models/architecture_table.hpp"
#include "mmt/models/labels.hpp"
#include "mmt/ops/activations.hpp"

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
    std::int64_t pad_token_id = 0;  // RoBERTa's padding_idx: positions count from it
    std::string position_embedding_type = "absolute";
    std::size_t channel_shrink_ratio = 4;  // the layout stream is hidden_size / ratio wide
    std::size_t max_2d_position_embeddings = 1024;

    static config from_json(const io::json& j, const std::string& where) {
        config c;
        std::string model_type = "lilt";
        io::json_optional(j, "model_type", model_type, where);
        if (model_type != "lilt") fail<config_error>(where, ": model_type \"", model_type, "\" is not LiLT (expected \"lilt\")");
        c.arch = architectures.read(j, where, architecture::model);
        for (auto [key, value] : {std::pair<const char*, std::size_t*>{"vocab_size", &c.vocab_size},
                                  {"hidden_size", &c.hidden_size},
                                  {"num_hidden_layers", &c.num_hidden_layers},
                                  {"num_attention_heads", &c.num_attention_heads},
                                  {"intermediate_size", &c.intermediate_size},
                                  {"max_position_embeddings", &c.max_position_embeddings},
                                  {"type_vocab_size", &c.type_vocab_size},
                                  {"channel_shrink_ratio", &c.channel_shrink_ratio},
                                  {"max_2d_position_embeddings", &c.max_2d_position_embeddings}})
            io::json_optional(j, key, *value, where);
        io::json_optional(j, "hidden_act", c.hidden_act, where);
        io::json_optional(j, "layer_norm_eps", c.layer_norm_eps, where);
        io::json_optional(j, "pad_token_id", c.pad_token_id, where);
        io::json_optional(j, "position_embedding_type", c.position_embedding_type, where);
        c.read_labels(j, where);
        c.validate(where);
        return c;
    }

    static config from_file(const std::filesystem::path& path) { return from_json(io::read_json_file(path), path.string()); }

    std::size_t layout_size() const { return hidden_size / channel_shrink_ratio; }

    // The text stream's BertLayer (post-norm), and the layout stream's: every width
    // divided by channel_shrink_ratio, the same number of heads.
    layers::encoder_layer_config text_layer() const {
        return {hidden_size, intermediate_size, num_attention_heads, ops::parse_activation(hidden_act, "hidden_act"), layer_norm_eps,
                layers::norm_position::post};
    }
    layers::encoder_layer_config layout_layer() const {
        layers::encoder_layer_config l = text_layer();
        l.hidden_size = layout_size();
        l.intermediate_size = intermediate_size / channel_shrink_ratio;
        return l;
    }

    layers::bert_embeddings_config text_embeddings() const {
        return {vocab_size, hidden_size, max_position_embeddings, type_vocab_size, layer_norm_eps};
    }

private:
    void validate(const std::string& where) const {
        for (const auto& [key, value] : {std::pair<const char*, std::size_t>{"vocab_size", vocab_size},
                                         {"max_position_embeddings", max_position_embeddings},
                                         {"type_vocab_size", type_vocab_size},
                                         {"max_2d_position_embeddings", max_2d_position_embeddings},
                                         {"intermediate_size", intermediate_size},
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
        ops::parse_activation(hidden_act, where + ": hidden_act");
    }
};

}  // namespace mmt::lilt
