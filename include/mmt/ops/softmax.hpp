// Numerically stable softmax over the last dimension.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "mmt/ops/vector_math.hpp"

namespace mmt::ops {

namespace detail {
// The maximum and the sum of a row over 16 lanes, so both vectorise (a single
// running value is a chain of dependent operations, one element per add latency).
constexpr std::size_t softmax_lanes = 16;

inline float row_max(const float* x, std::size_t n) {
    float lanes[softmax_lanes];
    std::fill(lanes, lanes + softmax_lanes, -std::numeric_limits<float>::infinity());
    std::size_t i = 0;
    for (; i + softmax_lanes <= n; i += softmax_lanes)
        for (std::size_t l = 0; l < softmax_lanes; ++l) lanes[l] = std::max(lanes[l], x[i + l]);
    for (; i < n; ++i) lanes[0] = std::max(lanes[0], x[i]);
    return *std::max_element(lanes, lanes + softmax_lanes);
}

inline float row_sum(const float* x, std::size_t n) {
    float lanes[softmax_lanes] = {};
    std::size_t i = 0;
    for (; i + softmax_lanes <= n; i += softmax_lanes)
        for (std::size_t l = 0; l < softmax_lanes; ++l) lanes[l] += x[i + l];
    for (; i < n; ++i) lanes[0] += x[i];
    float sum = 0.0f;
    for (float lane : lanes) sum += lane;
    return sum;
}
}  // namespace detail

// softmax(scale x) of one row of n values, in place; scale > 0 (attention folds
// its 1/sqrt(head_dim) in here rather than in a pass of its own).
inline void softmax_row(float* x, std::size_t n, float scale = 1.0f) {
    const float max = detail::row_max(x, n);
    exp_affine_inplace(x, n, scale, -scale * max);
    const float inv = 1.0f / detail::row_sum(x, n);
    for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}

// x: [rows, n], in place.
inline void softmax(float* x, std::size_t rows, std::size_t n) {
    for (std::size_t r = 0; r < rows; ++r) softmax_row(x + r * n, n);
}

}  // namespace mmt::ops
