// LiltModel (transformers 4.45, models/lilt/modeling_lilt.py): a RoBERTa text stream
// and a narrower layout stream (layout_embeddings.hpp), layer by layer side by side.
// In each layer both streams attend with the softmax of the *sum* of their scaled
// scores, text q k^T / sqrt(d) + layout q_l k_l^T / sqrt(d_l) (plus the mask); each
// then goes on with its own values, output and feed-forward (post-norm BertLayers).
// Only the text stream is returned; the pooler (dense + tanh on the first token)
// when the checkpoint has one.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/bert_embeddings.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/layers/item_groups.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/interfaces/document_input.hpp"
#include "mmt/models/lilt/config.hpp"
#include "mmt/models/lilt/layout_embeddings.hpp"
#include "mmt/ops/activations.hpp"
#include "mmt/ops/attention.hpp"

namespace mmt::lilt {

// A batch as LiLT takes it (interfaces::document_inputs; LiLT reads no page image).
using model_inputs = interfaces::document_inputs;

// LiltLayer's layout stream, relative to "encoder.layer.<i>." (the text stream is a BertLayer).
inline const layers::encoder_layer_names layout_layer_names{
    {"attention.self.layout_query", "attention.self.layout_key", "attention.self.layout_value", "attention.layout_output.dense"},
    "attention.layout_output.LayerNorm",
    {"layout_intermediate.dense", "layout_output.dense"},
    "layout_output.LayerNorm"};

// Both streams' attention heads at once (LiltSelfAttention). HF gives the text and
// the layout stream the same softmax input, q k^T / sqrt(d) + q_l k_l^T / sqrt(d_l)
// plus the mask, so one attention over joint heads [q / sqrt(d) | q_l / sqrt(d_l)],
// [k | k_l] and [v | v_l] computes those scores and softmax once, and its output
// [p v | p v_l] is each stream's heads side by side. text: [batch, seq_len, hidden_size],
// layout: [batch, seq_len, hidden_size / ratio] -> what each layer's attention would
// put through its out_proj (self_attention::attend).
struct attended_streams {
    tensor<3> text, layout;
};
inline attended_streams attend_jointly(const layers::self_attention& text_attention, const tensor<3>& text,
                                       const layers::self_attention& layout_attention, const tensor<3>& layout,
                                       const ops::attention_mask& mask) {
    const tensor<3> text_qkv = text_attention.project(text), layout_qkv = layout_attention.project(layout);  // [batch, seq_len, 3 width]
    const std::size_t batch = text.shape(0), n = text.shape(1), heads = text_attention.num_heads;
    const std::size_t text_width = text_qkv.shape(2) / 3, layout_width = layout_qkv.shape(2) / 3;
    const std::size_t d = text_width / heads, d_layout = layout_width / heads, joint_dim = d + d_layout, joint_width = heads * joint_dim;
    const float text_scale = 1.0f / std::sqrt(float(d)), layout_scale = 1.0f / std::sqrt(float(d_layout));
    tensor<3> joint({batch, n, 3 * joint_width});  // q, k, v side by side, each head's text part then its layout part
    tensor<3> out({batch, n, joint_width});
    attended_streams streams{tensor<3>({batch, n, text_width}), tensor<3>({batch, n, layout_width})};
    parallel_for(batch * n, row_grain(3 * joint_width), [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r)
            for (std::size_t part = 0; part < 3; ++part)  // q, k, v; q pre-scaled
                for (std::size_t h = 0; h < heads; ++h) {
                    const float* t = text_qkv.data() + r * 3 * text_width + part * text_width + h * d;
                    const float* l = layout_qkv.data() + r * 3 * layout_width + part * layout_width + h * d_layout;
                    float* j = joint.data() + r * 3 * joint_width + part * joint_width + h * joint_dim;
                    const float ts = part == 0 ? text_scale : 1.0f, ls = part == 0 ? layout_scale : 1.0f;
                    for (std::size_t i = 0; i < d; ++i) j[i] = t[i] * ts;
                    for (std::size_t i = 0; i < d_layout; ++i) j[d + i] = l[i] * ls;
                }
    });
    const ops::attention_shape s{batch, n, n, heads, joint_dim};
    const float* q = joint.data();
    ops::attention(ops::dense_rows(q, n, 3 * joint_width), ops::dense_rows(q + joint_width, n, 3 * joint_width),
                   ops::dense_rows(q + 2 * joint_width, n, 3 * joint_width), s, mask, {}, 1.0f,
                   ops::dense_rows(out.data(), n, joint_width), text_attention.products());
    parallel_for(batch * n, row_grain(joint_width), [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r)
            for (std::size_t h = 0; h < heads; ++h) {
                const float* j = out.data() + r * joint_width + h * joint_dim;
                std::copy(j, j + d, streams.text.data() + r * text_width + h * d);
                std::copy(j + d, j + joint_dim, streams.layout.data() + r * layout_width + h * d_layout);
            }
    });
    return streams;
}

// HF's BaseModelOutputWithPooling (the text stream).
struct model_output {
    tensor<3> last_hidden_state;  // [batch, seq_len, hidden_size]
    tensor<2> pooler_output;      // [batch, hidden_size]; empty without a pooler
};

struct lilt_model {
    layers::bert_embeddings embeddings;
    std::int64_t padding_idx = 0;
    lilt::layout_embeddings layout_embeddings;
    std::vector<layers::encoder_layer> text_layers, layout_layers;
    std::optional<layers::linear> pooler;  // LiltModel only: [hidden_size, hidden_size]
    // A larger batch goes through the layers a group of items at a time (layers/item_groups.hpp).
    std::size_t group_bytes = layers::default_group_bytes;

    // `scope` is "lilt." or "" (a saved LiltModel, which has the pooler).
    static lilt_model load(const io::weight_scope& scope, const config& c, bool with_pooler) {
        lilt_model m{layers::bert_embeddings::load(scope.child("embeddings"), c.text_embeddings()), c.pad_token_id,
                     layout_embeddings::load(scope.child("layout_embeddings"), c), {}, {}, std::nullopt};
        const io::weight_scope layers_scope = scope.child("encoder").child("layer");
        const layers::encoder_layer_config text_layer = c.layer_config("LiLT config"), layout_layer = c.layout_layer_config("LiLT config");
        for (std::size_t i = 0; i < c.num_hidden_layers; ++i) {
            m.text_layers.push_back(layers::encoder_layer::load(layers_scope.child(std::to_string(i)), layers::bert_layer_names, text_layer));
            m.layout_layers.push_back(layers::encoder_layer::load(layers_scope.child(std::to_string(i)), layout_layer_names, layout_layer));
        }
        if (with_pooler) m.pooler = layers::linear::load_head(scope.child("pooler").child("dense"), c.hidden_size, c.hidden_size);
        return m;
    }

    model_output forward(const model_inputs& in) const {
        const int_tensor<2>& ids = in.input_ids;
        const std::size_t batch = ids.shape(0), seq_len = ids.shape(1);
        if (batch == 0 || seq_len == 0) fail<input_error>("LiLT: input_ids is empty (shape [", batch, ", ", seq_len, "])");
        if (in.attention_mask.size() != 0 && in.attention_mask.shape() != ids.shape())
            fail<shape_error>("LiLT: attention_mask has shape [", in.attention_mask.shape(0), ", ", in.attention_mask.shape(1),
                              "], expected the shape of input_ids [", batch, ", ", seq_len, "]");
        if (in.pixel_values.size() != 0) fail<input_error>("LiLT: pixel_values given, but LiLT reads no page image");
        const int_tensor<2> positions =
            layers::roberta_position_ids(ids, padding_idx, embeddings.position_embeddings.shape(0), "LiLT embeddings");
        tensor<3> text = embeddings.norm.forward(embeddings.sum(ids, in.token_type_ids, positions));  // [batch, seq_len, hidden_size]
        tensor<3> layout = layout_embeddings.forward(in.bbox, positions);                          // [batch, seq_len, hidden_size / ratio]
        const ops::attention_mask mask{false, in.attention_mask.size() != 0 ? in.attention_mask.data() : nullptr};
        const std::size_t group = text_layers.empty() ? batch : layers::items_per_group(seq_len * widest_activation(), group_bytes);
        auto items = [&](std::size_t first, std::size_t count) {
            return encode(layers::items_of(text, first, count), layers::items_of(layout, first, count),
                          layers::mask_of_items(mask, first, seq_len));
        };
        model_output out{group >= batch ? encode(std::move(text), std::move(layout), mask) : layers::by_item_groups(batch, group, items), {}};
        if (pooler) {
            const std::size_t h = out.last_hidden_state.shape(2);
            tensor<2> first({batch, h});  // [batch, hidden_size]: each sequence's first token
            for (std::size_t b = 0; b < batch; ++b)
                for (std::size_t k = 0; k < h; ++k) first(b, k) = out.last_hidden_state(b, 0, k);
            out.pooler_output = pooler->forward(first, ops::activation::tanh);
        }
        return out;
    }

private:
    // Both streams through every layer -> the text stream's last hidden state.
    tensor<3> encode(tensor<3> text, tensor<3> layout, const ops::attention_mask& mask) const {
        for (std::size_t i = 0; i < text_layers.size(); ++i) {
            attended_streams attended = attend_jointly(text_layers[i].attention, text, layout_layers[i].attention, layout, mask);
            text = text_layers[i].forward_attended(text, std::move(attended.text));
            // The last layer's layout stream reaches no output: HF computes it and drops it.
            if (i + 1 < text_layers.size()) layout = layout_layers[i].forward_attended(layout, std::move(attended.layout));
        }
        return text;
    }

    // Floats a token of a layer's widest activation: a stream's own, or the joint heads' q, k and v.
    std::size_t widest_activation() const {
        const std::size_t joint_qkv = text_layers.front().attention.qkv_proj.out_features() + layout_layers.front().attention.qkv_proj.out_features();
        return std::max({text_layers.front().widest_activation(), layout_layers.front().widest_activation(), joint_qkv});
    }
};

}  // namespace mmt::lilt
