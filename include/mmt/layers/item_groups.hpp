// A batch whose activations would pass glibc's mapping threshold goes through a
// model's layers a group of batch items at a time. glibc maps each allocation of more
// than 32 MiB on its own and unmaps it when it is freed, so a layer's larger outputs
// were faulted in afresh by every layer (LayoutLM's MLP intermediate is 50 MB at
// 32 x 128 tokens: int8 took 3.5 times the time of four 8x128 batches). No op mixes
// batch items, so each item's outputs are the same in a group as in the whole batch.
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>

#include "mmt/core/xtensor.hpp"
#include "mmt/ops/attention.hpp"

namespace mmt::layers {

// The most bytes a group's widest activation takes by default: under the threshold
// with room to spare, and 1,024 rows or more at BERT-base's width.
inline constexpr std::size_t default_group_bytes = std::size_t(16) << 20;

// Batch items whose widest activation is `item_floats` floats each that a group of
// `group_bytes` holds: at least one.
inline std::size_t items_per_group(std::size_t item_floats, std::size_t group_bytes) {
    if (item_floats == 0) return std::numeric_limits<std::size_t>::max();
    return std::max<std::size_t>(1, group_bytes / (sizeof(float) * item_floats));
}

// Batch items [first, first + count) of x [batch, seq_len, width].
inline tensor<3> items_of(const tensor<3>& x, std::size_t first, std::size_t count) {
    const std::size_t item = x.shape(1) * x.shape(2);
    tensor<3> part({count, x.shape(1), x.shape(2)});
    std::copy_n(x.data() + first * item, count * item, part.data());
    return part;
}

// The key padding of batch items from `first` on, of kv_len keys each.
inline ops::attention_mask mask_of_items(const ops::attention_mask& mask, std::size_t first, std::size_t kv_len) {
    ops::attention_mask part = mask;
    if (part.key_padding) part.key_padding += first * kv_len;
    return part;
}

// run(first, count) -> [count, seq_len, width] for groups of even sizes, at most
// per_group items each, that cover [0, batch) -> [batch, seq_len, width].
template <class Run>
tensor<3> by_item_groups(std::size_t batch, std::size_t per_group, Run&& run) {
    const std::size_t groups = (batch + per_group - 1) / per_group;
    tensor<3> out;
    for (std::size_t g = 0; g < groups; ++g) {
        const std::size_t first = batch * g / groups, count = batch * (g + 1) / groups - first;
        const tensor<3> part = run(first, count);
        if (g == 0) out = tensor<3>::from_shape({batch, part.shape(1), part.shape(2)});
        std::copy_n(part.data(), part.size(), out.data() + first * part.shape(1) * part.shape(2));
    }
    return out;
}

}  // namespace mmt::layers
