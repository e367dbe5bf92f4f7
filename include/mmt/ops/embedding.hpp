// nn.Embedding: rows of a table gathered by id, with every id checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "mmt/core/error.hpp"

namespace mmt::ops {

// ids: [n], table: [num_embeddings, dim], out: [n, dim]. `what` names the table in errors.
inline void embedding(const std::int64_t* ids, std::size_t n, const float* table, std::size_t num_embeddings, std::size_t dim,
                      float* out, const std::string& what) {
    for (std::size_t i = 0; i < n; ++i) {
        if (ids[i] < 0 || std::uint64_t(ids[i]) >= num_embeddings)
            fail<input_error>(what, ": id ", ids[i], " at flat position ", i, " is outside the table of ", num_embeddings,
                              " rows (expected 0..", num_embeddings - 1, ")");
        std::memcpy(out + i * dim, table + std::size_t(ids[i]) * dim, dim * sizeof(float));
    }
}

}  // namespace mmt::ops
