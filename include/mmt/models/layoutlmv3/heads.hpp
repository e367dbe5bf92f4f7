// The LayoutLMv3 heads (LayoutLMv3ForTokenClassification, ...ForSequenceClassification,
// ...ForQuestionAnswering) and `pretrained_model`, a checkpoint of any of the four
// architectures, chosen by config.json's `architectures`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <variant>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/classification_head.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/document_heads.hpp"
#include "mmt/models/layoutlmv3/config.hpp"
#include "mmt/models/layoutlmv3/layoutlmv3_model.hpp"
#include "mmt/models/pretrained.hpp"
#include "mmt/models/span_logits.hpp"

namespace mmt::layoutlmv3 {

// A head is a Linear or the classification head (token classification picks by num_labels).
using head = std::variant<layers::linear, layers::classification_head>;

template <std::size_t N>
tensor<N> apply_head(const head& h, const tensor<N>& x) {
    return std::visit([&](const auto& layer) { return layer.forward(x); }, h);
}

// HF's base_model_prefix.
inline const std::string base_model_prefix = "layoutlmv3";

// No renamed tensors; older checkpoints carry the position_ids buffer.
inline io::name_table checkpoint_names() { return {{}, {"embeddings.position_ids"}}; }

// A LayoutLMv3 checkpoint of any architecture: the body plus the head config.json
// names. Loaded once, then const: forward may be called from many threads at once.
struct pretrained_model final : document_heads<pretrained_model> {
    layoutlmv3::config config;
    layoutlmv3_model layoutlmv3;
    std::optional<head> classifier;  // token / sequence classification
    std::optional<layers::classification_head> qa_outputs;

    static pretrained_model from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        return load_pretrained<pretrained_model, layoutlmv3::config>(dir, checkpoint_names(), options);
    }

    // Takes every tensor `c` needs from `loader`; one left over is an error. The body sits
    // under "layoutlmv3." in a head's checkpoint, at the root in a saved LayoutLMv3Model.
    static pretrained_model load(const layoutlmv3::config& c, io::weight_loader& loader) {
        const io::weight_scope root = loader.root();
        const bool prefixed = c.arch != layoutlmv3::architecture::model || root.has(base_model_prefix + ".embeddings.word_embeddings.weight");
        pretrained_model m;
        m.config = c;
        m.layoutlmv3 = layoutlmv3_model::load(prefixed ? root.child(base_model_prefix) : root, c);
        const std::size_t h = c.hidden_size, labels = c.num_labels();
        switch (c.arch) {
            case layoutlmv3::architecture::model: break;
            case layoutlmv3::architecture::token_classification:
                if (labels < 10) m.classifier = layers::linear::load_head(root.child("classifier"), h, labels);
                else m.classifier = layers::classification_head::load(root.child("classifier"), h, labels);
                break;
            case layoutlmv3::architecture::sequence_classification: m.classifier = layers::classification_head::load(root.child("classifier"), h, labels); break;
            case layoutlmv3::architecture::question_answering: m.qa_outputs = layers::classification_head::load(root.child("qa_outputs"), h, 2); break;
        }
        loader.check_all_used();
        return m;
    }

    const char* architecture_name() const { return layoutlmv3::architecture_name(config.arch); }

    // LayoutLMv3Model: last_hidden_state [batch, seq_len (+ visual tokens), hidden_size]
    tensor<3> base_forward(const model_inputs& in) const { return layoutlmv3.forward(in); }

    // LayoutLMv3ForTokenClassification, over the text tokens only: [batch, seq_len, num_labels]
    tensor<3> token_logits(const model_inputs& in) const {
        const head& h = require(classifier, layoutlmv3::architecture::token_classification);
        const tensor<3> hidden = layoutlmv3.forward(in);
        return apply_head(h, tensor<3>(xt::view(hidden, xt::all(), xt::range(0, in.input_ids.shape(1)), xt::all())));
    }

    // LayoutLMv3ForSequenceClassification, from the first token (<s>): [batch, num_labels]
    tensor<2> sequence_logits(const model_inputs& in) const {
        const head& h = require(classifier, layoutlmv3::architecture::sequence_classification);
        const tensor<3> hidden = layoutlmv3.forward(in);
        return apply_head(h, tensor<2>(xt::view(hidden, xt::all(), 0, xt::all())));
    }

    // LayoutLMv3ForQuestionAnswering: start and end logits of every token, visual ones included.
    span_logits question_answering(const model_inputs& in) const {
        return split_span_logits(require(qa_outputs, layoutlmv3::architecture::question_answering).forward(layoutlmv3.forward(in)));
    }

    // interfaces::document_input: RoBERTa's positions start after padding_idx.
    std::size_t max_tokens() const override {
        return config.max_position_embeddings - std::size_t(config.pad_token_id) - 1;
    }
};

}  // namespace mmt::layoutlmv3
