// nn.LayerNorm over the last dimension (biased variance, eps inside the sqrt).
#pragma once

#include <cmath>
#include <cstddef>

#include "mmt/core/threading.hpp"

namespace mmt::ops {

// x, y: [rows, dim] (may alias); weight, bias: [dim]. The sums are taken in
// double (vectorised), so a row whose spread is tiny against its mean keeps
// its variance.
inline void layer_norm(const float* x, std::size_t rows, std::size_t dim, const float* weight, const float* bias, float eps,
                       float* y) {
    parallel_for(rows, row_grain(dim), [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
            const float* in = x + r * dim;
            float* out = y + r * dim;
            double sum = 0;
#pragma omp simd reduction(+ : sum)
            for (std::size_t i = 0; i < dim; ++i) sum += in[i];
            const double mean_d = sum / double(dim);
            double sq = 0;
#pragma omp simd reduction(+ : sq)
            for (std::size_t i = 0; i < dim; ++i) sq += (in[i] - mean_d) * (in[i] - mean_d);
            const float mean = float(mean_d);
            const float inv_std = float(1.0 / std::sqrt(sq / double(dim) + double(eps)));
#pragma omp simd
            for (std::size_t i = 0; i < dim; ++i) out[i] = (in[i] - mean) * inv_std * weight[i] + bias[i];
        }
    });
}

}  // namespace mmt::ops
