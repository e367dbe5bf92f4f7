// nn.GroupNorm on channels-last data: the channels are split into num_groups
// runs and each run is normalised over all its channels and frames of one batch
// item (biased variance, eps inside the sqrt), then scaled per channel.
// Wav2Vec2's first conv uses num_groups = channels: every channel normalised over time.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::ops {

// Rows of one batch item per block of the statistics: a function of the length
// alone, so the sums add up in the same order whatever the thread count.
inline std::size_t group_norm_block_rows(std::size_t length) { return std::max<std::size_t>(512, (length + 255) / 256); }

// x, y: [batch, length, channels] (may alias); weight, bias: [channels].
// PyTorch's group_norm(x.transpose(1, 2)).transpose(1, 2), then `act` if given,
// applied in the same pass. The sums are double, so one pass gives both the mean
// and the variance. Threads take blocks of whole rows, contiguous memory: split by
// channels, each thread read half of every row, and 2 threads took longer than one
// (wav2vec2's first conv at 30 s: 75 ms against 62, memory-bound). Each block keeps
// its own sums per channel, added in block order, so the result does not depend on
// the thread count.
inline void group_norm(const float* x, std::size_t batch, std::size_t length, std::size_t channels, std::size_t num_groups,
                       const float* weight, const float* bias, float eps, float* y, std::optional<activation> act = std::nullopt) {
    if (num_groups == 0 || channels % num_groups != 0)
        fail<shape_error>("group_norm: ", channels, " channels are not divisible into ", num_groups, " groups");
    const std::size_t per_group = channels / num_groups, block = group_norm_block_rows(length);
    const std::size_t blocks = (length + block - 1) / block, grain = std::max<std::size_t>(1, 4096 / (block * channels + 1));
    std::vector<double> sums(blocks * channels * 2);  // per block: [channels] sums, then [channels] sums of squares
    std::vector<float> centre(channels), scale(channels);
    for (std::size_t b = 0; b < batch; ++b) {
        const float* in = x + b * length * channels;
        float* out = y + b * length * channels;
        parallel_for(blocks, grain, [&](std::size_t k0, std::size_t k1) {
            for (std::size_t k = k0; k < k1; ++k) {
                double* sum = sums.data() + k * channels * 2;
                double* sq = sum + channels;
                std::fill(sum, sum + 2 * channels, 0.0);
                for (std::size_t t = k * block; t < std::min(length, (k + 1) * block); ++t)
                    for (std::size_t c = 0; c < channels; ++c) {
                        const double v = in[t * channels + c];
                        sum[c] += v;
                        sq[c] += v * v;
                    }
            }
        });
        const double count = double(length * per_group);
        for (std::size_t g = 0; g < num_groups; ++g) {
            double s = 0, s2 = 0;
            for (std::size_t k = 0; k < blocks; ++k)
                for (std::size_t c = g * per_group; c < (g + 1) * per_group; ++c) {
                    s += sums[k * channels * 2 + c];
                    s2 += sums[k * channels * 2 + channels + c];
                }
            const double mean = s / count, variance = std::max(0.0, s2 / count - mean * mean);
            const double inv_std = 1.0 / std::sqrt(variance + double(eps));
            for (std::size_t c = g * per_group; c < (g + 1) * per_group; ++c) {
                centre[c] = static_cast<float>(mean);
                scale[c] = static_cast<float>(inv_std * weight[c]);
            }
        }
        parallel_for(blocks, grain, [&](std::size_t k0, std::size_t k1) {
            for (std::size_t t = k0 * block; t < std::min(length, k1 * block); ++t) {
                float* row = out + t * channels;
                const float* src = in + t * channels;
                for (std::size_t c = 0; c < channels; ++c) row[c] = (src[c] - centre[c]) * scale[c] + bias[c];
                if (act) activate_inplace(*act, row, channels);
            }
        });
    }
}

}  // namespace mmt::ops
