// A stack of encoder layers read from "<scope>.layers.<i>" (CLIPEncoder,
// BertEncoder, Wav2Vec2Encoder's layer list).
#pragma once

#include <cstddef>
#include <vector>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder_layer.hpp"

namespace mmt::layers {

struct encoder {
    std::vector<encoder_layer> layers;

    // `layers_scope` is the scope holding "0.", "1.", ... (e.g. "text_model.encoder.layers.").
    static encoder load(const io::weight_scope& layers_scope, std::size_t num_hidden_layers, const encoder_layer_names& names,
                        const encoder_layer_config& c) {
        encoder e;
        for (std::size_t i = 0; i < num_hidden_layers; ++i) e.layers.push_back(encoder_layer::load(layers_scope.child(i), names, c));
        return e;
    }

    // [batch, seq_len, hidden_size] -> [batch, seq_len, hidden_size]
    tensor<3> forward(tensor<3> x, const ops::attention_mask& mask) const {
        for (const auto& layer : layers) x = layer.forward(x, mask);
        return x;
    }
};

}  // namespace mmt::layers
