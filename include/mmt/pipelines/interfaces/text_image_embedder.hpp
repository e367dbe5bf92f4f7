// Texts and images into one embedding space, with the model's own image-text
// score: what zero-shot image classification and image search need. CLIP
// (pipelines/clip_embedder.hpp) implements it; SigLIP and Chinese-CLIP are the
// same shape with their own tokenizer, image processor and score.
// pipelines/text_image_embedders.hpp loads the one a checkpoint's model_type names.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"

#include "mmt/core/xtensor.hpp"
#include "mmt/io/image.hpp"

namespace mmt::interfaces {

// Pipeline-level, unlike models/interfaces/: an implementation holds the model with its
// tokenizer and image processor. Loaded once, then const: every method may be called
// from many threads at once.
// [images, 3, height, width] from the images' [3, height, width]; input_error when the
// processor made them of different sizes.
inline tensor<4> stack_pixel_values(const std::vector<const tensor<3>*>& images) {
    const auto& first = *images.front();
    tensor<4> out = tensor<4>::from_shape({images.size(), first.shape(0), first.shape(1), first.shape(2)});
    for (std::size_t i = 0; i < images.size(); ++i) {
        if (images[i]->shape() != first.shape())
            fail<input_error>("embedding images: the image processor made ", images[i]->shape(1), "x", images[i]->shape(2),
                              " pixel values of one image and ", first.shape(1), "x", first.shape(2),
                              " of another; a batch needs one size (a processor that crops or resizes to a fixed size)");
        std::copy(images[i]->begin(), images[i]->end(), out.data() + i * first.size());
    }
    return out;
}

class text_image_embedder {
public:
    virtual ~text_image_embedder() = default;

    // How many images go through one forward pass in embed_images: bounds the activations' memory.
    static constexpr std::size_t images_per_forward = 8;

    // How many texts go through one forward pass in embed_many_texts.
    static constexpr std::size_t texts_per_forward = 64;

    // [texts, embed_dim], unit rows (L2-normalised), in one forward pass.
    virtual tensor<2> embed_texts(const std::vector<std::string>& texts) const = 0;

    // The same, texts_per_forward texts at a time: thousands of labels or queries in one
    // pass would hold activations of [texts, tokens, hidden_size] per layer. A text's
    // embedding does not depend on the others of its pass (padding is masked out), so
    // the rows are embed_texts' to the bit (tested).
    tensor<2> embed_many_texts(const std::vector<std::string>& texts) const {
        if (texts.size() <= texts_per_forward) return embed_texts(texts);
        tensor<2> out;
        for (std::size_t first = 0; first < texts.size(); first += texts_per_forward) {
            const std::vector<std::string> group(texts.begin() + first, texts.begin() + std::min(texts.size(), first + texts_per_forward));
            const tensor<2> e = embed_texts(group);  // [group, embed_dim]
            if (first == 0) out = tensor<2>({texts.size(), e.shape(1)});
            std::copy(e.begin(), e.end(), &out(first, 0));
        }
        return out;
    }
    // The two steps of embedding images, apart so that a collection's images are
    // preprocessed on other threads while the model runs (pipelines/embed_collection.hpp).
    // One image -> pixel_values [3, height, width], as the model's image processor makes them.
    virtual tensor<3> preprocess_image(const io::rgb_image& image) const = 0;
    // The limits to decode an image for preprocess_image with: an image it would refuse
    // (a resize past the pixel limit) is refused from its header, before decoding.
    virtual io::image_limits image_limits() const = 0;
    // pixel_values [images, 3, height, width] -> [images, embed_dim], unit rows.
    virtual tensor<2> embed_pixels(const tensor<4>& pixel_values) const = 0;
    // Both steps, images_per_forward images at a time. [images, embed_dim], unit rows.
    tensor<2> embed_images(const std::vector<io::rgb_image>& images) const {
        return embed_in_groups(images.size(), [&](std::size_t i) { return preprocess_image(images[i]); });
    }

    // The same from image files, each read and decoded only when its group goes through
    // the model: memory holds one decoded image and one group's pixel values, however
    // many files there are (a decoded photo is tens of MB, its pixel values 0.6 MB).
    // The groups are embed_images', so are the embeddings.
    tensor<2> embed_image_files(const std::vector<std::filesystem::path>& paths) const {
        return embed_in_groups(paths.size(), [&](std::size_t i) { return preprocess_image(io::read_image(paths[i], image_limits())); });
    }

    // How well each text describes each image, as the model was trained to score it, from
    // unit embeddings: image_embeds [images, embed_dim], text_embeds [texts, embed_dim] ->
    // [images, texts]. CLIP: softmax over the texts of exp(logit_scale) * cosine (each row
    // sums to 1); SigLIP: sigmoid(exp(logit_scale) * cosine + logit_bias) per pair.
    virtual tensor<2> image_text_scores(const tensor<2>& image_embeds, const tensor<2>& text_embeds) const = 0;

private:
    // `count` images, `pixel_values(i)` making image i's [3, height, width] when its
    // group of images_per_forward is embedded. [count, embed_dim], unit rows.
    tensor<2> embed_in_groups(std::size_t count, const std::function<tensor<3>(std::size_t)>& pixel_values) const {
        if (count == 0) fail<input_error>("embed_images: expected at least one image, got none");
        tensor<2> out;
        for (std::size_t first = 0; first < count; first += images_per_forward) {
            std::vector<tensor<3>> group;  // [3, height, width] each
            for (std::size_t i = first; i < std::min(count, first + images_per_forward); ++i) group.push_back(pixel_values(i));
            std::vector<const tensor<3>*> pixels;
            for (const auto& p : group) pixels.push_back(&p);
            const tensor<2> e = embed_pixels(stack_pixel_values(pixels));  // [group, embed_dim]
            if (first == 0) out = tensor<2>({count, e.shape(1)});
            std::copy(e.begin(), e.end(), &out(first, 0));
        }
        return out;
    }
};

}  // namespace mmt::interfaces
