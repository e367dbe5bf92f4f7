// A stack of encoder layers read from "<scope>.layers.<i>" (CLIPEncoder,
// BertEncoder, Wav2Vec2Encoder's layer list).
#pragma once

#include <cstddef>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/layers/encoder_state.hpp"

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

    // [batch, seq_len, hidden_size] -> [batch, seq_len, hidden_size]. `hidden_states`, when given,
    // receives HF's output_hidden_states: the input, then each layer's output.
    tensor<3> forward(tensor<3> x, const encoder_state& state, std::vector<tensor<3>>* hidden_states = nullptr) const {
        if (hidden_states) hidden_states->push_back(x);
        for (std::size_t i = 0; i < layers.size(); ++i) {
            if (!state.layer_bias) {
                x = layers[i].forward(x, state.mask, state.bias);
            } else {
                tensor<4> bias;  // [batch or 1, num_heads or 1, seq_len, seq_len], made from the layer's attention input
                x = layers[i].forward_biased(x, state.mask, [&](const tensor<3>& attention_input) {
                    bias = state.layer_bias(i, attention_input);
                    if (bias.shape(2) != x.shape(1) || bias.shape(3) != x.shape(1))
                        fail<shape_error>("encoder: layer ", i, "'s bias has shape [", bias.shape(0), ", ", bias.shape(1), ", ",
                                          bias.shape(2), ", ", bias.shape(3), "], expected [batch or 1, num_heads or 1, ", x.shape(1),
                                          ", ", x.shape(1), "]");
                    return ops::attention_bias{bias.data(), bias.shape(0), bias.shape(1)};
                });
            }
            if (hidden_states) hidden_states->push_back(x);
        }
        return x;
    }
};

}  // namespace mmt::layers
