// torch.nn.utils.weight_norm: w = g * v / ||v||, the norm taken over every
// dimension except `dim`, one norm (and one g) per index along `dim`.
// Wav2Vec2's positional conv uses dim = 2, the kernel taps of a Conv1d weight.
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

#include "mmt/core/error.hpp"

namespace mmt::ops {

// v, w: contiguous of `shape` (may alias); g: [shape[dim]] (PyTorch stores it with
// size-1 dimensions elsewhere, same values). As PyTorch, v * (g / norm) in float32;
// the norm's sum of squares is accumulated in double.
inline void weight_norm(const float* v, const float* g, const std::vector<std::size_t>& shape, std::size_t dim, float* w) {
    if (dim >= shape.size())
        fail<shape_error>("weight_norm: dim ", dim, " is outside a weight of rank ", shape.size());
    std::size_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < dim; ++d) outer *= shape[d];
    for (std::size_t d = dim + 1; d < shape.size(); ++d) inner *= shape[d];
    const std::size_t n = shape[dim];
    std::vector<double> sq(n, 0.0);
    for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t i = 0; i < inner; ++i) {
                const double x = v[(o * n + k) * inner + i];
                sq[k] += x * x;
            }
    std::vector<float> scale(n);
    for (std::size_t k = 0; k < n; ++k) scale[k] = g[k] / static_cast<float>(std::sqrt(sq[k]));
    for (std::size_t o = 0; o < outer; ++o)
        for (std::size_t k = 0; k < n; ++k)
            for (std::size_t i = 0; i < inner; ++i) w[(o * n + k) * inner + i] = v[(o * n + k) * inner + i] * scale[k];
}

}  // namespace mmt::ops
