// A vocabulary's nn.Embedding (word or token embeddings): the model's largest
// table, held in int8 under int8 loads as the linear layers are (ops::embedding_table;
// `mmt quantize` stores it so), else in float32.
#pragma once

#include <cstddef>

#include "mmt/core/load_options.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/ops/embedding.hpp"

namespace mmt::layers {

// `scope` is the embedding's (e.g. "text_model.embeddings.token_embedding."): weight [rows, dim].
inline ops::embedding_table load_token_embedding(const io::weight_scope& scope, std::size_t rows, std::size_t dim) {
    const mmt::precision p = scope.linear_precision() == mmt::precision::int8 ? mmt::precision::int8 : mmt::precision::f32;
    const auto w = scope.get_packed<2>("weight", {rows, dim}, p);
    return ops::embedding_table(w.rows, rows, dim, p, w.row_scales());
}

}  // namespace mmt::layers
