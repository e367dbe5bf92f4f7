// HF's zero-shot-image-classification pipeline: each label put into a prompt,
// softmax over CLIP's scaled image-text similarities, best first.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/ops/softmax.hpp"
#include "mmt/pipelines/clip_embedder.hpp"

namespace mmt::pipelines {

struct label_score {
    std::string label;
    float score = 0;  // probability among the given labels
};

inline const std::string default_hypothesis_template = "a photo of a {}";

// "{}" in the template is replaced by the label.
inline std::string fill_template(const std::string& hypothesis_template, const std::string& label) {
    const auto at = hypothesis_template.find("{}");
    if (at == std::string::npos)
        fail<input_error>("zero-shot classification: template \"", hypothesis_template, "\" has no \"{}\" for the label");
    return hypothesis_template.substr(0, at) + label + hypothesis_template.substr(at + 2);
}

inline std::vector<label_score> classify_image(const clip_embedder& clip, const io::rgb_image& image,
                                               const std::vector<std::string>& labels,
                                               const std::string& hypothesis_template = default_hypothesis_template) {
    if (labels.empty()) fail<input_error>("zero-shot classification: expected at least one label, got none");
    if (clip.model().config.arch != clip::architecture::clip_model)
        fail<input_error>("zero-shot classification needs a CLIPModel checkpoint, this one is ",
                          clip::architecture_name(clip.model().config.arch));
    std::vector<std::string> prompts;
    for (const auto& label : labels) prompts.push_back(fill_template(hypothesis_template, label));
    tensor<2> logits = clip.model().similarity(clip.embed_images({image}), clip.embed_texts(prompts));  // [1, labels]
    ops::softmax_row(logits.data(), labels.size());
    std::vector<label_score> out;
    for (std::size_t i = 0; i < labels.size(); ++i) out.push_back({labels[i], logits(0, i)});
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
    return out;
}

}  // namespace mmt::pipelines
