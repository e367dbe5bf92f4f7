// A layout model with an extractive question-answering head
// (LayoutLMForQuestionAnswering, LayoutLMv3ForQuestionAnswering,
// LiltForQuestionAnswering): a start and an end logit per token, what
// pipelines/document_tagging.hpp turns into answer spans over the document's words.
#pragma once

#include "mmt/models/interfaces/document_input.hpp"
#include "mmt/models/span_logits.hpp"

namespace mmt::interfaces {

class document_question_answerer : public virtual document_input {
public:
    // -> start and end logits [batch, n] with n >= seq_len: the first seq_len are the
    // text tokens (LayoutLMv3 appends its visual tokens after them); input_error when
    // the checkpoint has another head.
    virtual span_logits question_answering_logits(const document_inputs& in) const = 0;
};

}  // namespace mmt::interfaces
