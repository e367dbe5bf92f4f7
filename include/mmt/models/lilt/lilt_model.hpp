// LiltModel (transformers 4.45, models/lilt/modeling_lilt.py): a RoBERTa text stream
// and a narrower layout stream (layout_embeddings.hpp), layer by layer side by side.
// In each layer both streams attend with the softmax of the *sum* of their scaled
// scores, text q k^T / sqrt(d) + layout q_l k_l^T / sqrt(d_l) (plus the mask); each
// then goes on with its own values, output and feed-forward (post-norm BertLayers).
// Only the text stream is returned; the pooler (dense + tanh on the first token)
// when the checkpoint has one.
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/bert_embeddings.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/interfaces/document_input.hpp"
#include "mmt/models/lilt/config.hpp"
#include "mmt/models/lilt/layout_embeddings.hpp"
#include "mmt/ops/activations.hpp"
#include "mmt/ops/attention.hpp"
#include "mmt/ops/packed_gemm.hpp"

namespace mmt::lilt {

// A batch as LiLT takes it (interfaces::document_inputs; LiLT reads no page image).
using model_inputs = interfaces::document_inputs;

// LiltLayer's layout stream, relative to "encoder.layer.<i>." (the text stream is a BertLayer).
inline const layers::encoder_layer_names layout_layer_names{
    {"attention.self.layout_query", "attention.self.layout_key", "attention.self.layout_value", "attention.layout_output.dense"},
    "attention.layout_output.LayerNorm",
    {"layout_intermediate.dense", "layout_output.dense"},
    "layout_output.LayerNorm"};

// One stream's scaled scores q k^T / sqrt(head_dim) of x [batch, seq_len, width]
// -> [batch, num_heads, seq_len, seq_len]: what the other stream adds to its own.
// Each head's keys are packed as the weights of the float32 GEMM, which runs on the
// ops' threads (Eigen's product here opened an OpenMP team of its own).
inline tensor<4> scaled_scores(const layers::self_attention& attention, const tensor<3>& x) {
    const tensor<3> qk = attention.qkv_proj.select(0, 2).forward(x);  // [batch, seq_len, 2 width]: q, then k
    const std::size_t batch = x.shape(0), n = x.shape(1), width = qk.shape(2) / 2, heads = attention.num_heads, d = width / heads;
    const float sqrt_d = float(std::sqrt(double(d)));
    tensor<4> out({batch, heads, n, n});
    ops::packed_weights keys;  // [n, d] of one head, the buffer reused
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t h = 0; h < heads; ++h) {
            keys.assign(&qk(b, 0, width + h * d), n, d, 2 * width, 1);
            float* scores = &out(b, h, 0, 0);  // [n, n]
            ops::gemm_packed(&qk(b, 0, h * d), n, 2 * width, keys, nullptr, scores, n);
            for (std::size_t i = 0; i < n * n; ++i) scores[i] /= sqrt_d;
        }
    return out;
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

    // `scope` is "lilt." or "" (a saved LiltModel, which has the pooler).
    static lilt_model load(const io::weight_scope& scope, const config& c, bool with_pooler) {
        lilt_model m{layers::bert_embeddings::load(scope.child("embeddings"), c.text_embeddings()), c.pad_token_id,
                     layout_embeddings::load(scope.child("layout_embeddings"), c), {}, {}, std::nullopt};
        const io::weight_scope layers_scope = scope.child("encoder").child("layer");
        for (std::size_t i = 0; i < c.num_hidden_layers; ++i) {
            m.text_layers.push_back(layers::encoder_layer::load(layers_scope.child(std::to_string(i)), layers::bert_layer_names, c.text_layer()));
            m.layout_layers.push_back(layers::encoder_layer::load(layers_scope.child(std::to_string(i)), layout_layer_names, c.layout_layer()));
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
        const std::size_t heads = text_layers.empty() ? 1 : text_layers[0].attention.num_heads;
        for (std::size_t i = 0; i < text_layers.size(); ++i) {
            const tensor<4> layout_scores = scaled_scores(layout_layers[i].attention, layout);
            tensor<3> next = text_layers[i].forward(text, mask, {layout_scores.data(), batch, heads});
            // The last layer's layout stream reaches no output: HF computes it and drops it.
            if (i + 1 < text_layers.size()) {
                const tensor<4> text_scores = scaled_scores(text_layers[i].attention, text);
                layout = layout_layers[i].forward(layout, mask, {text_scores.data(), batch, heads});
            }
            text = std::move(next);
        }
        model_output out{std::move(text), {}};
        if (pooler) {
            const std::size_t h = out.last_hidden_state.shape(2);
            tensor<2> first({batch, h});  // [batch, hidden_size]: each sequence's first token
            for (std::size_t b = 0; b < batch; ++b)
                for (std::size_t k = 0; k < h; ++k) first(b, k) = out.last_hidden_state(b, 0, k);
            out.pooler_output = pooler->forward(first, ops::activation::tanh);
        }
        return out;
    }
};

}  // namespace mmt::lilt
