// LayoutLMv3's relative position biases (LayoutLMv3Encoder._cal_1d_pos_emb and
// _cal_2d_pos_emb): for every pair of tokens, a learned per-head weight of the T5
// bucket of their distance: in position (1-D), and along x (left edges) and y
// (bottom edges) of their boxes (2-D). Computed once per forward and added to every
// layer's scaled scores as (1-D + 2-D) / sqrt(head_dim).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "mmt/core/threading.hpp"
#include "mmt/core/xtensor.hpp"

namespace mmt::layoutlmv3 {

// T5's bidirectional relative_position_bucket in HF's float32 arithmetic: half the
// buckets for each sign; distances below a quarter of the buckets exact, the others
// on a log scale up to max_distance, capped at the last bucket.
inline std::size_t relative_position_bucket(std::int64_t relative_position, std::size_t num_buckets, std::size_t max_distance) {
    const auto half = std::int64_t(num_buckets / 2);
    const std::int64_t base = relative_position > 0 ? half : 0;
    const std::int64_t n = relative_position < 0 ? -relative_position : relative_position;
    const std::int64_t max_exact = half / 2;
    if (n < max_exact) return std::size_t(base + n);
    float v = std::log(float(n) / float(max_exact));
    v = v / float(std::log(double(max_distance) / double(max_exact)));
    v = v * float(half - max_exact);
    return std::size_t(base + std::min(max_exact + std::int64_t(v), half - 1));
}

struct relative_position_bias {
    // Distances bucketed once each, up to this far either way; farther ones (coordinates
    // on a grid larger than LayoutLMv3's 1024) are bucketed as they come.
    static constexpr std::int64_t table_reach = 4096;

    std::size_t bins = 0, max_distance = 0;
    tensor<2> weight;  // [num_heads, bins]: rel_pos_bias (1-D) or rel_pos_x_bias / rel_pos_y_bias (2-D)

    // weight[h, bucket(coordinate[j] - coordinate[i])] written to (assign) or added to (add)
    // out [num_heads, n, n] for one sequence, rows i on all threads. A bucket depends on
    // the distance alone, so each distance the coordinates span is bucketed once: a bucket
    // (a log) per pair, 3 x 709^2 of them for layoutlmv3-base with a page, took 32 ms on
    // one core, 5 % of its forward.
    void assign(const std::vector<std::int64_t>& coordinate, float* out) const { write(coordinate, out, false); }
    void add(const std::vector<std::int64_t>& coordinate, float* out) const { write(coordinate, out, true); }

private:
    void write(const std::vector<std::int64_t>& coordinate, float* out, bool accumulate) const {
        const std::size_t n = coordinate.size(), heads = weight.shape(0);
        if (n == 0) return;
        const auto [lowest, highest] = std::minmax_element(coordinate.begin(), coordinate.end());
        const std::int64_t reach = std::min(*highest - *lowest, table_reach);
        std::vector<std::size_t> near(std::size_t(2 * reach + 1));  // [distance + reach]
        for (std::int64_t d = -reach; d <= reach; ++d) near[std::size_t(d + reach)] = relative_position_bucket(d, bins, max_distance);
        parallel_for(n, 16, [&](std::size_t i0, std::size_t i1) {
            std::vector<std::size_t> buckets(n);  // of row i
            for (std::size_t i = i0; i < i1; ++i) {
                for (std::size_t j = 0; j < n; ++j) {
                    const std::int64_t d = coordinate[j] - coordinate[i];
                    buckets[j] = d >= -reach && d <= reach ? near[std::size_t(d + reach)] : relative_position_bucket(d, bins, max_distance);
                }
                for (std::size_t h = 0; h < heads; ++h) {
                    const float* w = &weight(h, 0);
                    float* row = out + (h * n + i) * n;
                    if (accumulate)
                        for (std::size_t j = 0; j < n; ++j) row[j] += w[buckets[j]];
                    else
                        for (std::size_t j = 0; j < n; ++j) row[j] = w[buckets[j]];
                }
            }
        });
    }
};

}  // namespace mmt::layoutlmv3
