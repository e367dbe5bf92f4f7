// The one header that includes Eigen. Row-major maps over contiguous float
// buffers, so ops can hand plain memory to Eigen's GEMM without copies.
#pragma once

// GCC 12 reports the _mm512_undefined_* placeholders inside its AVX-512
// intrinsics, inlined into Eigen's kernels, as uninitialised (GCC bug 105593).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC only: clang has no such group
#endif
#include <Eigen/Core>
#pragma GCC diagnostic pop

namespace mmt {

using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using matrix_map = Eigen::Map<row_matrix>;
using const_matrix_map = Eigen::Map<const row_matrix>;
using const_vector_map = Eigen::Map<const Eigen::VectorXf>;

}  // namespace mmt
