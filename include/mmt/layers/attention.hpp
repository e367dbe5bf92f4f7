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
    // q_proj, k_proj and v_proj stacked ([3 hidden_size, hidden_size], as torch's
    // in_proj): self-attention projects x in one product, quantising it once in
    // int8: 0.81-0.90 of three products' time there at 616 and 1,024 rows
    // (op_qkv_projection), level in float32.
    linear qkv_proj;
    linear out_proj;
    std::size_t num_heads = 0;

    static self_attention load(const io::weight_scope& layer, const attention_names& names, std::size_t hidden_size,
                               std::size_t num_heads) {
        check_heads(hidden_size, num_heads);
        return {linear::load_stacked(layer, {names.q_proj, names.k_proj, names.v_proj}, hidden_size, hidden_size),
                linear::load(layer.child(names.out_proj), hidden_size, hidden_size), num_heads};
    }

    static void check_heads(std::size_t hidden_size, std::size_t num_heads) {
        if (num_heads == 0 || hidden_size % num_heads != 0)
            fail<config_error>("num_attention_heads: hidden_size ", hidden_size, " is not divisible by ", num_heads, " heads");
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
        return qkv_proj.precision() != mmt::precision::f32 && ops::bf16_is_native(active_kernel()) ? mmt::precision::bf16
                                                                                                   : mmt::precision::f32;
    }

private:
    // Every head's attention output, before out_proj -> [batch, q_len, hidden_size]
    tensor<3> heads(const tensor<3>& x, const ops::attention_mask& mask, const ops::attention_bias& bias, const tensor<3>* context) const {
        const std::size_t batch = x.shape(0), q_len = x.shape(1), kv_len = context ? context->shape(1) : q_len,
                          hidden = out_proj.out_features();
        if (context && context->shape(0) != batch)
            fail<shape_error>("attention: context has batch ", context->shape(0), ", expected the queries' batch ", batch);
        // Self-attention: q, k and v side by side in each row of one product. Cross-attention:
        // q from x, and k, v side by side from the context.
        const tensor<3> q_rows = context ? qkv_proj.select(0, 1).forward(x) : qkv_proj.forward(x);  // [batch, q_len, 1 or 3 hidden]
        const tensor<3> kv_rows = context ? qkv_proj.select(1, 2).forward(*context) : tensor<3>();  // [batch, kv_len, 2 hidden]
        const float* k = context ? kv_rows.data() : q_rows.data() + hidden;
        const std::size_t q_width = q_rows.shape(2), kv_width = context ? kv_rows.shape(2) : q_width;
        const ops::attention_shape s{batch, q_len, kv_len, num_heads, hidden / num_heads};
        tensor<3> out({batch, q_len, hidden});  // [batch, q_len, hidden_size]: the heads side by side
        ops::attention(ops::dense_rows(q_rows.data(), q_len, q_width), ops::dense_rows(k, kv_len, kv_width),
                       ops::dense_rows(k + hidden, kv_len, kv_width), s, mask, bias, 1.0f / std::sqrt(float(s.head_dim)),
                       ops::dense_rows(out.data(), q_len, hidden), products());
        return out;
    }
};

}  // namespace mmt::layers
