// What a document pipeline gives a layout model and must know of it: tokens with
// their boxes on the 0..1000 grid (and the page image for the models that read one,
// LayoutLMv3 and LiLT's successors), the sequence length the model takes, and its
// labels. The heads that read it are document_token_tagger and
// document_sequence_classifier.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "mmt/core/xtensor.hpp"

namespace mmt::interfaces {

// A batch as layout models take it; an empty tensor means HF's default for that argument
// (bbox all zeros, attention_mask all ones, token_type_ids all zeros, no page image).
struct document_inputs {
    int_tensor<2> input_ids;       // [batch, seq_len]
    int_tensor<3> bbox;            // [batch, seq_len, 4]: x0, y0, x1, y1 on the 0..1000 grid
    int_tensor<2> attention_mask;  // [batch, seq_len]: 1 for tokens, 0 for padding
    int_tensor<2> token_type_ids;  // [batch, seq_len]
    tensor<4> pixel_values{};      // [batch, num_channels, height, width]: the page, for models that read it
};

// Implementations are loaded once, then const: every method may be called from many
// threads at once.
class document_input {
public:
    virtual ~document_input() = default;

    // HF's class name of the loaded head (config.json `architectures`), for messages.
    virtual const char* architecture() const = 0;
    // The longest token sequence the model takes (max_position_embeddings).
    virtual std::size_t max_tokens() const = 0;
    // Rows of the word embeddings: the tokenizer's ids must stay below it.
    virtual std::size_t vocab_size() const = 0;
    // Outputs of the classification head: its k-th output is label id k.
    virtual std::size_t num_labels() const = 0;
    // id2label[id], or a config_error naming `what` when the id has no entry.
    virtual const std::string& label_of(std::int64_t id, const std::string& what) const = 0;
    // config.json's problem_type ("" when unset): multi_label_classification makes the
    // classification pipeline score each label on its own.
    virtual const std::string& problem_type() const = 0;
};

}  // namespace mmt::interfaces
