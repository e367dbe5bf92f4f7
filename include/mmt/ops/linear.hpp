// y = x W^T + b, PyTorch's nn.Linear with W stored [out_features, in_features].
#pragma once

#include <cstddef>

#include "mmt/core/threading.hpp"
#include "mmt/ops/gemm.hpp"

namespace mmt::ops {

// x: [rows, in], w: [out, in], b: [out] or nullptr, y: [rows, out] (must not alias x).
inline void linear(const float* x, std::size_t rows, std::size_t in, const float* w, const float* b, std::size_t out, float* y) {
    gemm_nt(x, w, y, rows, out, in);
    if (!b) return;
    parallel_for(rows, 64, [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r)
            for (std::size_t o = 0; o < out; ++o) y[r * out + o] += b[o];
    });
}

}  // namespace mmt::ops
