// A layout model with a sequence classification head
// (LayoutLMForSequenceClassification; LayoutLMv3 to come): one label distribution
// per document window.
#pragma once

#include "mmt/core/xtensor.hpp"
#include "mmt/models/interfaces/document_input.hpp"

namespace mmt::interfaces {

class document_sequence_classifier : public virtual document_input {
public:
    // -> logits [batch, num_labels]; input_error when the checkpoint has another head.
    virtual tensor<2> sequence_class_logits(const document_inputs& in) const = 0;
};

}  // namespace mmt::interfaces
