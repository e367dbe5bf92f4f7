// Wav2Vec2ForCTC's head: lm_head, a linear map from the last hidden state to
// per-frame vocabulary logits (the dropout before it is the identity at inference).
#pragma once

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/wav2vec2/config.hpp"

namespace mmt::wav2vec2 {

struct ctc_head {
    layers::linear lm_head;  // [vocab_size, hidden_size]

    // `root` is the checkpoint's root scope (lm_head sits beside "wav2vec2.").
    static ctc_head load(const io::weight_scope& root, const config& c) {
        return {layers::linear::load_head(root.child("lm_head"), c.hidden_size, c.vocab_size)};
    }

    // last_hidden_state [batch, frames, hidden_size] -> logits [batch, frames, vocab_size]
    tensor<3> forward(const tensor<3>& last_hidden_state) const { return lm_head.forward(last_hidden_state); }
};

}  // namespace mmt::wav2vec2
