// A SigLIP checkpoint with its tokenizer and image processor, as a hub download
// has them (config.json, model.safetensors, spiece.model, preprocessor_config.json):
// texts and images in, L2-normalised embeddings out, and SigLIP's sigmoid scores.
// As HF's zero-shot pipeline does for SigLIP, texts are padded to max_length (64):
// the text tower pools its last position, so the padding is part of the input.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "mmt/core/batch.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/image.hpp"
#include "mmt/models/siglip/family.hpp"
#include "mmt/models/siglip/siglip_model.hpp"
#include "mmt/pipelines/image_text_scores.hpp"
#include "mmt/pipelines/interfaces/text_image_embedder.hpp"
#include "mmt/preprocess/image.hpp"
#include "mmt/tokenizers/siglip_tokenizer.hpp"

namespace mmt::pipelines {

class siglip_embedder final : public interfaces::text_image_embedder {
public:
    // The config.json model_types it loads (pipelines/text_image_embedders.hpp): SigLIP's.
    static constexpr auto model_types = siglip::family::model_types;

    static siglip_embedder from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        return {siglip::siglip_model::from_pretrained(dir, options), tokenizers::siglip_tokenizer::from_pretrained(dir),
                preprocess::clip_image_processor::from_pretrained(dir)};
    }

    siglip_embedder(siglip::siglip_model model, tokenizers::siglip_tokenizer tokenizer, preprocess::clip_image_processor processor)
        : model_(std::move(model)), tokenizer_(std::move(tokenizer)), processor_(std::move(processor)) {}

    const siglip::siglip_model& model() const { return model_; }
    const tokenizers::siglip_tokenizer& tokenizer() const { return tokenizer_; }
    const preprocess::clip_image_processor& processor() const { return processor_; }

    // The length texts are padded and truncated to: the tokenizer's model_max_length,
    // bounded by the text tower's position table.
    std::size_t max_length() const {
        const std::size_t length = tokenizer_.model_max_length();
        return model_.text_model ? std::min(length, model_.config.text.max_position_embeddings) : length;
    }

    // input_ids [texts, max_length]; SigLIP takes no attention_mask.
    int_tensor<2> tokenize(const std::vector<std::string>& texts) const {
        if (texts.empty()) fail<input_error>("siglip_embedder: expected at least one text, got none");
        return stack_rows(tokenizer_.encode_batch(texts, max_length()), "input_ids");
    }

    // [texts, hidden_size], unit rows.
    tensor<2> embed_texts(const std::vector<std::string>& texts) const override {
        return clip::l2_normalize(model_.text_forward(tokenize(texts), {}).pooler_output);
    }

    tensor<3> preprocess_image(const io::rgb_image& image) const override { return processor_.preprocess(image); }
    io::image_limits image_limits() const override { return processor_.image_limits(); }

    tensor<2> embed_pixels(const tensor<4>& pixel_values) const override {
        return clip::l2_normalize(model_.vision_forward(pixel_values).pooler_output);
    }

    // SiglipModel's zero-shot probabilities: sigmoid(exp(logit_scale) * cosine + logit_bias)
    // of each image-text pair on its own. [images, texts]
    tensor<2> image_text_scores(const tensor<2>& image_embeds, const tensor<2>& text_embeds) const override {
        if (model_.config.arch != siglip::architecture::model)
            fail<input_error>("image-text scores need a SiglipModel checkpoint (its logit_scale and logit_bias), this one is ",
                              siglip::architecture_name(model_.config.arch));
        return sigmoid_per_pair(model_.similarity(image_embeds, text_embeds));
    }

private:
    siglip::siglip_model model_;
    tokenizers::siglip_tokenizer tokenizer_;
    preprocess::clip_image_processor processor_;
};

}  // namespace mmt::pipelines
