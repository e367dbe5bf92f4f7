// A bottleneck adapter added to a layer's output: x + linear_2(relu(linear_1(norm(x)))),
// MMS's Wav2Vec2AttnAdapterLayer (one per language, swapped in at load time).
#pragma once

#include <cstddef>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::layers {

struct bottleneck_adapter {
    layer_norm norm;  // [hidden_size], nn.LayerNorm's default eps
    linear linear_1;  // [adapter_dim, hidden_size]
    linear linear_2;  // [hidden_size, adapter_dim]

    // `scope` is e.g. "...layers.<i>.adapter_layer.".
    static bottleneck_adapter load(const io::weight_scope& scope, std::size_t hidden_size, std::size_t adapter_dim) {
        return {layer_norm::load(scope.child("norm"), hidden_size, 1e-5f), linear::load(scope.child("linear_1"), hidden_size, adapter_dim),
                linear::load(scope.child("linear_2"), adapter_dim, hidden_size)};
    }

    // x + adapter(x), the add in linear_2's epilogue: [batch, seq_len, hidden_size] -> the same
    tensor<3> forward_add(const tensor<3>& x) const {
        return linear_2.forward_add(linear_1.forward(norm.forward(x), ops::activation::relu), x);  // through [.., adapter_dim]
    }
};

}  // namespace mmt::layers
