// What a speech pipeline must know of a model that reads raw audio through a
// strided convolution stack (Wav2Vec2, HuBERT, WavLM, Data2VecAudio): how many
// samples make a frame, the shortest input, and whether padding is masked. The
// pipelines' chunking (pipelines/speech_audio.hpp) needs nothing else.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mmt::interfaces {

// Implementations are loaded once, then const: every method may be called from
// many threads at once.
class speech_input {
public:
    virtual ~speech_input() = default;

    // HF's class name of the loaded head (config.json `architectures`), for messages.
    virtual const char* architecture() const = 0;
    // Samples per output frame: HF's inputs_to_logits_ratio, the product of the conv strides.
    virtual std::int64_t inputs_to_logits_ratio() const = 0;
    // The fewest samples that make one frame (the conv stack's receptive field).
    virtual std::size_t min_input_length() const = 0;
    // The feature extractor's return_attention_mask default: true when padded samples are
    // masked, false when the model must only see unpadded audio (GroupNorm conv stacks).
    virtual bool takes_attention_mask() const = 0;
};

}  // namespace mmt::interfaces
