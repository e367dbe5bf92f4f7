// The answer spans of extractive question answering in one window, as HF's
// question-answering pipelines choose them (transformers/pipelines/
// question_answering.py: select_starts_ends, decode_spans):
//   - start and end logits of the tokens that are not context (the question, the
//     special tokens, padding) become -10000;
//   - each is softmaxed over the window, and the first token's (CLS) probability is
//     then set to 0;
//   - a span (s, e) scores start[s] * end[e] when s <= e < s + max_answer_len;
//   - the top_k best spans are taken first (of equal scores the lower start, then the
//     lower end), and only then are spans that start or end outside the context
//     dropped, so fewer than top_k may come back, as in HF. (HF ranks the spans
//     outside the length limit too, with score 0, and may return one when top_k
//     exceeds the spans that score above 0; those are never returned here.)
// The document question-answering pipeline maps the tokens back to words.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "mmt/core/error.hpp"

namespace mmt::pipelines {

struct answer_span {
    std::size_t start = 0;  // token positions in the window, start <= end
    std::size_t end = 0;
    float score = 0;        // start probability x end probability
};

namespace detail {
// HF's masked softmax of one window's logits: -10000 outside the context, the first token 0 after.
inline std::vector<double> span_probabilities(const float* logits, const std::vector<bool>& context) {
    std::vector<double> p(context.size());
    double top = -1e300;
    for (std::size_t i = 0; i < p.size(); ++i) top = std::max(top, p[i] = context[i] ? double(logits[i]) : -10000.0);
    double sum = 0;
    for (double& v : p) sum += v = std::exp(v - top);
    for (double& v : p) v /= sum;
    if (!p.empty()) p[0] = 0;
    return p;
}
}  // namespace detail

// start_logits, end_logits: [tokens]; context[i]: token i belongs to the context and is
// not padding. Best first.
inline std::vector<answer_span> best_answer_spans(const float* start_logits, const float* end_logits, const std::vector<bool>& context,
                                                  std::size_t top_k, std::size_t max_answer_len) {
    if (top_k == 0) fail<input_error>("question answering: top_k is 0, expected at least 1");
    if (max_answer_len == 0) fail<input_error>("question answering: max_answer_len is 0, expected at least 1");
    const std::vector<double> start = detail::span_probabilities(start_logits, context);
    const std::vector<double> end = detail::span_probabilities(end_logits, context);
    std::vector<answer_span> candidates;  // every span inside the length limit, its score as HF computes it
    for (std::size_t s = 0; s < start.size(); ++s)
        for (std::size_t e = s; e < end.size() && e < s + max_answer_len; ++e) candidates.push_back({s, e, float(start[s] * end[e])});
    const std::size_t k = std::min(top_k, candidates.size());
    std::partial_sort(candidates.begin(), candidates.begin() + std::ptrdiff_t(k), candidates.end(), [](const auto& a, const auto& b) {
        return a.score > b.score || (a.score == b.score && (a.start < b.start || (a.start == b.start && a.end < b.end)));
    });
    std::vector<answer_span> out;
    for (std::size_t i = 0; i < k; ++i)
        if (context[candidates[i].start] && context[candidates[i].end]) out.push_back(candidates[i]);
    return out;
}

}  // namespace mmt::pipelines
