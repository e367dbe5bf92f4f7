// A speech model with a CTC head (Wav2Vec2ForCTC, HubertForCTC, WavLMForCTC,
// Data2VecAudioForCTC): per-frame vocabulary logits from raw audio,
// what pipelines/transcription.hpp decodes.
#pragma once

#include "mmt/core/xtensor.hpp"
#include "mmt/models/interfaces/speech_input.hpp"

namespace mmt::interfaces {

class ctc_speech_encoder : public virtual speech_input {
public:
    // The family's CTC head (e.g. "Wav2Vec2ForCTC"), to say what a checkpoint without it lacks.
    virtual const char* ctc_architecture() const = 0;
    // False for a checkpoint of the family without the CTC head: ctc_logits then throws.
    virtual bool has_ctc_head() const = 0;
    // input_values: [batch, samples], normalised; attention_mask: [batch, samples] of 0 / 1, or
    // empty -> logits [batch, frames, vocab_size].
    virtual tensor<3> ctc_logits(const tensor<2>& input_values, const int_tensor<2>& attention_mask) const = 0;
};

}  // namespace mmt::interfaces
