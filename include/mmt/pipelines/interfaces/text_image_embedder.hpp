// Texts and images into one embedding space, with the model's own image-text
// score: what zero-shot image classification and image search need. CLIP
// (pipelines/clip_embedder.hpp) implements it; SigLIP and Chinese-CLIP are the
// same shape with their own tokenizer, image processor and score.
// pipelines/text_image_embedders.hpp loads the one a checkpoint's model_type names.
#pragma once

#include <string>
#include <vector>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/image.hpp"

namespace mmt::interfaces {

// Pipeline-level, unlike models/interfaces/: an implementation holds the model with its
// tokenizer and image processor. Loaded once, then const: every method may be called
// from many threads at once.
class text_image_embedder {
public:
    virtual ~text_image_embedder() = default;

    // [texts, embed_dim], unit rows (L2-normalised).
    virtual tensor<2> embed_texts(const std::vector<std::string>& texts) const = 0;
    // [images, embed_dim], unit rows.
    virtual tensor<2> embed_images(const std::vector<io::rgb_image>& images) const = 0;
    // embed_images in its two steps, so that a collection's images are preprocessed on
    // other threads while the model runs (pipelines/embed_collection.hpp).
    // One image -> pixel_values [3, height, width], as the model's image processor makes them.
    virtual tensor<3> preprocess_image(const io::rgb_image& image) const = 0;
    // pixel_values [images, 3, height, width] -> [images, embed_dim], unit rows.
    virtual tensor<2> embed_pixels(const tensor<4>& pixel_values) const = 0;
    // How well each text describes each image, as the model was trained to score it, from
    // unit embeddings: image_embeds [images, embed_dim], text_embeds [texts, embed_dim] ->
    // [images, texts]. CLIP: softmax over the texts of exp(logit_scale) * cosine (each row
    // sums to 1); SigLIP: sigmoid(exp(logit_scale) * cosine + logit_bias) per pair.
    virtual tensor<2> image_text_scores(const tensor<2>& image_embeds, const tensor<2>& text_embeds) const = 0;
};

}  // namespace mmt::interfaces
