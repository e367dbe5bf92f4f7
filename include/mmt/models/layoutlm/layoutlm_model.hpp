// LayoutLMModel: LayoutLMEmbeddings, BERT's post-norm encoder over the padding
// mask, and the pooler (dense + tanh on the first token).
#pragma once

#include <cstddef>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder.hpp"
#include "mmt/layers/encoder_state.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/interfaces/document_input.hpp"
#include "mmt/models/layoutlm/config.hpp"
#include "mmt/models/layoutlm/embeddings.hpp"
#include "mmt/models/layoutlm/names.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::layoutlm {

// A batch as LayoutLM takes it (interfaces::document_inputs; LayoutLM v1 reads no page image).
using model_inputs = interfaces::document_inputs;

// HF's BaseModelOutputWithPooling.
struct model_output {
    tensor<3> last_hidden_state;  // [batch, seq_len, hidden_size]
    tensor<2> pooler_output;      // [batch, hidden_size]; empty when not asked for
};

struct layoutlm_model {
    layoutlm::embeddings embeddings;
    layers::encoder encoder;
    layers::linear pooler;  // [hidden_size, hidden_size]

    // `scope` is "layoutlm." or "" (see base_model_scope).
    static layoutlm_model load(const io::weight_scope& scope, const config& c) {
        return {layoutlm::embeddings::load(scope.child("embeddings"), c),
                layers::encoder::load(scope.child("encoder").child("layer"), c.num_hidden_layers, layers::bert_layer_names,
                                      c.layer_config("LayoutLM config")),
                layers::linear::load_head(scope.child("pooler").child("dense"), c.hidden_size, c.hidden_size)};
    }

    // The pooler runs only when `with_pooler` (the token-level heads never read it).
    model_output forward(const model_inputs& in, bool with_pooler = true) const {
        const int_tensor<2>& ids = in.input_ids;
        const std::size_t batch = ids.shape(0), seq_len = ids.shape(1), h = embeddings.hidden_size();
        if (batch == 0 || seq_len == 0) fail<input_error>("LayoutLM: input_ids is empty (shape [", batch, ", ", seq_len, "])");
        for (const auto* t : {&in.attention_mask, &in.token_type_ids})
            if (t->size() != 0 && t->shape() != ids.shape())
                fail<shape_error>("LayoutLM: ", t == &in.attention_mask ? "attention_mask" : "token_type_ids", " has shape [",
                                  t->shape(0), ", ", t->shape(1), "], expected the shape of input_ids [", batch, ", ", seq_len, "]");

        layers::encoder_state state;
        state.mask.key_padding = in.attention_mask.size() ? in.attention_mask.data() : nullptr;
        model_output out;
        out.last_hidden_state = encoder.forward(embeddings.forward(ids, in.bbox, in.token_type_ids), state);
        if (!with_pooler) return out;
        tensor<2> first({batch, h});  // [batch, hidden_size]: each sequence's first token
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t i = 0; i < h; ++i) first(b, i) = out.last_hidden_state(b, 0, i);
        out.pooler_output = pooler.forward(first, ops::activation::tanh);  // BertPooler: dense then tanh
        return out;
    }
};

}  // namespace mmt::layoutlm
