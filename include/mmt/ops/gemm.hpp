// The unpacked GEMM, C[M, N] = A[M, K] B[N, K]^T (+ C when accumulate), for the
// two products whose weights are not packed for ops/gemm_driver.hpp yet: ViT patch
// embedding and LayoutLM's masked-LM decoder (tied to the word embeddings). Linear
// layers run the packed driver. Eigen is the default; with MMT_USE_ONEDNN (CMake
// option of the same name) oneDNN's JIT sgemm runs instead (bench/: roofline_sgemm).
#pragma once

#include <algorithm>
#include <cstddef>

#include "mmt/core/eigen.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"

#if defined(MMT_USE_ONEDNN)
#include <oneapi/dnnl/dnnl.h>
#endif

namespace mmt::ops {

// Which GEMM this build runs, for benchmarks and logs.
inline const char* gemm_backend() {
#if defined(MMT_USE_ONEDNN)
    return "oneDNN";
#else
    return "Eigen";
#endif
}

// a: [m, k] row-major, b: [n, k] row-major, c: [m, n] row-major (must not alias a or b).
inline void gemm_nt(const float* a, const float* b, float* c, std::size_t m, std::size_t n, std::size_t k, bool accumulate = false) {
    if (m == 0 || n == 0) return;
#if defined(MMT_USE_ONEDNN)
    const auto status = dnnl_sgemm('N', 'T', dnnl_dim_t(m), dnnl_dim_t(n), dnnl_dim_t(k), 1.0f, a, dnnl_dim_t(k), b, dnnl_dim_t(k),
                                   accumulate ? 1.0f : 0.0f, c, dnnl_dim_t(n));
    if (status != dnnl_success) fail<error>("oneDNN sgemm failed with status ", int(status), " for [", m, "x", k, "]x[", n, "x", k, "]^T");
#else
    const_matrix_map A(a, Eigen::Index(m), Eigen::Index(k));
    const_matrix_map B(b, Eigen::Index(n), Eigen::Index(k));
    matrix_map C(c, Eigen::Index(m), Eigen::Index(n));
    // Eigen keeps a product with few rows (one image's 50 tokens) on one core, so
    // the output columns are split between the threads here instead, in blocks of
    // a fixed width: each block is the same product whatever the thread count, so
    // results do not depend on it.
    constexpr std::size_t column_block = 128;
    const std::size_t blocks = (n + column_block - 1) / column_block;
    const bool small = m * n * k < (1u << 18);  // not worth waking a second thread
    parallel_for(blocks, small ? blocks : 1, [&](std::size_t first, std::size_t last) {
        for (std::size_t block = first; block < last; ++block) {
            const Eigen::Index c0 = Eigen::Index(block * column_block);
            const Eigen::Index width = Eigen::Index(std::min(n, (block + 1) * column_block)) - c0;
            if (accumulate)
                C.middleCols(c0, width).noalias() += A * B.middleRows(c0, width).transpose();
            else
                C.middleCols(c0, width).noalias() = A * B.middleRows(c0, width).transpose();
        }
    });
#endif
}

}  // namespace mmt::ops
