// A layout model with a token classification head (LayoutLMForTokenClassification;
// LayoutLMv3 and LiLT to come): a label distribution per token, what
// pipelines/document_tagging.hpp turns into a label per word.
#pragma once

#include "mmt/core/xtensor.hpp"
#include "mmt/models/interfaces/document_input.hpp"

namespace mmt::interfaces {

class document_token_tagger : public virtual document_input {
public:
    // -> logits [batch, seq_len, num_labels]; input_error when the checkpoint has another head.
    virtual tensor<3> token_class_logits(const document_inputs& in) const = 0;
};

}  // namespace mmt::interfaces
