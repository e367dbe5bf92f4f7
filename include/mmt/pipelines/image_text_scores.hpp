// The two ways text-image models turn their scaled similarities into zero-shot
// scores: softmax over the texts (CLIP, Chinese-CLIP) or a sigmoid per pair (SigLIP).
#pragma once

#include <cmath>
#include <cstddef>

#include "mmt/core/xtensor.hpp"
#include "mmt/ops/softmax.hpp"

namespace mmt::pipelines {

// CLIP-like probabilities: each row of logits [images, texts] softmaxed over the texts.
inline tensor<2> softmax_over_texts(tensor<2> logits) {
    for (std::size_t i = 0; i < logits.shape(0); ++i) ops::softmax_row(&logits(i, 0), logits.shape(1));
    return logits;
}

// SigLIP-like probabilities: sigmoid of each logit on its own.
inline tensor<2> sigmoid_per_pair(tensor<2> logits) {
    for (float& x : logits) x = 1.0f / (1.0f + std::exp(-x));
    return logits;
}

}  // namespace mmt::pipelines
