// BertConfig's keys (transformers/models/bert/configuration_bert.py), which the
// BERT-like configs share: LayoutLM's, LayoutLMv3's, LiLT's and Chinese-CLIP's text
// tower. Member initialisers are BertConfig's defaults; a family whose config class
// has other defaults sets those in its constructor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/layers/bert_embeddings.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt {

struct bert_config {
    std::size_t vocab_size = 30522;
    std::size_t hidden_size = 768;
    std::size_t num_hidden_layers = 12;
    std::size_t num_attention_heads = 12;
    std::size_t intermediate_size = 3072;
    std::string hidden_act = "gelu";
    std::size_t max_position_embeddings = 512;
    std::size_t type_vocab_size = 2;
    float layer_norm_eps = 1e-12f;
    std::int64_t pad_token_id = 0;

    // Those keys of `j` over the defaults; a table size of 0 is a config_error, as is
    // a head split that does not divide hidden_size or an unknown hidden_act.
    void read_bert_keys(const io::json& j, const std::string& where) {
        for (auto [key, value] : {std::pair<const char*, std::size_t*>{"vocab_size", &vocab_size},
                                  {"hidden_size", &hidden_size},
                                  {"num_hidden_layers", &num_hidden_layers},
                                  {"num_attention_heads", &num_attention_heads},
                                  {"intermediate_size", &intermediate_size},
                                  {"max_position_embeddings", &max_position_embeddings},
                                  {"type_vocab_size", &type_vocab_size}})
            io::json_optional(j, key, *value, where);
        io::json_optional(j, "hidden_act", hidden_act, where);
        io::json_optional(j, "layer_norm_eps", layer_norm_eps, where);
        io::json_optional(j, "pad_token_id", pad_token_id, where);
        for (const auto& [key, value] : {std::pair<const char*, std::size_t>{"vocab_size", vocab_size},
                                         {"max_position_embeddings", max_position_embeddings},
                                         {"type_vocab_size", type_vocab_size},
                                         {"intermediate_size", intermediate_size}})
            if (value == 0) fail<config_error>(where, ": \"", key, "\" is 0, expected at least 1");
        layer_config(where);
    }

    // BertLayer: post-norm.
    layers::encoder_layer_config layer_config(const std::string& where) const {
        if (num_attention_heads == 0 || hidden_size % num_attention_heads != 0)
            fail<config_error>(where, ": hidden_size ", hidden_size, " is not divisible by num_attention_heads ", num_attention_heads);
        return {hidden_size, intermediate_size, num_attention_heads, ops::parse_activation(hidden_act, where + ": hidden_act"),
                layer_norm_eps, layers::norm_position::post};
    }

    layers::bert_embeddings_config text_embeddings() const {
        return {vocab_size, hidden_size, max_position_embeddings, type_vocab_size, layer_norm_eps};
    }
};

}  // namespace mmt
