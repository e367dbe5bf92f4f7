// Multi-head attention with separate q/k/v projections and an output
// projection: CLIPAttention, BertSelfAttention + BertSelfOutput.dense,
// Wav2Vec2Attention. Each family names the four projections its own way. Keys and
// values come from the input itself or from another sequence (cross-attention).
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/core/scratch_pool.hpp"
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
        return out_proj.forward(attend(x, mask, bias, context));
    }

    // forward() before out_proj: every head's attention output side by side -> [batch, q_len, hidden_size].
    // Self-attention's q, k and v go in a buffer leased from `scratch` when given: an
    // encoder's layers share one, where each would otherwise map (and fault in) its own
    // past glibc's 32 MiB, e.g. 55 MB at two minutes of audio in wav2vec2-base.
    tensor<3> attend(const tensor<3>& x, const ops::attention_mask& mask, const ops::attention_bias& bias = {},
                     const tensor<3>* context = nullptr, scratch_pool* scratch = nullptr) const {
        const std::size_t batch = x.shape(0), q_len = x.shape(1), hidden = out_proj.out_features();
        if (!context) {  // q, k and v side by side in each row of one product
            scratch_pool own;
            const std::size_t width = qkv_proj.out_features();
            const scratch_pool::lease qkv = (scratch ? *scratch : own).take(batch * q_len * width);
            qkv_proj.forward_into(x, qkv.data());
            return heads(batch, q_len, qkv.data(), width, qkv.data() + hidden, q_len, width, mask, bias);
        }
        if (context->shape(0) != batch)
            fail<shape_error>("attention: context has batch ", context->shape(0), ", expected the queries' batch ", batch);
        const tensor<3> q = qkv_proj.select(0, 1).forward(x);
        const tensor<3> kv = qkv_proj.select(1, 2).forward(*context);  // [batch, kv_len, 2 hidden_size]: k, then v
        return heads(batch, q_len, q.data(), hidden, kv.data(), kv.shape(1), kv.shape(2), mask, bias);
    }

    // q, k and v of x side by side in each token's row: [batch, seq_len, hidden_size] -> [batch, seq_len, 3 hidden_size]
    tensor<3> project(const tensor<3>& x) const { return qkv_proj.forward(x); }

    // Attention's two products: in bf16 when the projections are of reduced precision
    // and the kernel multiplies bf16 natively, a third faster than float32 at 499 to
    // 1,499 keys and 12-15 % at 50 and 77 (op_attention). Widened to float (AVX2) they
    // were 15-25 % slower, so there they stay float32.
    mmt::precision products() const {
        return qkv_proj.precision() != mmt::precision::f32 && ops::bf16_is_native(active_kernel()) ? mmt::precision::bf16
                                                                                                   : mmt::precision::f32;
    }

private:
    // Every head's attention output, before out_proj -> [batch, q_len, hidden_size]. q: q_len
    // tokens a batch item, q_width floats apart; k: kv_len tokens a batch item, kv_width floats
    // apart, with v hidden_size floats after each token's k.
    tensor<3> heads(std::size_t batch, std::size_t q_len, const float* q, std::size_t q_width, const float* k, std::size_t kv_len,
                    std::size_t kv_width, const ops::attention_mask& mask, const ops::attention_bias& bias) const {
        const std::size_t hidden = out_proj.out_features();
        const ops::attention_shape s{batch, q_len, kv_len, num_heads, hidden / num_heads};
        tensor<3> out({batch, q_len, hidden});  // [batch, q_len, hidden_size]: the heads side by side
        ops::attention(ops::dense_rows(q, q_len, q_width), ops::dense_rows(k, kv_len, kv_width), ops::dense_rows(k + hidden, kv_len, kv_width), s,
                       mask, bias, 1.0f / std::sqrt(float(s.head_dim)), ops::dense_rows(out.data(), q_len, hidden), products());
        return out;
    }
};

}  // namespace mmt::layers
