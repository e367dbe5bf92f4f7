// A CLIP checkpoint with its tokenizer and image processor, as a hub download
// has them (config.json, model.safetensors, vocab.json, merges.txt,
// preprocessor_config.json): texts and images in, L2-normalised embeddings out;
// the zero-shot and search pipelines take it as an interfaces::text_image_embedder.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "mmt/core/batch.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/image.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "mmt/models/clip/family.hpp"
#include "mmt/pipelines/image_text_scores.hpp"
#include "mmt/pipelines/interfaces/text_image_embedder.hpp"
#include "mmt/preprocess/image.hpp"
#include "mmt/tokenizers/clip_bpe.hpp"

namespace mmt::pipelines {

struct text_batch {
    int_tensor<2> input_ids;       // [batch, seq_len]
    int_tensor<2> attention_mask;  // [batch, seq_len]
};

class clip_embedder final : public interfaces::text_image_embedder {
public:
    // The config.json model_types it loads (pipelines/text_image_embedders.hpp): CLIP's.
    static constexpr auto model_types = clip::family::model_types;

    static clip_embedder from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        return {clip::clip_model::from_pretrained(dir, options), tokenizers::clip_bpe_tokenizer::from_directory(dir),
                preprocess::clip_image_processor::from_pretrained(dir)};
    }

    clip_embedder(clip::clip_model model, tokenizers::clip_bpe_tokenizer tokenizer, preprocess::clip_image_processor processor)
        : model_(std::move(model)), tokenizer_(std::move(tokenizer)), processor_(std::move(processor)) {}

    const clip::clip_model& model() const { return model_; }
    const tokenizers::clip_bpe_tokenizer& tokenizer() const { return tokenizer_; }
    const preprocess::clip_image_processor& processor() const { return processor_; }

    // The sequence length texts are padded and truncated to: the tokenizer's
    // model_max_length, bounded by the text tower's position table.
    std::size_t max_length() const {
        const std::size_t positions = model_.text_model ? model_.config.text.max_position_embeddings : tokenizer_.model_max_length();
        return std::min(tokenizer_.model_max_length(), positions);
    }

    text_batch tokenize(const std::vector<std::string>& texts) const {
        if (texts.empty()) fail<input_error>("clip_embedder: expected at least one text, got none");
        std::vector<std::vector<std::int64_t>> ids, mask;
        for (const auto& text : texts) {
            auto e = tokenizer_.encode(text, max_length(), true);
            ids.push_back(std::move(e.input_ids));
            mask.push_back(std::move(e.attention_mask));
        }
        return {stack_rows(ids, "input_ids"), stack_rows(mask, "attention_mask")};
    }

    // [texts, projection_dim], unit rows.
    tensor<2> embed_texts(const std::vector<std::string>& texts) const override {
        const text_batch batch = tokenize(texts);
        return clip::l2_normalize(model_.get_text_features(batch.input_ids, batch.attention_mask));
    }

    tensor<3> preprocess_image(const io::rgb_image& image) const override { return processor_.preprocess(image); }
    io::image_limits image_limits() const override { return processor_.image_limits(); }

    tensor<2> embed_pixels(const tensor<4>& pixel_values) const override {
        return clip::l2_normalize(model_.get_image_features(pixel_values));
    }

    // CLIPModel's zero-shot probabilities: softmax over the texts of its scaled cosine
    // similarities. [images, texts]
    tensor<2> image_text_scores(const tensor<2>& image_embeds, const tensor<2>& text_embeds) const override {
        if (model_.config.arch != clip::architecture::clip_model)
            fail<input_error>("image-text scores need a CLIPModel checkpoint (its logit_scale), this one is ",
                              clip::architecture_name(model_.config.arch));
        return softmax_over_texts(model_.similarity(image_embeds, text_embeds));
    }

private:
    clip::clip_model model_;
    tokenizers::clip_bpe_tokenizer tokenizer_;
    preprocess::clip_image_processor processor_;
};

}  // namespace mmt::pipelines
