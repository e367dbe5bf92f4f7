// Rows of ids (one per text) stacked into a [batch, seq_len] tensor. Rows must
// be of one length: a ragged batch is an error, not silently padded, since only
// the caller knows the pad id and that the attention mask must cover it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"

namespace mmt {

// `what` names the batch in errors ("input_ids").
inline int_tensor<2> stack_rows(const std::vector<std::vector<std::int64_t>>& rows, const std::string& what) {
    if (rows.empty()) fail<input_error>(what, ": expected at least one row, got an empty batch");
    const std::size_t length = rows.front().size();
    int_tensor<2> out = int_tensor<2>::from_shape({rows.size(), length});
    for (std::size_t r = 0; r < rows.size(); ++r) {
        if (rows[r].size() != length)
            fail<input_error>(what, ": row ", r, " has ", rows[r].size(), " entries but row 0 has ", length,
                              "; pad the rows to one length (with attention_mask 0 on the padding)");
        std::copy(rows[r].begin(), rows[r].end(), out.data() + r * length);
    }
    return out;
}

}  // namespace mmt
