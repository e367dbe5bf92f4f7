// The one header that includes Eigen: the float32 GEMM kernel of every CPU
// without a hand-written one (ops/packed_gemm.hpp) runs on its GEMM. Row-major
// maps over float buffers whose rows may be further apart than their length,
// so the kernel hands Eigen plain memory without copies.
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

// A row-major Matrix over memory whose row stride is given at run time.
template <class Matrix>
using strided_map = Eigen::Map<Matrix, Eigen::Unaligned, Eigen::OuterStride<>>;

}  // namespace mmt
