// The LiLT heads (LiltForTokenClassification, ...ForSequenceClassification,
// ...ForQuestionAnswering) and `pretrained_model`, a checkpoint of any of the four
// architectures, chosen by config.json's `architectures`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/classification_head.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/document_heads.hpp"
#include "mmt/models/lilt/config.hpp"
#include "mmt/models/lilt/lilt_model.hpp"
#include "mmt/models/pretrained.hpp"
#include "mmt/models/span_logits.hpp"

namespace mmt::lilt {

// HF's base_model_prefix.
inline const std::string base_model_prefix = "lilt";

// No renamed tensors; older checkpoints carry the position_ids buffer.
inline io::name_table checkpoint_names() { return {{}, {"embeddings.position_ids"}}; }

// A LiLT checkpoint of any architecture: the body plus the head config.json names.
// Loaded once, then const: forward may be called from many threads at once.
struct pretrained_model final : document_heads<pretrained_model> {
    lilt::config config;
    lilt_model lilt;
    std::optional<layers::linear> classifier;              // token classification: [num_labels, hidden_size]
    std::optional<layers::classification_head> sequence_head;  // sequence classification ("classifier.")
    std::optional<layers::linear> qa_outputs;              // question answering: [2, hidden_size]

    static pretrained_model from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        return load_pretrained<pretrained_model, lilt::config>(dir, checkpoint_names(), options);
    }

    // Takes every tensor `c` needs from `loader`; one left over is an error. The body sits
    // under "lilt." in a head's checkpoint, at the root in a saved LiltModel.
    static pretrained_model load(const lilt::config& c, io::weight_loader& loader) {
        const io::weight_scope root = loader.root();
        const bool base = c.arch == lilt::architecture::model;
        const bool prefixed = !base || root.has(base_model_prefix + ".embeddings.word_embeddings.weight");
        pretrained_model m;
        m.config = c;
        m.lilt = lilt_model::load(prefixed ? root.child(base_model_prefix) : root, c, base);
        const std::size_t h = c.hidden_size;
        switch (c.arch) {
            case lilt::architecture::model: break;
            case lilt::architecture::token_classification: m.classifier = layers::linear::load_head(root.child("classifier"), h, c.num_labels()); break;
            case lilt::architecture::sequence_classification:
                m.sequence_head = layers::classification_head::load(root.child("classifier"), h, c.num_labels());
                break;
            case lilt::architecture::question_answering: m.qa_outputs = layers::linear::load_head(root.child("qa_outputs"), h, 2); break;
        }
        loader.check_all_used();
        return m;
    }

    const char* architecture_name() const { return lilt::architecture_name(config.arch); }

    // LiltModel: last_hidden_state and pooler_output.
    model_output base_forward(const model_inputs& in) const { return lilt.forward(in); }

    // LiltForTokenClassification: [batch, seq_len, num_labels]
    tensor<3> token_logits(const model_inputs& in) const {
        return require(classifier, lilt::architecture::token_classification).forward(lilt.forward(in).last_hidden_state);
    }

    // LiltForSequenceClassification, from the first token (<s>): [batch, num_labels]
    tensor<2> sequence_logits(const model_inputs& in) const {
        const auto& head = require(sequence_head, lilt::architecture::sequence_classification);
        const tensor<3> hidden = lilt.forward(in).last_hidden_state;
        return head.forward(tensor<2>(xt::view(hidden, xt::all(), 0, xt::all())));
    }

    // LiltForQuestionAnswering: start and end logits of every token.
    span_logits question_answering(const model_inputs& in) const {
        return split_span_logits(require(qa_outputs, lilt::architecture::question_answering).forward(lilt.forward(in).last_hidden_state));
    }

    // interfaces::document_input: RoBERTa's positions start after padding_idx.
    std::size_t max_tokens() const override {
        return config.max_position_embeddings - std::size_t(config.pad_token_id) - 1;
    }
};

}  // namespace mmt::lilt
