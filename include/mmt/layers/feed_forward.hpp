// The position-wise MLP: fc2(act(fc1(x))). CLIPMLP, BertIntermediate + BertOutput.dense,
// Wav2Vec2FeedForward.
#pragma once

#include <cstddef>
#include <string>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::layers {

struct feed_forward_names {
    std::string fc1, fc2;  // relative to the encoder layer
};

struct feed_forward {
    linear fc1;  // [intermediate_size, hidden_size]
    linear fc2;  // [hidden_size, intermediate_size]
    ops::activation act = ops::activation::gelu;

    static feed_forward load(const io::weight_scope& layer, const feed_forward_names& names, std::size_t hidden_size,
                             std::size_t intermediate_size, ops::activation act) {
        return {linear::load(layer.child(names.fc1), hidden_size, intermediate_size),
                linear::load(layer.child(names.fc2), intermediate_size, hidden_size), act};
    }

    // [batch, seq_len, hidden_size] -> [batch, seq_len, hidden_size]
    tensor<3> forward(const tensor<3>& x) const {
        return fc2.forward(fc1.forward(x, act));  // through [batch, seq_len, intermediate_size]
    }

    // residual + forward(x), the add in fc2's epilogue; residual: [batch, seq_len, hidden_size]
    tensor<3> forward_add(const tensor<3>& x, const tensor<3>& residual) const {
        return fc2.forward_add(fc1.forward(x, act), residual);
    }
};

}  // namespace mmt::layers
