// What the wav2vec2-like heads return (HF's Wav2Vec2BaseModelOutput, CausalLMOutput,
// SequenceClassifierOutput, Wav2Vec2ForPreTrainingOutput plus the quantizer's choices).
#pragma once

#include "mmt/core/xtensor.hpp"

namespace mmt::wav2vec2 {

struct base_output {
    tensor<3> last_hidden_state;  // [batch, frames, hidden_size]
    tensor<3> extract_features;   // [batch, frames, conv_dim[-1]]: the feature projection's LayerNorm output; empty for HuBERT
};

struct ctc_output {
    tensor<3> logits;  // [batch, frames, vocab_size]
    base_output wav2vec2;
};

struct sequence_classification_output {
    tensor<2> logits;  // [batch, num_labels]
    base_output wav2vec2;
};

struct pretraining_output {
    tensor<3> projected_states;            // [batch, frames, proj_codevector_dim]: project_hid(last_hidden_state)
    tensor<3> projected_quantized_states;  // [batch, frames, proj_codevector_dim]: project_q(quantized_features)
    float codevector_perplexity = 0.0f;
    tensor<3> quantized_features;      // [batch, frames, codevector_dim]
    int_tensor<3> codevector_indices;  // [batch, frames, num_codevector_groups]
    base_output wav2vec2;
};

}  // namespace mmt::wav2vec2
