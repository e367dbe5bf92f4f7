// Reproducible random tensors for unit tests: every call site passes its own seed,
// so a failure replays exactly; and NaN-filled ones for outputs.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>

#include "mmt/core/xtensor.hpp"

namespace mmt::test {

// Values uniform in [lo, hi).
template <std::size_t N>
tensor<N> random_tensor(const std::array<std::size_t, N>& shape, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
    tensor<N> t(shape);
    std::mt19937 gen(seed);
    std::uniform_real_distribution<float> dist(lo, hi);
    for (auto& v : t) v = dist(gen);
    return t;
}

// NaN everywhere: an op's output buffer, so that an element the op fails to write
// shows (a fresh buffer often lands on the last one freed, the previous kernel's answer).
template <std::size_t N>
tensor<N> nan_tensor(const std::array<std::size_t, N>& shape) {
    tensor<N> t(shape);
    for (auto& v : t) v = std::numeric_limits<float>::quiet_NaN();
    return t;
}

}  // namespace mmt::test
