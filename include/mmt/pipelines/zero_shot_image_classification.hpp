// HF's zero-shot-image-classification pipeline: each label put into a prompt
// (HF's default template unless told otherwise), scored against the image by the
// model's own image-text score (CLIP and Chinese-CLIP: softmax over the labels of
// the scaled similarities; SigLIP: a sigmoid per label, with the prompts padded
// to 64 tokens), best first. Any interfaces::text_image_embedder.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/image.hpp"
#include "mmt/pipelines/interfaces/text_image_embedder.hpp"

namespace mmt::pipelines {

struct label_score {
    std::string label;
    float score = 0;  // the model's score: for CLIP the probability among the given labels
};

// ZeroShotImageClassificationPipeline's hypothesis_template.
inline const std::string default_hypothesis_template = "This is a photo of {}.";

// "{}" in the template is replaced by the label.
inline std::string fill_template(const std::string& hypothesis_template, const std::string& label) {
    const auto at = hypothesis_template.find("{}");
    if (at == std::string::npos)
        fail<input_error>("zero-shot classification: template \"", hypothesis_template, "\" has no \"{}\" for the label");
    return hypothesis_template.substr(0, at) + label + hypothesis_template.substr(at + 2);
}

inline std::vector<label_score> classify_image(const interfaces::text_image_embedder& embedder, const io::rgb_image& image,
                                               const std::vector<std::string>& labels,
                                               const std::string& hypothesis_template = default_hypothesis_template) {
    if (labels.empty()) fail<input_error>("zero-shot classification: expected at least one label, got none");
    std::vector<std::string> prompts;
    for (const auto& label : labels) prompts.push_back(fill_template(hypothesis_template, label));
    const tensor<2> text_embeds = embedder.embed_many_texts(prompts);  // [labels, embed_dim], a bounded batch at a time
    const tensor<2> scores = embedder.image_text_scores(embedder.embed_images({image}), text_embeds);  // [1, labels]
    std::vector<label_score> out;
    for (std::size_t i = 0; i < labels.size(); ++i) out.push_back({labels[i], scores(0, i)});
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
    return out;
}

}  // namespace mmt::pipelines
