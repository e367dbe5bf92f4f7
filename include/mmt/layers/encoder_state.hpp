// What the layers of an encoder attend with besides the hidden states: HF's masks
// and an additive bias on the scaled scores, one tensor for every layer
// (LayoutLMv3's relative position bias, WavLM's position bias, computed once). WavLM
// gates its bias per layer, head and query by each layer's attention input: the
// factors come from `layer_bias_scale`, and the gated bias is never stored.
#pragma once

#include <cstddef>
#include <functional>

#include "mmt/core/xtensor.hpp"
#include "mmt/layers/item_groups.hpp"
#include "mmt/ops/attention.hpp"

namespace mmt::layers {

struct encoder_state {
    ops::attention_mask mask;
    ops::attention_bias bias;  // [batch or 1, num_heads or 1, seq_len, seq_len] for every layer, or none
    // When set, layer i's factors for the rows of `bias` (ops::attention_bias::row_scale),
    // from its attention's input [batch, seq_len, hidden_size] (the layer's input, or its
    // first norm's output in a pre-norm layer), as [batch, num_heads, seq_len].
    std::function<tensor<3>(std::size_t layer, const tensor<3>& attention_input)> layer_bias_scale;

    // The state of batch items [first, first + count) of sequences of seq_len tokens:
    // their rows of the key padding and, when it has one per item, of the bias.
    encoder_state items(std::size_t first, std::size_t count, std::size_t seq_len) const {
        encoder_state part = *this;
        part.mask = mask_of_items(mask, first, seq_len);
        if (bias.data && bias.batch > 1) {
            part.bias.data += first * bias.heads * seq_len * seq_len;
            part.bias.batch = count;
        }
        return part;
    }
};

}  // namespace mmt::layers
