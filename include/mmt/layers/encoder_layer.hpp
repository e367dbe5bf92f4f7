// One transformer encoder layer, pre- or post-norm:
//   pre  (CLIPEncoderLayer, Wav2Vec2EncoderLayerStableLayerNorm):
//        x = x + attn(norm1(x));  x = x + ffn(norm2(x))
//   post (BertLayer / LayoutLMLayer, Wav2Vec2EncoderLayer):
//        x = norm1(x + attn(x));  x = norm2(x + ffn(x))
// then, with an adapter (MMS), x = x + adapter(x).
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/adapter.hpp"
#include "mmt/layers/attention.hpp"
#include "mmt/layers/feed_forward.hpp"
#include "mmt/layers/layer_norm.hpp"

namespace mmt::layers {

enum class norm_position { pre, post };

// Where one family keeps each part of a layer, relative to "...layers.<i>.".
struct encoder_layer_names {
    attention_names attention;
    std::string norm1;  // around attention
    feed_forward_names feed_forward;
    std::string norm2;  // around the feed-forward
    std::string adapter = {};  // after the feed-forward, when the config has one
};

// BertLayer's names (BERT, LayoutLM, Chinese-CLIP's text tower), relative to "encoder.layer.<i>.".
inline const encoder_layer_names bert_layer_names{
    {"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"},
    "attention.output.LayerNorm",
    {"intermediate.dense", "output.dense"},
    "output.LayerNorm"};

struct encoder_layer_config {
    std::size_t hidden_size = 0;
    std::size_t intermediate_size = 0;
    std::size_t num_attention_heads = 0;
    ops::activation hidden_act = ops::activation::gelu;
    float layer_norm_eps = 1e-5f;
    norm_position norm = norm_position::pre;
    std::size_t adapter_dim = 0;  // the bottleneck of an adapter after each layer; 0 for none
};

struct encoder_layer {
    self_attention attention;
    layer_norm norm1;
    feed_forward ffn;
    layer_norm norm2;
    norm_position norm = norm_position::pre;
    std::optional<bottleneck_adapter> adapter;

    static encoder_layer load(const io::weight_scope& layer, const encoder_layer_names& names, const encoder_layer_config& c) {
        encoder_layer l{self_attention::load(layer, names.attention, c.hidden_size, c.num_attention_heads),
                        layer_norm::load(layer.child(names.norm1), c.hidden_size, c.layer_norm_eps),
                        feed_forward::load(layer, names.feed_forward, c.hidden_size, c.intermediate_size, c.hidden_act),
                        layer_norm::load(layer.child(names.norm2), c.hidden_size, c.layer_norm_eps), c.norm, std::nullopt};
        if (c.adapter_dim > 0) {
            if (names.adapter.empty()) fail<config_error>("encoder layer: this family's layers have no adapter, but adapter_dim is ", c.adapter_dim);
            l.adapter = bottleneck_adapter::load(layer.child(names.adapter), c.hidden_size, c.adapter_dim);
        }
        return l;
    }

    // Floats a token of the layer's widest activation over a whole batch: its q, k and v
    // (the MLP's intermediate goes in runs of its own, feed_forward::chunk_bytes).
    std::size_t widest_activation() const { return attention.qkv_proj.out_features(); }

    // [batch, seq_len, hidden_size] -> [batch, seq_len, hidden_size]; `bias` on the attention scores:
    // [batch or 1, num_heads or 1, seq_len, seq_len], or none. `scratch` lends the attention
    // its q, k and v (self_attention::attend).
    tensor<3> forward(const tensor<3>& x, const ops::attention_mask& mask, const ops::attention_bias& bias = {},
                      scratch_pool* scratch = nullptr) const {
        return forward_biased(x, mask, [&](const tensor<3>&) { return bias; }, scratch);
    }

    // As forward, the bias made by bias_of(the attention's input: x, or norm1(x) in a pre-norm
    // layer) -> ops::attention_bias, valid until the layer returns. WavLM gates its position
    // bias by that input.
    template <class BiasOf>
    tensor<3> forward_biased(const tensor<3>& x, const ops::attention_mask& mask, BiasOf&& bias_of, scratch_pool* scratch = nullptr) const {
        static_assert(std::is_same_v<std::invoke_result_t<BiasOf&, const tensor<3>&>, ops::attention_bias>);
        if (norm == norm_position::post) return forward_attended(x, attention.attend(x, mask, bias_of(x), nullptr, scratch));
        const tensor<3> in = norm1.forward(x);
        return forward_attended(x, attention.attend(in, mask, bias_of(in), nullptr, scratch));
    }

    // The layer from its attention's heads on: `attended` is every head's output before
    // out_proj ([batch, seq_len, hidden_size], self_attention::attend of the attention's
    // input). LiLT attends with both of its streams' layers at once.
    tensor<3> forward_attended(const tensor<3>& x, tensor<3> attended) const {
        // Each residual add runs in the epilogue of the projection before it (out_proj, fc2).
        tensor<3> h = attention.out_proj.forward_add(tensor<3>(std::move(attended)), x);  // `attended` freed as it returns
        tensor<3> y;
        if (norm == norm_position::pre) {
            y = ffn.forward_add(norm2.forward(h), h);
        } else {
            h = norm1.forward(h);
            y = norm2.forward(ffn.forward_add(h, h));
        }
        return adapter ? adapter->forward_add(y) : y;
    }
};

}  // namespace mmt::layers
