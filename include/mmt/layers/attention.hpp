// Multi-head self-attention with separate q/k/v projections and an output
// projection: CLIPAttention, BertSelfAttention + BertSelfOutput.dense,
// Wav2Vec2Attention. Each family names the four projections its own way.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/ops/attention.hpp"

namespace mmt::layers {

struct attention_names {
    std::string q_proj, k_proj, v_proj, out_proj;  // relative to the encoder layer
};

struct self_attention {
    linear q_proj, k_proj, v_proj, out_proj;
    std::size_t num_heads = 0;

    static self_attention load(const io::weight_scope& layer, const attention_names& names, std::size_t hidden_size,
                               std::size_t num_heads) {
        if (num_heads == 0 || hidden_size % num_heads != 0)
            fail<config_error>("num_attention_heads: hidden_size ", hidden_size, " is not divisible by ", num_heads, " heads");
        return {linear::load(layer.child(names.q_proj), hidden_size, hidden_size),
                linear::load(layer.child(names.k_proj), hidden_size, hidden_size),
                linear::load(layer.child(names.v_proj), hidden_size, hidden_size),
                linear::load(layer.child(names.out_proj), hidden_size, hidden_size), num_heads};
    }

    // x: [batch, seq_len, hidden_size] -> [batch, seq_len, hidden_size]
    tensor<3> forward(const tensor<3>& x, const ops::attention_mask& mask) const {
        const tensor<3> q = q_proj.forward(x), k = k_proj.forward(x), v = v_proj.forward(x);
        const ops::attention_shape s{x.shape(0), x.shape(1), num_heads, x.shape(2) / num_heads};
        tensor<3> context(x.shape());
        ops::attention(q.data(), k.data(), v.data(), s, mask, 1.0f / std::sqrt(float(s.head_dim)), context.data());
        return out_proj.forward(context);
    }
};

}  // namespace mmt::layers
