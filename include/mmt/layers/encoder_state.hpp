// What the layers of an encoder attend with besides the hidden states: HF's masks
// and an additive bias on the scaled scores. The bias is either one tensor for every
// layer (LayoutLMv3's relative position bias, computed once) or computed per layer
// (WavLM gates its position bias, made in layer 0, by each layer's attention input).
#pragma once

#include <cstddef>
#include <functional>

#include "mmt/core/xtensor.hpp"
#include "mmt/ops/attention.hpp"

namespace mmt::layers {

struct encoder_state {
    ops::attention_mask mask;
    ops::attention_bias bias;  // [batch or 1, num_heads or 1, seq_len, seq_len] for every layer, or none
    // When set, replaces `bias`: layer i's bias from its attention's input [batch, seq_len,
    // hidden_size] (the layer's input, or its first norm's output in a pre-norm layer), as
    // [batch or 1, num_heads or 1, seq_len, seq_len].
    std::function<tensor<4>(std::size_t layer, const tensor<3>& attention_input)> layer_bias;
};

}  // namespace mmt::layers
