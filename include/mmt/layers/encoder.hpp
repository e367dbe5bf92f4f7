// A stack of encoder layers read from "<scope>.layers.<i>" (CLIPEncoder,
// BertEncoder, Wav2Vec2Encoder's layer list).
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/layers/encoder_state.hpp"

namespace mmt::layers {

struct encoder {
    std::vector<encoder_layer> layers;
    // The most bytes a layer's widest activation (its q, k and v, or its MLP's
    // intermediate) takes: a larger batch goes through every layer a group of items at
    // a time. glibc maps each allocation of more than 32 MiB on its own and unmaps it
    // when it is freed, so every layer faulted those activations in afresh: at
    // layoutlm_base 32x128 in int8, 3.5 times the time of four 8x128 batches. No op
    // mixes batch items, so each item's outputs are the same either way.
    std::size_t group_bytes = std::size_t(16) << 20;

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
        const std::size_t batch = x.shape(0), seq_len = x.shape(1), group = items_per_group(seq_len);
        if (hidden_states || group >= batch) return forward_items(std::move(x), state, hidden_states);
        const std::size_t item = seq_len * x.shape(2), groups = (batch + group - 1) / group;  // floats of one batch item; groups of even sizes
        tensor<3> out(x.shape());
        for (std::size_t g = 0; g < groups; ++g) {
            const std::size_t first = batch * g / groups, count = batch * (g + 1) / groups - first;
            tensor<3> part({count, seq_len, x.shape(2)});
            std::copy_n(x.data() + first * item, count * item, part.data());
            part = forward_items(std::move(part), state.items(first, count, seq_len), nullptr);
            std::copy_n(part.data(), count * item, out.data() + first * item);
        }
        return out;
    }

private:
    // Batch items of seq_len tokens a group keeps within group_bytes (at least one).
    std::size_t items_per_group(std::size_t seq_len) const {
        if (layers.empty() || seq_len == 0) return std::numeric_limits<std::size_t>::max();
        const encoder_layer& l = layers.front();
        const std::size_t widest = std::max(l.attention.qkv_proj.out_features(), l.ffn.fc1.out_features());
        return std::max<std::size_t>(1, group_bytes / (sizeof(float) * widest * seq_len));
    }

    tensor<3> forward_items(tensor<3> x, const encoder_state& state, std::vector<tensor<3>>* hidden_states) const {
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
