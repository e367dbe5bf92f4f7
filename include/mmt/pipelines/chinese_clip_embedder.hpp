// A Chinese-CLIP checkpoint with its tokenizer and image processor, as a hub
// download has them (config.json, model.safetensors, vocab.txt,
// preprocessor_config.json): texts and images in, L2-normalised embeddings out,
// and CLIP's softmax scores. Texts are padded to the longest of the batch, as HF's
// zero-shot pipeline does for every model but SigLIP; the attention mask makes the
// padding invisible.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "mmt/core/batch.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/image.hpp"
#include "mmt/models/chinese_clip/chinese_clip_model.hpp"
#include "mmt/models/chinese_clip/family.hpp"
#include "mmt/pipelines/image_text_scores.hpp"
#include "mmt/pipelines/interfaces/text_image_embedder.hpp"
#include "mmt/preprocess/image.hpp"
#include "mmt/tokenizers/wordpiece.hpp"

namespace mmt::pipelines {

// A batch of texts as BERT takes it.
struct bert_text_batch {
    int_tensor<2> input_ids;       // [batch, seq_len]
    int_tensor<2> attention_mask;  // [batch, seq_len]
    int_tensor<2> token_type_ids;  // [batch, seq_len]
};

class chinese_clip_embedder final : public interfaces::text_image_embedder {
public:
    // The config.json model_types it loads (pipelines/text_image_embedders.hpp): Chinese-CLIP's.
    static constexpr auto model_types = chinese_clip::family::model_types;

    static chinese_clip_embedder from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        return {chinese_clip::chinese_clip_model::from_pretrained(dir, options), tokenizers::wordpiece_tokenizer::from_directory(dir),
                preprocess::clip_image_processor::from_pretrained(dir)};
    }

    chinese_clip_embedder(chinese_clip::chinese_clip_model model, tokenizers::wordpiece_tokenizer tokenizer,
                          preprocess::clip_image_processor processor)
        : model_(std::move(model)), tokenizer_(std::move(tokenizer)), processor_(std::move(processor)) {}

    const chinese_clip::chinese_clip_model& model() const { return model_; }
    const tokenizers::wordpiece_tokenizer& tokenizer() const { return tokenizer_; }
    const preprocess::clip_image_processor& processor() const { return processor_; }

    // The length texts are truncated to: the tokenizer's model_max_length, bounded by
    // the text tower's position table.
    std::size_t max_length() const {
        return std::min(tokenizer_.model_max_length(), model_.config.text.max_position_embeddings);
    }

    // Each text truncated to max_length, the batch padded to its longest ([PAD], mask 0).
    bert_text_batch tokenize(const std::vector<std::string>& texts) const {
        if (texts.empty()) fail<input_error>("chinese_clip_embedder: expected at least one text, got none");
        std::vector<tokenizers::encoding> encodings;
        std::size_t longest = 0;
        for (const auto& text : texts) {
            encodings.push_back(tokenizer_.encode(text, max_length(), false));
            longest = std::max(longest, encodings.back().input_ids.size());
        }
        std::vector<std::vector<std::int64_t>> ids, mask, types;
        for (auto& e : encodings) {
            e.input_ids.resize(longest, tokenizer_.pad_token_id());
            e.attention_mask.resize(longest, 0);
            e.token_type_ids.resize(longest, 0);
            ids.push_back(std::move(e.input_ids));
            mask.push_back(std::move(e.attention_mask));
            types.push_back(std::move(e.token_type_ids));
        }
        return {stack_rows(ids, "input_ids"), stack_rows(mask, "attention_mask"), stack_rows(types, "token_type_ids")};
    }

    // [texts, projection_dim], unit rows.
    tensor<2> embed_texts(const std::vector<std::string>& texts) const override {
        const bert_text_batch batch = tokenize(texts);
        return clip::l2_normalize(model_.get_text_features(batch.input_ids, batch.attention_mask, batch.token_type_ids));
    }

    tensor<3> preprocess_image(const io::rgb_image& image) const override { return processor_.preprocess(image); }
    io::image_limits image_limits() const override { return processor_.image_limits(); }

    tensor<2> embed_pixels(const tensor<4>& pixel_values) const override {
        return clip::l2_normalize(model_.get_image_features(pixel_values));
    }

    // ChineseCLIPModel's zero-shot probabilities: softmax over the texts of exp(logit_scale) * cosine. [images, texts]
    tensor<2> image_text_scores(const tensor<2>& image_embeds, const tensor<2>& text_embeds) const override {
        return softmax_over_texts(model_.similarity(image_embeds, text_embeds));
    }

private:
    chinese_clip::chinese_clip_model model_;
    tokenizers::wordpiece_tokenizer tokenizer_;
    preprocess::clip_image_processor processor_;
};

}  // namespace mmt::pipelines
