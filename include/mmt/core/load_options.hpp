// How a model's weights are held once loaded. Every layer and op that packs
// weights reads it, so it sits in core: ops need not include io to know it.
#pragma once

namespace mmt {

// float32 is exact (parity); bf16 rounds the linear layers' weights to bfloat16
// and runs them with float32 accumulation; int8 quantises them per output channel
// and their inputs per row at run time.
enum class precision { f32, bf16, int8 };

struct load_options {
    // The encoders' nn.Linear layers (attention projections, MLPs, feature projection)
    // and wav2vec2's feature-encoder convolutions, which are GEMMs over im2col rows.
    // Output heads stay float32 under every option (layers::linear::load_head), and
    // so does the grouped positional convolution.
    precision linear = precision::f32;
};

}  // namespace mmt
