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

// x, y: [batch, length, channels] (may alias); weight, bias: [channels].
// PyTorch's group_norm(x.transpose(1, 2)).transpose(1, 2), then `act` if given,
// applied in the same pass. The sums are double, so one pass gives both the
// mean and the variance. Threads split the groups, so every sum runs in one
// fixed order whatever the thread count.
inline void group_norm(const float* x, std::size_t batch, std::size_t length, std::size_t channels, std::size_t num_groups,
                       const float* weight, const float* bias, float eps, float* y, std::optional<activation> act = std::nullopt) {
    if (num_groups == 0 || channels % num_groups != 0)
        fail<shape_error>("group_norm: ", channels, " channels are not divisible into ", num_groups, " groups");
    const std::size_t per_group = channels / num_groups;
    for (std::size_t b = 0; b < batch; ++b) {
        const float* in = x + b * length * channels;
        float* out = y + b * length * channels;
        parallel_for(num_groups, std::max<std::size_t>(1, 4096 / (length * per_group + 1)), [&](std::size_t g0, std::size_t g1) {
            // Each thread reads its channels [c0, c1) of every frame: one contiguous run per row.
            const std::size_t c0 = g0 * per_group, c1 = g1 * per_group, width = c1 - c0;
            std::vector<double> sum(width, 0.0), sq(width, 0.0);
            for (std::size_t t = 0; t < length; ++t)
                for (std::size_t c = 0; c < width; ++c) {
                    const double v = in[t * channels + c0 + c];
                    sum[c] += v;
                    sq[c] += v * v;
                }
            std::vector<float> centre(width), scale(width);  // per channel, from its group's statistics
            const double count = double(length * per_group);
            for (std::size_t g = 0; g < g1 - g0; ++g) {
                double s = 0, s2 = 0;
                for (std::size_t c = g * per_group; c < (g + 1) * per_group; ++c) {
                    s += sum[c];
                    s2 += sq[c];
                }
                const double mean = s / count, variance = std::max(0.0, s2 / count - mean * mean);
                const double inv_std = 1.0 / std::sqrt(variance + double(eps));
                for (std::size_t c = g * per_group; c < (g + 1) * per_group; ++c) {
                    centre[c] = static_cast<float>(mean);
                    scale[c] = static_cast<float>(inv_std * weight[c0 + c]);
                }
            }
            for (std::size_t t = 0; t < length; ++t) {
                float* row = out + t * channels + c0;
                for (std::size_t c = 0; c < width; ++c) row[c] = (in[t * channels + c0 + c] - centre[c]) * scale[c] + bias[c0 + c];
                if (act) activate_inplace(*act, row, width);
            }
        });
    }
}

}  // namespace mmt::ops
