// A stack of encoder layers read from "<scope>.layers.<i>" (CLIPEncoder,
// BertEncoder, Wav2Vec2Encoder's layer list).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/scratch_pool.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/layers/encoder_state.hpp"
#include "mmt/layers/item_groups.hpp"

namespace mmt::layers {

struct encoder {
    std::vector<encoder_layer> layers;
    // A batch whose widest activation (a layer's q, k and v) would take more bytes goes
    // through the layers a group of items at a time (item_groups.hpp).
    std::size_t group_bytes = default_group_bytes;
    // The layers' q, k and v, one buffer a call at once, kept between calls (core/scratch_pool.hpp).
    std::shared_ptr<scratch_pool> scratch = std::make_shared<scratch_pool>();

    // `layers_scope` is the scope holding "0.", "1.", ... (e.g. "text_model.encoder.layers.").
    static encoder load(const io::weight_scope& layers_scope, std::size_t num_hidden_layers, const encoder_layer_names& names,
                        const encoder_layer_config& c) {
        encoder e;
        for (std::size_t i = 0; i < num_hidden_layers; ++i) e.layers.push_back(encoder_layer::load(layers_scope.child(i), names, c));
        return e;
    }

    // [batch, seq_len, hidden_size] -> [batch, seq_len, hidden_size]. `hidden_states`, when given,
    // receives HF's output_hidden_states: the input, then each layer's output (all of the
    // batch at once: they are kept anyway).
    tensor<3> forward(tensor<3> x, const encoder_state& state, std::vector<tensor<3>>* hidden_states = nullptr) const {
        const std::size_t batch = x.shape(0), seq_len = x.shape(1);
        const std::size_t group = layers.empty() ? batch : items_per_group(seq_len * layers.front().widest_activation(), group_bytes);
        if (hidden_states || group >= batch) return forward_items(std::move(x), state, hidden_states);
        return by_item_groups(batch, group, [&](std::size_t first, std::size_t count) {
            return forward_items(items_of(x, first, count), state.items(first, count, seq_len), nullptr);
        });
    }

private:
    tensor<3> forward_items(tensor<3> x, const encoder_state& state, std::vector<tensor<3>>* hidden_states) const {
        if (hidden_states) hidden_states->push_back(x);
        for (std::size_t i = 0; i < layers.size(); ++i) {
            if (!state.layer_bias_scale) {
                x = layers[i].forward(x, state.mask, state.bias, scratch.get());
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
                }, scratch.get());
            }
            if (hidden_states) hidden_states->push_back(x);
        }
        return x;
    }
};

}  // namespace mmt::layers
