// The position-wise MLP: fc2(act(fc1(x))). CLIPMLP, BertIntermediate + BertOutput.dense,
// Wav2Vec2FeedForward.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/item_groups.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::layers {

struct feed_forward_names {
    std::string fc1, fc2;  // relative to the encoder layer
};

struct feed_forward {
    linear fc1;  // [intermediate_size, hidden_size]
    linear fc2;  // [hidden_size, intermediate_size]
    ops::activation act = ops::activation::gelu;
    // The most bytes of the intermediate at once: longer inputs go through in runs of
    // rows (as HF's chunk_size_feed_forward, which splits the sequence), each row's
    // output the same. A whole 2-minute utterance's intermediate (74 MB in wav2vec2-base)
    // would pass glibc's 32 MiB mapping threshold and be faulted in afresh by every layer.
    std::size_t chunk_bytes = default_group_bytes;

    static feed_forward load(const io::weight_scope& layer, const feed_forward_names& names, std::size_t hidden_size,
                             std::size_t intermediate_size, ops::activation act) {
        return {linear::load(layer.child(names.fc1), hidden_size, intermediate_size),
                linear::load(layer.child(names.fc2), intermediate_size, hidden_size), act};
    }

    // residual + fc2(act(fc1(x))), the add in fc2's epilogue.
    // x, residual: [batch, seq_len, hidden_size] -> [batch, seq_len, hidden_size]
    tensor<3> forward_add(const tensor<3>& x, const tensor<3>& residual) const {
        const std::size_t hidden = fc2.out_features(), width = fc1.out_features();
        fc1.check_input(x, "feed_forward");
        fc2.check_residual(x, residual, "feed_forward");
        const std::size_t rows = x.shape(0) * x.shape(1), run = std::min(rows, rows_per_run());
        tensor<3> y = tensor<3>::from_shape(residual.shape());
        tensor<2> intermediate({run, width});  // reused by every run
        for (std::size_t r0 = 0; r0 < rows; r0 += run) {
            const std::size_t n = std::min(run, rows - r0);
            fc1.forward_rows(x.data() + r0 * x.shape(2), n, intermediate.data(), {act});
            fc2.forward_rows(intermediate.data(), n, y.data() + r0 * hidden, {std::nullopt, residual.data() + r0 * hidden, hidden});
        }
        return y;
    }

    // Rows of x each run takes: at least one.
    std::size_t rows_per_run() const { return items_per_group(fc1.out_features(), chunk_bytes); }
};

}  // namespace mmt::layers
