// y = x W^T + b, PyTorch's nn.Linear with W stored [out_features, in_features].
#pragma once

#include <algorithm>
#include <cstddef>

#include "mmt/core/eigen.hpp"
#include "mmt/core/threading.hpp"

namespace mmt::ops {

// x: [rows, in], w: [out, in], b: [out] or nullptr, y: [rows, out] (must not alias x).
// With several threads the output columns are split between them: Eigen alone keeps
// a product with few rows (one image's 50 tokens) on one core.
inline void linear(const float* x, std::size_t rows, std::size_t in, const float* w, const float* b, std::size_t out,
                   float* y) {
    const_matrix_map X(x, Eigen::Index(rows), Eigen::Index(in));
    const_matrix_map W(w, Eigen::Index(out), Eigen::Index(in));
    matrix_map Y(y, Eigen::Index(rows), Eigen::Index(out));
    constexpr std::size_t column_block = 64;
    const std::size_t blocks = (out + column_block - 1) / column_block;
    const bool small = rows * in * out < (1u << 18);  // not worth waking a second thread
    parallel_for(blocks, small ? blocks : 1, [&](std::size_t first, std::size_t last) {
        const Eigen::Index c0 = Eigen::Index(first * column_block);
        const Eigen::Index c1 = Eigen::Index(std::min(out, last * column_block));
        Y.middleCols(c0, c1 - c0).noalias() = X * W.middleRows(c0, c1 - c0).transpose();
        if (b) Y.middleCols(c0, c1 - c0).rowwise() += Eigen::Map<const Eigen::RowVectorXf>(b + c0, c1 - c0);
    });
}

}  // namespace mmt::ops
