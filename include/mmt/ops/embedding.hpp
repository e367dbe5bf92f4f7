// nn.Embedding: rows of a table gathered by id, with every id checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/ops/packed_gemm.hpp"

namespace mmt::ops {

namespace detail {
// ids[i] as a row of a table of num_embeddings rows, or an input_error naming `what` and i.
inline std::size_t checked_row(const std::int64_t* ids, std::size_t i, std::size_t num_embeddings, const std::string& what) {
    if (ids[i] < 0 || std::uint64_t(ids[i]) >= num_embeddings)
        fail<input_error>(what, ": id ", ids[i], " at flat position ", i, " is outside the table of ", num_embeddings,
                          " rows (expected 0..", num_embeddings - 1, ")");
    return std::size_t(ids[i]);
}
}  // namespace detail

// ids: [n], table: [num_embeddings, dim], out: [n, dim]. `what` names the table in errors.
inline void embedding(const std::int64_t* ids, std::size_t n, const float* table, std::size_t num_embeddings, std::size_t dim,
                      float* out, const std::string& what) {
    for (std::size_t i = 0; i < n; ++i)
        std::memcpy(out + i * dim, table + detail::checked_row(ids, i, num_embeddings, what) * dim, dim * sizeof(float));
}

// The same from a table packed for a GEMM ([num_embeddings, dim], a decoder tied to
// it), its rows read back from the panels. out: [n, dim].
inline void embedding(const std::int64_t* ids, std::size_t n, const packed_weights& table, float* out, const std::string& what) {
    for (std::size_t i = 0; i < n; ++i) table.row(detail::checked_row(ids, i, table.rows(), what), out + i * table.cols());
}

}  // namespace mmt::ops
