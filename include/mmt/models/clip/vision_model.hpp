// CLIPVisionTransformer: patch embedding, class token, position embeddings,
// pre_layrnorm, a pre-norm encoder, and post_layernorm on the class token.
#pragma once

#include <cstddef>
#include <cstring>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder.hpp"
#include "mmt/layers/encoder_state.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/models/clip/config.hpp"
#include "mmt/models/clip/names.hpp"
#include "mmt/models/clip/outputs.hpp"
#include "mmt/ops/patch_embed.hpp"

namespace mmt::clip {

struct vision_transformer {
    vision_config config;
    tensor<1> class_embedding;     // [hidden_size]
    // HF's [hidden_size, num_channels, patch_size, patch_size] as [hidden_size,
    // num_channels * patch_size * patch_size], packed; no bias
    ops::any_packed_weights patch_embedding;
    tensor<2> position_embedding;  // [num_patches + 1, hidden_size]
    layers::layer_norm pre_layernorm;
    layers::encoder encoder;
    layers::layer_norm post_layernorm;

    // `scope` is "vision_model.".
    static vision_transformer load(const io::weight_scope& scope, const vision_config& c) {
        const std::size_t h = c.hidden_size, p = c.patch_size;
        const io::weight_scope embeddings = scope.child("embeddings");
        vision_transformer v;
        v.config = c;
        v.class_embedding = embeddings.get<1>("class_embedding", {h});
        const tensor<4> patch_weight = embeddings.child("patch_embedding").get<4>("weight", {h, c.num_channels, p, p});
        v.patch_embedding = ops::pack_weights(patch_weight.data(), h, c.num_channels * p * p, scope.options().linear);
        v.position_embedding = embeddings.child("position_embedding").get<2>("weight", {c.num_patches() + 1, h});
        v.pre_layernorm = layers::layer_norm::load(scope.child("pre_layrnorm"), h, c.layer_norm_eps);
        v.encoder = layers::encoder::load(scope.child("encoder").child("layers"), c.num_hidden_layers, encoder_layer_names,
                                          c.layer_config("vision_config"));
        v.post_layernorm = layers::layer_norm::load(scope.child("post_layernorm"), h, c.layer_norm_eps);
        return v;
    }

    // pixel_values: [batch, num_channels, image_size, image_size]
    tower_output forward(const tensor<4>& pixel_values) const {
        const auto& c = config;
        const std::size_t batch = pixel_values.shape(0), h = c.hidden_size, np = c.num_patches();
        if (batch == 0 || pixel_values.shape(1) != c.num_channels || pixel_values.shape(2) != c.image_size ||
            pixel_values.shape(3) != c.image_size)
            fail<shape_error>("CLIP vision model: pixel_values has shape [", batch, ", ", pixel_values.shape(1), ", ",
                              pixel_values.shape(2), ", ", pixel_values.shape(3), "], expected [batch >= 1, ", c.num_channels, ", ",
                              c.image_size, ", ", c.image_size, "]");

        tensor<3> patches({batch, np, h});  // [batch, num_patches, hidden_size]
        ops::patch_embed(pixel_values.data(), {batch, c.num_channels, c.image_size, c.image_size, c.patch_size}, patch_embedding,
                         nullptr, patches.data());

        tensor<3> x({batch, np + 1, h});  // [batch, 1 + num_patches, hidden_size]: class token first
        for (std::size_t b = 0; b < batch; ++b) {
            for (std::size_t i = 0; i < h; ++i) x(b, 0, i) = class_embedding(i) + position_embedding(0, i);
            for (std::size_t s = 0; s < np; ++s)
                for (std::size_t i = 0; i < h; ++i) x(b, s + 1, i) = patches(b, s, i) + position_embedding(s + 1, i);
        }
        x = pre_layernorm.forward(x);
        x = encoder.forward(std::move(x), layers::encoder_state{});

        tensor<2> cls({batch, h});  // [batch, hidden_size]
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t i = 0; i < h; ++i) cls(b, i) = x(b, 0, i);
        return {std::move(x), post_layernorm.forward(cls)};
    }
};

}  // namespace mmt::clip
