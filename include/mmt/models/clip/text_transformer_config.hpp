// What CLIPTextTransformer (text_model.hpp) is built from, and nothing else of
// CLIPTextConfig. SigLIP's text tower has the same parts without the causal mask,
// pooling the last position instead of the end token.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mmt/layers/encoder_layer.hpp"

namespace mmt::clip {

// Which token's final state is the pooled output.
enum class text_pooling {
    end_token,  // the first eos_token_id (CLIP; text_transformer::end_token_position)
    last_token  // the last position, padding or not (SigLIP)
};

struct text_transformer_config {
    std::size_t vocab_size = 0;
    std::size_t max_position_embeddings = 0;
    std::size_t num_hidden_layers = 0;
    layers::encoder_layer_config layer;  // its hidden_size and layer_norm_eps are final_layer_norm's too
    bool causal = true;                  // each token attends to itself and the tokens before it
    std::int64_t eos_token_id = 0;       // the pooled token with text_pooling::end_token
    text_pooling pooling = text_pooling::end_token;
    const char* name = "CLIP text model";  // for errors
};

}  // namespace mmt::clip
