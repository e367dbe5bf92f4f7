// SigLIP's two towers. SiglipTextTransformer: CLIP's text tower (not causal,
// pooled at the last position) and `head`, a Linear on the pooled state.
// SiglipVisionTransformer: ViT embeddings (patch bias, no class token), a pre-norm
// encoder, post_layernorm on every token (its output is last_hidden_state), and
// the attention-pooling head.
#pragma once

#include <utility>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/attention_pooling.hpp"
#include "mmt/layers/encoder.hpp"
#include "mmt/layers/encoder_state.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/layers/vit_embeddings.hpp"
#include "mmt/models/clip/names.hpp"
#include "mmt/models/clip/outputs.hpp"
#include "mmt/models/clip/text_model.hpp"
#include "mmt/models/siglip/config.hpp"

namespace mmt::siglip {

using clip::tower_output;

struct text_tower {
    clip::text_transformer transformer;
    layers::linear head;  // [hidden_size, hidden_size]

    // `scope` is "text_model.".
    static text_tower load(const io::weight_scope& scope, const text_config& c) {
        return {clip::text_transformer::load(scope, c.transformer()), layers::linear::load_head(scope.child("head"), c.hidden_size, c.hidden_size)};
    }

    // input_ids, attention_mask: [batch, seq_len] (attention_mask may be empty: SigLIP's
    // processors make none, and the text attends to its padding).
    tower_output forward(const int_tensor<2>& input_ids, const int_tensor<2>& attention_mask) const {
        tower_output out = transformer.forward(input_ids, attention_mask);
        out.pooler_output = head.forward(out.pooler_output);
        return out;
    }
};

struct vision_tower {
    layers::vit_embeddings embeddings;
    layers::encoder encoder;
    layers::layer_norm post_layernorm;
    layers::attention_pooling head;

    // `scope` is "vision_model.".
    static vision_tower load(const io::weight_scope& scope, const vision_config& c) {
        return {layers::vit_embeddings::load(scope, {"embeddings", ""}, c.embeddings()),
                layers::encoder::load(scope.child("encoder").child("layers"), c.num_hidden_layers, clip::encoder_layer_names,
                                      c.layer_config("vision_config")),
                layers::layer_norm::load(scope.child("post_layernorm"), c.hidden_size, c.layer_norm_eps),
                layers::attention_pooling::load(scope.child("head"), c.pooling())};
    }

    // pixel_values: [batch, num_channels, image_size, image_size]
    tower_output forward(const tensor<4>& pixel_values) const {
        tensor<3> x = post_layernorm.forward(encoder.forward(embeddings.forward(pixel_values), layers::encoder_state{}));
        tensor<2> pooled = head.forward(x);  // [batch, hidden_size]
        return {std::move(x), std::move(pooled)};
    }
};

}  // namespace mmt::siglip
