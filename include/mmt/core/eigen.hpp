// The one header that includes Eigen. Row-major maps over contiguous float
// buffers, so ops can hand plain memory to Eigen's GEMM without copies.
#pragma once

#include <Eigen/Core>

namespace mmt {

using row_matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using matrix_map = Eigen::Map<row_matrix>;
using const_matrix_map = Eigen::Map<const row_matrix>;
using const_vector_map = Eigen::Map<const Eigen::VectorXf>;

}  // namespace mmt
