// CLIPTextTransformer: token + position embeddings, a pre-norm encoder (causal
// when the config says so, as CLIP's is), final_layer_norm, and pooling at the end
// token (CLIP) or the last position (SigLIP, whose own head follows).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder.hpp"
#include "mmt/layers/encoder_state.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/layers/token_embedding.hpp"
#include "mmt/models/clip/names.hpp"
#include "mmt/models/clip/outputs.hpp"
#include "mmt/models/clip/text_transformer_config.hpp"
#include "mmt/ops/embedding.hpp"

namespace mmt::clip {

struct text_transformer {
    text_transformer_config config;
    ops::embedding_table token_embedding;  // [vocab_size, hidden_size]
    tensor<2> position_embedding;  // [max_position_embeddings, hidden_size]
    layers::encoder encoder;
    layers::layer_norm final_layer_norm;

    // `scope` is "text_model.".
    static text_transformer load(const io::weight_scope& scope, const text_transformer_config& c) {
        const std::size_t h = c.layer.hidden_size;
        text_transformer t;
        t.config = c;
        t.token_embedding = layers::load_token_embedding(scope.child("embeddings").child("token_embedding"), c.vocab_size, h);
        t.position_embedding = scope.child("embeddings").child("position_embedding").get<2>("weight", {c.max_position_embeddings, h});
        t.encoder = layers::encoder::load(scope.child("encoder").child("layers"), c.num_hidden_layers, encoder_layer_names, c.layer);
        t.final_layer_norm = layers::layer_norm::load(scope.child("final_layer_norm"), h, c.layer.layer_norm_eps);
        return t;
    }

    // input_ids, attention_mask: [batch, seq_len]; attention_mask may be empty (no padding).
    tower_output forward(const int_tensor<2>& input_ids, const int_tensor<2>& attention_mask) const {
        const std::size_t batch = input_ids.shape(0), seq_len = input_ids.shape(1), h = config.layer.hidden_size;
        if (batch == 0 || seq_len == 0) fail<input_error>(config.name, ": input_ids is empty (shape [", batch, ", ", seq_len, "])");
        if (seq_len > config.max_position_embeddings)
            fail<input_error>(config.name, ": sequence of ", seq_len, " tokens exceeds max_position_embeddings = ",
                              config.max_position_embeddings, "; tokenize with truncation");
        const bool masked = attention_mask.size() != 0;
        if (masked && attention_mask.shape() != input_ids.shape())
            fail<shape_error>(config.name, ": attention_mask has shape [", attention_mask.shape(0), ", ", attention_mask.shape(1),
                              "], expected the shape of input_ids [", batch, ", ", seq_len, "]");

        tensor<3> x({batch, seq_len, h});  // [batch, seq_len, hidden_size]
        token_embedding.lookup(input_ids.data(), input_ids.size(), x.data(), std::string(config.name) + ": input_ids");
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t s = 0; s < seq_len; ++s)
                for (std::size_t i = 0; i < h; ++i) x(b, s, i) += position_embedding(s, i);

        layers::encoder_state state;
        state.mask = {config.causal, masked ? attention_mask.data() : nullptr};
        x = encoder.forward(std::move(x), state);
        x = final_layer_norm.forward(x);

        tensor<2> pooled({batch, h});  // [batch, hidden_size]
        for (std::size_t b = 0; b < batch; ++b) {
            const std::size_t at = config.pooling == text_pooling::last_token ? seq_len - 1 : end_token_position(input_ids, b);
            for (std::size_t i = 0; i < h; ++i) pooled(b, i) = x(b, at, i);
        }
        return {std::move(x), std::move(pooled)};
    }

    // Where a row's end token is. Checkpoints converted before eos_token_id was fixed
    // (eos_token_id == 2) pool at the largest id, <|endoftext|> being the last of the
    // vocabulary; the others at the first eos_token_id (position 0 when absent, as HF's argmax).
    std::size_t end_token_position(const int_tensor<2>& input_ids, std::size_t b) const {
        std::size_t best = 0;
        for (std::size_t s = 0; s < input_ids.shape(1); ++s) {
            if (config.eos_token_id == 2) {
                if (input_ids(b, s) > input_ids(b, best)) best = s;
            } else if (input_ids(b, s) == config.eos_token_id) {
                return s;
            }
        }
        return best;
    }
};

}  // namespace mmt::clip
