// How a model is loaded: how its weights are held (every layer and op that packs
// weights reads it, so it sits in core: ops need not include io to know it), and
// which language adapter an MMS speech checkpoint takes.
#pragma once

#include <string>
#include <utility>

namespace mmt {

// float32 is exact (parity); bf16 rounds the linear layers' weights to bfloat16
// and runs them with float32 accumulation; int8 quantises them per output channel
// and their inputs per row at run time.
enum class precision { f32, bf16, int8 };

// As `--precision` spells it.
inline const char* precision_name(precision p) {
    switch (p) {
        case precision::bf16: return "bf16";
        case precision::int8: return "int8";
        case precision::f32: break;
    }
    return "f32";
}

struct load_options {
    // load_options{precision::bf16} and the like, as an aggregate would take them.
    load_options(precision linear = precision::f32, std::string target_lang = {})
        : linear(linear), target_lang(std::move(target_lang)) {}

    // The encoders' nn.Linear layers (attention projections, MLPs, feature projection)
    // and wav2vec2's feature-encoder convolutions, which are GEMMs over im2col rows.
    // Output heads stay float32 under every option (layers::linear::load_head), and
    // so does the grouped positional convolution.
    precision linear;
    // MMS speech checkpoints: the language whose adapter.<lang>.safetensors replaces the
    // adapters and the CTC head after loading (HF's load_adapter); empty keeps the checkpoint's own.
    std::string target_lang;
};

}  // namespace mmt
