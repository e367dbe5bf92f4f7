// Numerically stable softmax over the last dimension.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>

#include "mmt/ops/vector_math.hpp"

namespace mmt::ops {

// One row of n values, in place.
inline void softmax_row(float* x, std::size_t n) {
    const float max = *std::max_element(x, x + n);
    for (std::size_t i = 0; i < n; ++i) x[i] -= max;
    exp_inplace(x, n);
    float sum = 0.0f;
    for (std::size_t i = 0; i < n; ++i) sum += x[i];
    const float inv = 1.0f / sum;
    for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}

// x: [rows, n], in place.
inline void softmax(float* x, std::size_t rows, std::size_t n) {
    for (std::size_t r = 0; r < rows; ++r) softmax_row(x + r * n, n);
}

}  // namespace mmt::ops
