// The rows of a [rows, cols] float32 matrix, produced when asked: read(first, count,
// out) writes rows [first, first + count) to out, row-major. Loads pack their weights
// from one (ops::pack_weights): each panel's rows go from the checkpoint into cache
// and straight on into the panels, so no weight is ever held whole in float32 on the
// way. Called from several threads at once, for disjoint rows.
#pragma once

#include <cstddef>
#include <cstring>
#include <functional>

namespace mmt {

using row_reader = std::function<void(std::size_t first, std::size_t count, float* out)>;

// The rows of w [rows, cols] in memory.
inline row_reader rows_in_memory(const float* w, std::size_t cols) {
    return [w, cols](std::size_t first, std::size_t count, float* out) { std::memcpy(out, w + first * cols, count * cols * sizeof(float)); };
}

}  // namespace mmt
