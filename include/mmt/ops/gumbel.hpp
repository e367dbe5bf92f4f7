// torch.nn.functional.gumbel_softmax over the last dimension, with the random
// generator passed in: no global state, so concurrent calls with their own
// generators are safe and a seed reproduces the draws exactly.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"

namespace mmt::ops {

// One Gumbel(0, 1) draw as torch makes it: -log(E) with E ~ Exponential(1) =
// -log(U). U takes the generator's top 53 bits plus half a step, so it lies in
// (0, 1) open and both logarithms stay finite.
inline float sample_gumbel(std::mt19937_64& rng) {
    double u = (static_cast<double>(rng() >> 11) + 0.5) * 0x1p-53;
    return static_cast<float>(-std::log(-std::log(u)));
}

// y = softmax((logits + g) / tau) per row with fresh Gumbel noise g drawn in
// row-major order; with `hard`, the one-hot of each row's argmax instead (exactly
// 0 and 1: the forward value of torch's straight-through y_hard - y_soft + y_soft).
// logits and out are [rows, classes], contiguous; out may alias logits.
inline void gumbel_softmax(const float* logits, std::size_t rows, std::size_t classes, float tau, bool hard,
                           std::mt19937_64& rng, float* out) {
    if (!(tau > 0.0f) || !std::isfinite(tau))
        fail<input_error>("gumbel_softmax: tau must be a positive finite temperature, got ", tau);
    if (classes == 0) fail<shape_error>("gumbel_softmax: logits [", rows, ", 0] have no classes; expected >= 1");
    for (std::size_t r = 0; r < rows; ++r) {
        const float* x = logits + r * classes;
        float* y = out + r * classes;
        for (std::size_t c = 0; c < classes; ++c) y[c] = (x[c] + sample_gumbel(rng)) / tau;
        std::size_t best = 0;
        for (std::size_t c = 1; c < classes; ++c)
            if (y[c] > y[best]) best = c;
        const float peak = y[best];
        double sum = 0;
        for (std::size_t c = 0; c < classes; ++c) {
            y[c] = std::exp(y[c] - peak);
            sum += y[c];
        }
        const auto inv = static_cast<float>(1.0 / sum);
        for (std::size_t c = 0; c < classes; ++c) y[c] *= inv;
        if (hard) {
            // torch takes the first maximum of the soft sample (rounding may tie it).
            best = 0;
            for (std::size_t c = 1; c < classes; ++c)
                if (y[c] > y[best]) best = c;
            for (std::size_t c = 0; c < classes; ++c) y[c] = c == best ? 1.0f : 0.0f;
        }
    }
}

// [rows, classes] -> [rows, classes]
inline tensor<2> gumbel_softmax(const tensor<2>& logits, float tau, bool hard, std::mt19937_64& rng) {
    tensor<2> out = tensor<2>::from_shape(logits.shape());
    gumbel_softmax(logits.data(), logits.shape(0), logits.shape(1), tau, hard, rng, out.data());
    return out;
}

}  // namespace mmt::ops
