// Whether a model's outputs are numbers. A checkpoint whose weights hold NaN runs
// like any other and gives NaN embeddings, scores and logits, which rank, argmax
// and print as if they meant something (HF returns them without a word). The
// library does not check every output, which would cost a pass over it for the
// rare damaged checkpoint; these checks are for the caller that reports results,
// as the mmt tool does.
#pragma once

#include <cmath>
#include <cstddef>
#include <iterator>
#include <optional>
#include <string>

#include "mmt/core/error.hpp"

namespace mmt {

// NaN, inf or -inf as a message names it (printf gives "-nan" for a NaN with its sign bit set).
inline const char* non_finite_name(float value) { return std::isnan(value) ? "NaN" : value > 0 ? "inf" : "-inf"; }

// What the messages say a non-finite output means.
inline constexpr const char* non_finite_cause =
    "; expected finite numbers (the model's weights hold NaN or infinity, or its activations overflowed float32)";

// The position of the first NaN or infinity among n floats, if any.
inline std::optional<std::size_t> first_non_finite(const float* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(data[i])) return i;
    return std::nullopt;
}

// numeric_error naming `what` (e.g. "embed: image_embeds"), the flat position
// and the value when one of the n floats is NaN or infinite.
inline void check_finite(const float* data, std::size_t n, const std::string& what) {
    if (const auto at = first_non_finite(data, n))
        fail<numeric_error>(what, ": value ", *at, " of ", n, " is ", non_finite_name(data[*at]), non_finite_cause);
}

// The same over a contiguous tensor (xtensor, a std::vector<float>).
template <class Contiguous>
void check_finite(const Contiguous& values, const std::string& what) {
    check_finite(values.data(), values.size(), what);
}

// The same over the `score` of each result (labels with scores, tagged words,
// answers): what a pipeline made of the logits, checked where they are printed.
template <class Results>
void check_finite_scores(const Results& results, const std::string& what) {
    std::size_t i = 0;
    for (const auto& r : results) {
        const float score = r.score;
        if (!std::isfinite(score))
            fail<numeric_error>(what, ": the score of result ", i, " of ", std::size(results), " is ", non_finite_name(score), non_finite_cause);
        ++i;
    }
}

}  // namespace mmt
