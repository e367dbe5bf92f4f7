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
            if (!state.layer_bias_scale) {
                x = layers[i].forward(x, state.mask, state.bias);
            } else {
                tensor<3> scales;  // [batch, num_heads, seq_len], made from the layer's attention input
                x = layers[i].forward_biased(x, state.mask, [&](const tensor<3>& attention_input) {
                    scales = state.layer_bias_scale(i, attention_input);
                    const std::size_t expected[3] = {x.shape(0), layers[i].attention.num_heads, x.shape(1)};
                    if (scales.shape(0) != expected[0] || scales.shape(1) != expected[1] || scales.shape(2) != expected[2])
                        fail<shape_error>("encoder: layer ", i, "'s bias row scales have shape [", scales.shape(0), ", ", scales.shape(1), ", ",
                                          scales.shape(2), "], expected [batch, num_heads, seq_len] = [", expected[0], ", ", expected[1],
                                          ", ", expected[2], "]");
                    ops::attention_bias gated = state.bias;
                    gated.row_scale = scales.data();
                    return gated;
                });
            }
            if (hidden_states) hidden_states->push_back(x);
        }
        return x;
    }
};

}  // namespace mmt::layers
