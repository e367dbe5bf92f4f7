// The steps every text-image embedder (clip_embedder, siglip_embedder,
// chinese_clip_embedder) shares around its own model: images preprocessed and
// embedded a group at a time, and the two ways models turn scaled similarities
// into scores (softmax over the texts, or a sigmoid per pair).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/image.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "mmt/ops/softmax.hpp"
#include "mmt/preprocess/image.hpp"

namespace mmt::pipelines {

// How many images go through one forward pass: bounds the activations' memory.
inline constexpr std::size_t images_per_forward = 8;

// images -> [images, dim] unit rows; `features(pixel_values [group, 3, H, W])` gives
// the model's unnormalised [group, dim] image features.
template <class Features>
tensor<2> embed_image_groups(const std::vector<io::rgb_image>& images, const preprocess::clip_image_processor& processor,
                             const Features& features, const char* who) {
    if (images.empty()) fail<input_error>(who, ": expected at least one image, got none");
    tensor<2> out;
    for (std::size_t first = 0; first < images.size(); first += images_per_forward) {
        const std::size_t last = std::min(images.size(), first + images_per_forward);
        const std::vector<io::rgb_image> group(std::next(images.begin(), std::ptrdiff_t(first)),
                                               std::next(images.begin(), std::ptrdiff_t(last)));
        const tensor<2> e = clip::l2_normalize(features(processor.preprocess(group)));  // [group, dim]
        if (first == 0) out = tensor<2>({images.size(), e.shape(1)});
        std::copy(e.begin(), e.end(), &out(first, 0));
    }
    return out;
}

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
