// Wav2Vec2FeatureProjection: LayerNorm over the conv channels (its output is
// HF's extract_features, the quantizer's input) and a linear map to hidden_size.
// The dropout after it is the identity at inference.
#pragma once

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/wav2vec2/config.hpp"

namespace mmt::wav2vec2 {

struct feature_projection {
    layers::layer_norm layer_norm;  // [conv_dim[-1]], config eps
    layers::linear projection;      // [hidden_size, conv_dim[-1]]

    // `scope` is "[wav2vec2.]feature_projection.".
    static feature_projection load(const io::weight_scope& scope, const config& c) {
        return {layers::layer_norm::load(scope.child("layer_norm"), c.conv_dim.back(), c.layer_norm_eps),
                layers::linear::load(scope.child("projection"), c.conv_dim.back(), c.hidden_size)};
    }
};

}  // namespace mmt::wav2vec2
