// A speech model with an utterance-level classification head
// (Wav2Vec2ForSequenceClassification, HubertForSequenceClassification, ...:
// mean-pooled projector then classifier): one label per clip, e.g. keyword
// spotting or emotion, what pipelines/audio_classification.hpp runs.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "mmt/core/xtensor.hpp"
#include "mmt/models/interfaces/speech_input.hpp"

namespace mmt::interfaces {

class audio_sequence_classifier : public virtual speech_input {
public:
    // The family's classification head (e.g. "HubertForSequenceClassification"), to say what a
    // checkpoint without it lacks.
    virtual const char* classification_architecture() const = 0;
    // False for a checkpoint of the family without the head: sequence_logits then throws.
    virtual bool has_classification_head() const = 0;
    // config.json's id2label: the classifier's k-th output is label id k.
    virtual const std::map<std::int64_t, std::string>& id2label() const = 0;
    // input_values: [batch, samples], normalised; attention_mask: [batch, samples] of 0 / 1, or
    // empty -> logits [batch, num_labels].
    virtual tensor<2> sequence_logits(const tensor<2>& input_values, const int_tensor<2>& attention_mask) const = 0;
};

}  // namespace mmt::interfaces
