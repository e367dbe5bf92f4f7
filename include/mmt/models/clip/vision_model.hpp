// CLIPVisionTransformer: the ViT embeddings block (class token, pre_layrnorm),
// a pre-norm encoder, and post_layernorm on the class token.
#pragma once

#include <cstddef>
#include <utility>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder.hpp"
#include "mmt/layers/encoder_state.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/layers/vit_embeddings.hpp"
#include "mmt/models/clip/config.hpp"
#include "mmt/models/clip/names.hpp"
#include "mmt/models/clip/outputs.hpp"

namespace mmt::clip {

struct vision_transformer {
    layers::vit_embeddings embeddings;
    layers::encoder encoder;
    layers::layer_norm post_layernorm;

    // `scope` is "vision_model.".
    static vision_transformer load(const io::weight_scope& scope, const vision_config& c) {
        vision_transformer v;
        v.embeddings = layers::vit_embeddings::load(scope, vision_embeddings_names, c.embeddings());
        v.encoder = layers::encoder::load(scope.child("encoder").child("layers"), c.num_hidden_layers, encoder_layer_names,
                                          c.layer_config("vision_config"));
        v.post_layernorm = layers::layer_norm::load(scope.child("post_layernorm"), c.hidden_size, c.layer_norm_eps);
        return v;
    }

    // pixel_values: [batch, num_channels, image_size, image_size]
    tower_output forward(const tensor<4>& pixel_values) const {
        tensor<3> x = embeddings.forward(pixel_values);  // [batch, 1 + num_patches, hidden_size]: class token first
        x = encoder.forward(std::move(x), layers::encoder_state{});

        const std::size_t batch = x.shape(0), h = x.shape(2);
        tensor<2> cls({batch, h});  // [batch, hidden_size]
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t i = 0; i < h; ++i) cls(b, i) = x(b, 0, i);
        return {std::move(x), post_layernorm.forward(cls)};
    }
};

}  // namespace mmt::clip
