// The JSON shape of each pipeline's result, shared by the commands' --json output
// and the worker's result lines (worker.cpp), so the two never drift apart.
#pragma once

#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/pipelines/document_tagging.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "mmt/pipelines/zero_shot_image_classification.hpp"

namespace mmt::cli {

// tag-document: {"words": [{"index", "text", "box", "label", "score"}, ...]}
inline io::ordered_json tags_json(const std::vector<pipelines::word_label>& tags) {
    io::ordered_json words = io::ordered_json::array();
    for (const auto& t : tags) words.push_back({{"index", t.index}, {"text", t.text}, {"box", t.box}, {"label", t.label}, {"score", t.score}});
    return {{"words", words}};
}

// classify-document: {"label", "score", "function", "labels", "probabilities", ["threshold"]}
inline io::ordered_json document_label_json(const pipelines::document_label& result, float threshold) {
    using pipelines::score_function;
    const bool multi_label = result.function == score_function::sigmoid;
    io::ordered_json scores = io::ordered_json::object(), labels = io::ordered_json::array();
    for (const auto& c : result.probabilities) scores[c.label] = c.score;
    for (const auto& c : result.labels) labels.push_back(c.label);
    const char* function = result.function == score_function::softmax ? "softmax" : multi_label ? "sigmoid" : "none";
    io::ordered_json out{{"label", result.label}, {"score", result.score}, {"function", function}, {"labels", labels}, {"probabilities", scores}};
    if (multi_label) out["threshold"] = threshold;
    return out;
}

// transcribe: HF's {"text", ["chunks": [{"text", "timestamp": [start, end]}]]}
inline io::ordered_json transcription_json(const pipelines::transcription& result, bool timestamps) {
    io::ordered_json j{{"text", result.text}};
    if (timestamps) {
        j["chunks"] = io::ordered_json::array();
        for (const auto& c : result.chunks) j["chunks"].push_back({{"text", c.text}, {"timestamp", {c.start, c.end}}});
    }
    return j;
}

// classify-image: [{"label", "score"}, ...], best first
inline io::ordered_json label_scores_json(const std::vector<pipelines::label_score>& scores) {
    io::ordered_json out = io::ordered_json::array();
    for (const auto& s : scores) out.push_back({{"label", s.label}, {"score", s.score}});
    return out;
}

}  // namespace mmt::cli
