// What the question-answering heads return (HF's QuestionAnsweringModelOutput):
// a start and an end logit per token, split from the head's two outputs.
#pragma once

#include <cstddef>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"

namespace mmt {

struct span_logits {
    tensor<2> start_logits;  // [batch, seq_len]
    tensor<2> end_logits;    // [batch, seq_len]
};

// HF's `start_logits, end_logits = logits.split(1, dim=-1)`: logits [batch, seq_len, 2].
inline span_logits split_span_logits(const tensor<3>& logits) {
    if (logits.shape(2) != 2)
        fail<shape_error>("question answering: the head gives ", logits.shape(2), " outputs per token, expected 2 (start, end)");
    span_logits out{tensor<2>({logits.shape(0), logits.shape(1)}), tensor<2>({logits.shape(0), logits.shape(1)})};
    for (std::size_t b = 0; b < logits.shape(0); ++b)
        for (std::size_t s = 0; s < logits.shape(1); ++s) out.start_logits(b, s) = logits(b, s, 0), out.end_logits(b, s) = logits(b, s, 1);
    return out;
}

}  // namespace mmt
