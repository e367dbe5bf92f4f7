// Wav2Vec2FeatureProjection (and HuBERT's, WavLM's, Data2VecAudio's): LayerNorm over
// the conv channels (its output is HF's extract_features, the quantizer's input)
// and a linear map to hidden_size. HuBERT with feat_proj_layer_norm false has no
// LayerNorm. The dropout after it is the identity at inference.
#pragma once

#include <optional>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/wav2vec2/config.hpp"

namespace mmt::wav2vec2 {

struct feature_projection {
    std::optional<layers::layer_norm> layer_norm;  // [conv_dim[-1]], config eps
    layers::linear projection;                     // [hidden_size, conv_dim[-1]]

    // `scope` is "<prefix>.feature_projection.".
    static feature_projection load(const io::weight_scope& scope, const config& c) {
        feature_projection p{std::nullopt, layers::linear::load(scope.child("projection"), c.conv_dim.back(), c.hidden_size)};
        if (c.has_feature_projection_norm()) p.layer_norm = layers::layer_norm::load(scope.child("layer_norm"), c.conv_dim.back(), c.layer_norm_eps);
        return p;
    }

    // The LayerNorm alone (the input itself without one): [batch, frames, conv_dim[-1]] -> the same
    tensor<3> normalize(const tensor<3>& features) const { return layer_norm ? layer_norm->forward(features) : features; }
};

}  // namespace mmt::wav2vec2
