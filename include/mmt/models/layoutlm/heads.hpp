// The LayoutLM heads (LayoutLMForTokenClassification, ...ForSequenceClassification,
// ...ForMaskedLM, ...ForQuestionAnswering) and `pretrained_model`, a checkpoint of
// any of the five architectures, chosen by config.json's `architectures`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/document_heads.hpp"
#include "mmt/models/layoutlm/config.hpp"
#include "mmt/models/layoutlm/embeddings.hpp"
#include "mmt/models/layoutlm/layoutlm_model.hpp"
#include "mmt/models/layoutlm/names.hpp"
#include "mmt/models/pretrained.hpp"
#include "mmt/models/span_logits.hpp"
#include "mmt/ops/activations.hpp"
#include "mmt/ops/packed_gemm.hpp"

namespace mmt::layoutlm {

// LayoutLMOnlyMLMHead: transform (dense, activation, LayerNorm), then the decoder onto
// the vocabulary with its own output bias. An output head: float32 under every load
// option, like layers::linear::load_head.
struct masked_lm_head {
    layers::linear transform_dense;  // [hidden_size, hidden_size]
    ops::activation transform_act = ops::activation::gelu;
    layers::layer_norm transform_layer_norm;
    ops::packed_weights decoder;  // [vocab_size, hidden_size], packed; when tied, the word embeddings' own buffer
    tensor<1> bias;               // [vocab_size]

    // `root` is the checkpoint's root scope (the head is never under "layoutlm.");
    // `body` is the model's embeddings, whose word table a tied decoder shares.
    static masked_lm_head load(const io::weight_scope& root, const config& c, embeddings& body) {
        const io::weight_scope predictions = root.child("cls").child("predictions");
        masked_lm_head m;
        m.transform_dense = layers::linear::load_head(predictions.child("transform").child("dense"), c.hidden_size, c.hidden_size);
        m.transform_act = ops::parse_activation(c.hidden_act, "hidden_act");
        m.transform_layer_norm = layers::layer_norm::load(predictions.child("transform").child("LayerNorm"), c.hidden_size, c.layer_norm_eps);
        // A file without the decoder weight had it tied; one that unties it must store it.
        if (root.has(decoder_weight_name) || !c.tie_word_embeddings) {
            const tensor<2> w = root.get<2>(decoder_weight_name, {c.vocab_size, c.hidden_size});
            m.decoder = ops::packed_weights(w.data(), c.vocab_size, c.hidden_size);
        } else {
            m.decoder = body.tie_word_embeddings();
            m.tied_ = true;
        }
        m.bias = predictions.get<1>("bias", {c.vocab_size});
        return m;
    }

    bool tied() const { return tied_; }

    // hidden: [batch, seq_len, hidden_size] -> prediction scores [batch, seq_len, vocab_size]
    tensor<3> forward(const tensor<3>& hidden) const {
        tensor<3> x = transform_layer_norm.forward(transform_dense.forward(hidden, transform_act));  // [batch, seq_len, hidden_size]
        tensor<3> scores({x.shape(0), x.shape(1), decoder.rows()});
        ops::gemm_packed(x.data(), x.shape(0) * x.shape(1), decoder, bias.data(), scores.data());
        return scores;
    }

private:
    bool tied_ = false;
};

// A LayoutLM checkpoint of any architecture: the body plus the head config.json
// names. Loaded once, then const: forward may be called from many threads at once.
struct pretrained_model final : document_heads<pretrained_model> {
    layoutlm::config config;
    layoutlm_model layoutlm;
    std::optional<layers::linear> classifier;  // token / sequence classification: [num_labels, hidden_size]
    std::optional<masked_lm_head> cls;         // masked LM
    std::optional<layers::linear> qa_outputs;  // question answering: [2, hidden_size]

    // A directory as the hub has it: config.json + model.safetensors (or shards).
    static pretrained_model from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        return load_pretrained<pretrained_model, layoutlm::config>(dir, checkpoint_names(), options);
    }

    // Takes every tensor `c` needs from `loader`; one left over is an error.
    static pretrained_model load(const layoutlm::config& c, io::weight_loader& loader) {
        const io::weight_scope root = loader.root();
        pretrained_model m;
        m.config = c;
        m.layoutlm = layoutlm_model::load(base_model_scope(loader, c.arch), c);
        switch (c.arch) {
            case layoutlm::architecture::model: break;
            case layoutlm::architecture::token_classification:
            case layoutlm::architecture::sequence_classification:
                m.classifier = layers::linear::load_head(root.child("classifier"), c.hidden_size, c.num_labels());
                break;
            case layoutlm::architecture::masked_lm: m.cls = masked_lm_head::load(root, c, m.layoutlm.embeddings); break;
            case layoutlm::architecture::question_answering:
                m.qa_outputs = layers::linear::load_head(root.child("qa_outputs"), c.hidden_size, c.num_labels());
                break;
        }
        loader.check_all_used();
        return m;
    }

    const char* architecture_name() const { return layoutlm::architecture_name(config.arch); }

    // LayoutLMModel: last_hidden_state and pooler_output.
    model_output base_forward(const model_inputs& in) const { return layoutlm.forward(in, true); }

    // LayoutLMForTokenClassification: [batch, seq_len, num_labels]
    tensor<3> token_logits(const model_inputs& in) const {
        return require(classifier, layoutlm::architecture::token_classification)
            .forward(layoutlm.forward(without_image(in), false).last_hidden_state);
    }

    // LayoutLMForSequenceClassification, from the pooled first token: [batch, num_labels]
    tensor<2> sequence_logits(const model_inputs& in) const {
        return require(classifier, layoutlm::architecture::sequence_classification).forward(layoutlm.forward(without_image(in), true).pooler_output);
    }

    // LayoutLMForMaskedLM: prediction scores [batch, seq_len, vocab_size]
    tensor<3> masked_lm_logits(const model_inputs& in) const {
        return require(cls, layoutlm::architecture::masked_lm).forward(layoutlm.forward(in, false).last_hidden_state);
    }

    // LayoutLMForQuestionAnswering: start and end logits of every token.
    span_logits question_answering(const model_inputs& in) const {
        return split_span_logits(
            require(qa_outputs, layoutlm::architecture::question_answering).forward(layoutlm.forward(in, false).last_hidden_state));
    }

    // interfaces::document_input
    std::size_t max_tokens() const override { return config.max_position_embeddings; }

private:
    // LayoutLM v1 reads the text and boxes only: a page image given to it is a mistake, not a hint.
    const model_inputs& without_image(const model_inputs& in) const {
        if (in.pixel_values.size() != 0)
            fail<input_error>(architecture_name(), ": pixel_values given, but LayoutLM reads no page image (LayoutLMv3 does)");
        return in;
    }
};

}  // namespace mmt::layoutlm
