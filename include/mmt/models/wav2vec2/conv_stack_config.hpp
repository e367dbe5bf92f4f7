// What Wav2Vec2FeatureEncoder (feature_encoder.hpp) is built from, and nothing of
// the transformer after it, with the frame arithmetic that follows from it. The
// same block serves HuBERT, WavLM and Data2VecAudio, whose configs fill it alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "mmt/ops/activations.hpp"

namespace mmt::wav2vec2 {

// The feature encoder's two layouts: GroupNorm on the first conv only (wav2vec2-base)
// or LayerNorm over channels after every conv (large-lv60).
enum class conv_norm { group, layer };

struct conv_stack_config {
    std::vector<std::size_t> conv_dim;     // output channels per layer
    std::vector<std::size_t> conv_kernel;  // per layer
    std::vector<std::size_t> conv_stride;  // per layer
    bool conv_bias = false;
    conv_norm norm = conv_norm::group;  // feat_extract_norm
    ops::activation activation = ops::activation::gelu;
    // nn.GroupNorm / nn.LayerNorm as the conv layers build them: PyTorch's default eps, not the config's.
    float norm_eps = 1e-5f;

    // HF's inputs_to_logits_ratio: samples per output frame, the product of the strides.
    std::int64_t inputs_to_logits_ratio() const {
        std::int64_t ratio = 1;
        for (auto s : conv_stride) ratio *= static_cast<std::int64_t>(s);
        return ratio;
    }

    // _get_feat_extract_output_lengths: floor((length - kernel) / stride) + 1 per conv
    // layer, with Python's floor division, so a too-short input gives 0 or less.
    std::int64_t output_length(std::int64_t length) const {
        for (std::size_t i = 0; i < conv_kernel.size(); ++i) {
            const std::int64_t num = length - static_cast<std::int64_t>(conv_kernel[i]);
            const auto stride = static_cast<std::int64_t>(conv_stride[i]);
            length = (num >= 0 ? num / stride : -((-num + stride - 1) / stride)) + 1;
        }
        return length;
    }

    // The fewest samples that give one frame (the receptive field: 400 for wav2vec2-base).
    std::size_t min_input_length() const {
        std::size_t length = 1;
        for (std::size_t i = conv_kernel.size(); i-- > 0;) length = (length - 1) * conv_stride[i] + conv_kernel[i];
        return length;
    }
};

}  // namespace mmt::wav2vec2
