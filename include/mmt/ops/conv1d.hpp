// nn.Conv1d (zero padding, stride, groups, optional bias) on channels-last
// data, as im2col and one packed GEMM per group and block of output frames. Audio
// models keep [batch, frames, channels] so LayerNorm over channels and the
// linear layers after the convolutions read contiguous rows; the result is
// PyTorch's conv1d(x.transpose(1, 2)).transpose(1, 2).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/activations.hpp"
#include "mmt/ops/packed_gemm_any.hpp"

namespace mmt::ops {

struct conv1d_shape {
    std::size_t batch = 1;
    std::size_t length = 0;  // input frames
    std::size_t in_channels = 0;
    std::size_t out_channels = 0;
    std::size_t kernel = 1;
    std::size_t stride = 1;
    std::size_t padding = 0;  // zeros on both sides
    std::size_t groups = 1;

    // PyTorch's floor((length + 2 padding - kernel) / stride) + 1; 0 when the kernel does not fit.
    std::size_t out_length() const {
        const std::size_t padded = length + 2 * padding;
        return padded < kernel ? 0 : (padded - kernel) / stride + 1;
    }
    std::size_t in_per_group() const { return in_channels / groups; }
    std::size_t out_per_group() const { return out_channels / groups; }

    void validate(const char* what) const {
        if (kernel == 0 || stride == 0 || groups == 0)
            fail<shape_error>(what, ": kernel ", kernel, ", stride ", stride, " and groups ", groups, " must all be at least 1");
        if (in_channels % groups != 0 || out_channels % groups != 0)
            fail<shape_error>(what, ": ", in_channels, " input and ", out_channels, " output channels are not divisible into ",
                              groups, " groups");
    }
};

// A Conv1d weight prepared once, when a model is loaded: PyTorch's [out_channels,
// in_channels / groups, kernel] rearranged tap-major ([out_channels, kernel,
// in_channels / groups], so each tap's input channels are one contiguous copy in
// the im2col rows) and packed per group for gemm_packed, in float32, bf16 or int8.
class conv1d_weights {
public:
    conv1d_weights() = default;
    // With `int8_scales` ([out_channels]), weight holds int8 levels with those row scales (ops::pack_weights).
    conv1d_weights(const float* weight, std::size_t out_channels, std::size_t in_per_group, std::size_t kernel, std::size_t groups = 1,
                   mmt::precision precision = mmt::precision::f32, const float* int8_scales = nullptr)
        : out_channels_(out_channels), in_per_group_(in_per_group), kernel_(kernel) {
        if (groups == 0 || out_channels % groups != 0)
            fail<shape_error>("conv1d weight: ", out_channels, " output channels are not divisible into ", groups, " groups");
        const std::size_t per_group = out_channels / groups, depth = kernel * in_per_group;
        std::vector<float> tap_major(per_group * depth);
        for (std::size_t g = 0; g < groups; ++g) {
            for (std::size_t o = 0; o < per_group; ++o)
                for (std::size_t i = 0; i < in_per_group; ++i)
                    for (std::size_t k = 0; k < kernel; ++k)
                        tap_major[(o * kernel + k) * in_per_group + i] = weight[((g * per_group + o) * in_per_group + i) * kernel + k];
            groups_.push_back(pack_weights(tap_major.data(), per_group, depth, precision, int8_scales ? int8_scales + g * per_group : nullptr));
        }
    }

    std::size_t out_channels() const { return out_channels_; }
    std::size_t in_per_group() const { return in_per_group_; }
    std::size_t kernel() const { return kernel_; }
    std::size_t groups() const { return groups_.size(); }
    const any_packed_weights& group(std::size_t g) const { return groups_[g]; }
    mmt::precision precision() const { return groups_.empty() ? mmt::precision::f32 : precision_of(groups_.front()); }

private:
    std::size_t out_channels_ = 0, in_per_group_ = 0, kernel_ = 0;
    std::vector<any_packed_weights> groups_;  // [out_channels / groups, kernel * in_per_group] each
};

// x: [batch, length, in_channels]; bias: [out_channels] or nullptr; y: [batch, out_length, out_channels].
// `act`, if given, runs in the GEMM's epilogue on each tile as it is written (an audio
// front end's outputs are hundreds of MB: a separate pass would stream them again).
// Each task owns whole output rows of one group, so the result does not depend on the thread count.
inline void conv1d(const float* x, const conv1d_shape& s, const conv1d_weights& w, const float* bias, float* y,
                   std::optional<activation> act = std::nullopt) {
    s.validate("conv1d");
    if (w.out_channels() != s.out_channels || w.in_per_group() != s.in_per_group() || w.kernel() != s.kernel || w.groups() != s.groups)
        fail<shape_error>("conv1d: weights for ", w.out_channels(), " outputs, ", w.in_per_group(), " inputs per group, kernel ", w.kernel(),
                          " and ", w.groups(), " groups; the shape needs ", s.out_channels, ", ", s.in_per_group(), ", ", s.kernel, " and ",
                          s.groups);
    const std::size_t frames = s.out_length(), cin = s.in_per_group(), cout = s.out_per_group();
    const std::size_t depth = s.kernel * cin;  // one im2col row
    if (frames == 0) return;
    // About 1 MB of im2col per task: big enough for an efficient GEMM, small enough for the cache.
    const std::size_t block = std::clamp<std::size_t>((std::size_t(1) << 18) / depth, 16, 1024);
    const std::size_t blocks = (frames + block - 1) / block;
    const std::size_t tasks = s.batch * s.groups * blocks;
    const bool small = s.batch * frames * depth * cout < (std::size_t(1) << 18);
    // Ungrouped and unpadded (wav2vec2's feature encoder), a window's taps are
    // consecutive rows of x, so its im2col row is already there: the GEMM reads x in
    // place, rows stride * in_channels apart (the copies were 1.6 % of wav2vec2_base
    // at 30 s).
    const bool in_place = s.groups == 1 && s.padding == 0;
    parallel_for(tasks, small ? tasks : 1, [&](std::size_t t0, std::size_t t1) {
        std::vector<float> cols;
        for (std::size_t task = t0; task < t1; ++task) {
            const std::size_t b = task / (s.groups * blocks), g = (task / blocks) % s.groups, first = (task % blocks) * block;
            const std::size_t rows = std::min(block, frames - first);
            const float* windows = nullptr;  // [rows, depth], rows ld apart
            std::size_t ld = depth;
            if (in_place) {
                windows = x + (b * s.length + first * s.stride) * s.in_channels;
                ld = s.stride * s.in_channels;
            } else {
                cols.resize(rows * depth);
                for (std::size_t r = 0; r < rows; ++r) {
                    float* dst = cols.data() + r * depth;
                    const std::ptrdiff_t start = std::ptrdiff_t((first + r) * s.stride) - std::ptrdiff_t(s.padding);
                    for (std::size_t k = 0; k < s.kernel; ++k, dst += cin) {
                        const std::ptrdiff_t src = start + std::ptrdiff_t(k);
                        if (src < 0 || src >= std::ptrdiff_t(s.length)) {
                            std::fill(dst, dst + cin, 0.0f);
                        } else {
                            std::memcpy(dst, x + (b * s.length + std::size_t(src)) * s.in_channels + g * cin, cin * sizeof(float));
                        }
                    }
                }
                windows = cols.data();
            }
            const float* group_bias = bias ? bias + g * cout : nullptr;
            float* out = y + (b * frames + first) * s.out_channels + g * cout;  // rows of s.out_channels
            gemm_packed(windows, rows, ld, w.group(g), group_bias, out, s.out_channels, {act});
        }
    });
}

}  // namespace mmt::ops
