// Multi-head attention pooling: a learned probe query attends over every token
// through torch.nn.MultiheadAttention (q, k, v stacked in one in_proj), then
// y = a + mlp(layernorm(a)) and the probe's row is the pooled output
// (SiglipMultiheadAttentionPoolingHead).
#pragma once

#include <cstddef>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/attention.hpp"
#include "mmt/layers/feed_forward.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/ops/activations.hpp"
#include "mmt/ops/packed_gemm_any.hpp"

namespace mmt::layers {

struct attention_pooling_config {
    std::size_t hidden_size = 0;
    std::size_t intermediate_size = 0;  // the MLP's
    std::size_t num_attention_heads = 0;
    ops::activation hidden_act = ops::activation::gelu;
    float layer_norm_eps = 1e-5f;
};

struct attention_pooling {
    tensor<1> probe;           // [hidden_size]
    self_attention attention;  // in_proj is its qkv_proj
    layer_norm layernorm;
    feed_forward mlp;

    // `scope` is the head's (e.g. "vision_model.head."): probe, attention.in_proj_weight /
    // in_proj_bias / out_proj, layernorm, mlp.fc1 / mlp.fc2.
    static attention_pooling load(const io::weight_scope& scope, const attention_pooling_config& c) {
        const std::size_t h = c.hidden_size;
        self_attention::check_heads(h, c.num_attention_heads);
        const io::weight_scope a = scope.child("attention");
        const mmt::precision precision = a.linear_precision();
        const auto in_proj = a.get_packed<2>("in_proj_weight", {3 * h, h}, precision);  // q, k, v stacked
        const linear qkv{ops::pack_weights(in_proj.rows, 3 * h, h, precision, in_proj.row_scales(), 3), a.get<1>("in_proj_bias", {3 * h})};
        return {tensor<1>(xt::flatten(scope.get<3>("probe", {1, 1, h}))),
                {qkv, linear::load(a.child("out_proj"), h, h), c.num_attention_heads},
                layer_norm::load(scope.child("layernorm"), h, c.layer_norm_eps),
                feed_forward::load(scope, {"mlp.fc1", "mlp.fc2"}, h, c.intermediate_size, c.hidden_act)};
    }

    // hidden: [batch, tokens, hidden_size] -> [batch, hidden_size]
    tensor<2> forward(const tensor<3>& hidden) const {
        const std::size_t batch = hidden.shape(0), h = probe.size();
        tensor<3> query({batch, 1, h});  // the probe, once per batch item
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t i = 0; i < h; ++i) query(b, 0, i) = probe(i);
        const tensor<3> attended = attention.forward(query, {}, {}, &hidden);  // [batch, 1, hidden_size]
        const tensor<3> y = mlp.forward_add(layernorm.forward(attended), attended);
        return xt::view(y, xt::all(), 0, xt::all());
    }
};

}  // namespace mmt::layers
