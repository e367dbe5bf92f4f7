// Multi-head attention with separate q/k/v projections and an output
// projection: CLIPAttention, BertSelfAttention + BertSelfOutput.dense,
// Wav2Vec2Attention. Each family names the four projections its own way. Keys and
// values come from the input itself or from another sequence (cross-attention).
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

    // Queries from x, keys and values from `context` (nullptr: from x itself). x: [batch,
    // q_len, hidden_size], context: [batch, kv_len, hidden_size]; the mask's key padding
    // and the bias count kv_len keys -> [batch, q_len, hidden_size]
    tensor<3> forward(const tensor<3>& x, const ops::attention_mask& mask, const ops::attention_bias& bias = {},
                      const tensor<3>* context = nullptr) const {
        return out_proj.forward(heads(x, mask, bias, context));
    }

    // residual + forward(x, mask, bias), the add in out_proj's epilogue; residual: [batch, q_len, hidden_size]
    tensor<3> forward_add(const tensor<3>& x, const tensor<3>& residual, const ops::attention_mask& mask,
                          const ops::attention_bias& bias = {}) const {
        return out_proj.forward_add(heads(x, mask, bias, nullptr), residual);
    }

    // Attention's two products: in bf16 when the projections are of reduced precision
    // and the kernel multiplies bf16 natively, a third faster than float32 at 499 to
    // 1,499 keys and 12-15 % at 50 and 77 (op_attention). Widened to float (AVX2) they
    // were 15-25 % slower, so there they stay float32.
    mmt::precision products() const {
        return q_proj.precision() != mmt::precision::f32 && ops::bf16_is_native(active_kernel()) ? mmt::precision::bf16
                                                                                                 : mmt::precision::f32;
    }

private:
    // Every head's attention output, before out_proj -> [batch, q_len, hidden_size]
    tensor<3> heads(const tensor<3>& x, const ops::attention_mask& mask, const ops::attention_bias& bias, const tensor<3>* context) const {
        const tensor<3>& source = context ? *context : x;
        if (source.shape(0) != x.shape(0))
            fail<shape_error>("attention: context has batch ", source.shape(0), ", expected the queries' batch ", x.shape(0));
        const tensor<3> q = q_proj.forward(x), k = k_proj.forward(source), v = v_proj.forward(source);
        const std::size_t batch = x.shape(0), q_len = x.shape(1), kv_len = source.shape(1), hidden = q.shape(2);
        const ops::attention_shape s{batch, q_len, kv_len, num_heads, hidden / num_heads};
        tensor<3> out({batch, q_len, hidden});  // [batch, q_len, hidden_size]: the heads side by side
        ops::attention(ops::dense_rows(q.data(), q_len, hidden), ops::dense_rows(k.data(), kv_len, hidden),
                       ops::dense_rows(v.data(), kv_len, hidden), s, mask, bias, 1.0f / std::sqrt(float(s.head_dim)),
                       ops::dense_rows(out.data(), q_len, hidden), products());
        return out;
    }
};

}  // namespace mmt::layers
