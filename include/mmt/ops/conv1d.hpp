// nn.Conv1d (zero padding, stride, groups, optional bias) on channels-last
// data, as im2col and one GEMM per group and block of output frames. Audio
// models keep [batch, frames, channels] so LayerNorm over channels and the
// linear layers after the convolutions read contiguous rows; the result is
// PyTorch's conv1d(x.transpose(1, 2)).transpose(1, 2).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "mmt/core/eigen.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"

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

// PyTorch's Conv1d weight [out_channels, in_channels / groups, kernel] rearranged to the
// tap-major [out_channels, kernel, in_channels / groups] that conv1d reads, so each
// tap's input channels are one contiguous copy. Done once when a model is loaded.
inline std::vector<float> conv1d_tap_major(const float* weight, std::size_t out_channels, std::size_t in_per_group,
                                           std::size_t kernel) {
    std::vector<float> out(out_channels * kernel * in_per_group);
    for (std::size_t o = 0; o < out_channels; ++o)
        for (std::size_t i = 0; i < in_per_group; ++i)
            for (std::size_t k = 0; k < kernel; ++k)
                out[(o * kernel + k) * in_per_group + i] = weight[(o * in_per_group + i) * kernel + k];
    return out;
}

// x: [batch, length, in_channels]; weight: tap-major [out_channels, kernel, in_channels / groups]
// (see conv1d_tap_major); bias: [out_channels] or nullptr; y: [batch, out_length, out_channels].
// Each task owns whole output rows of one group, so the result does not depend on the thread count.
inline void conv1d(const float* x, const conv1d_shape& s, const float* weight, const float* bias, float* y) {
    s.validate("conv1d");
    const std::size_t frames = s.out_length(), cin = s.in_per_group(), cout = s.out_per_group();
    const std::size_t depth = s.kernel * cin;  // one im2col row
    if (frames == 0) return;
    // About 1 MB of im2col per task: big enough for an efficient GEMM, small enough for the cache.
    const std::size_t block = std::clamp<std::size_t>((std::size_t(1) << 18) / depth, 16, 1024);
    const std::size_t blocks = (frames + block - 1) / block;
    const std::size_t tasks = s.batch * s.groups * blocks;
    const bool small = s.batch * frames * depth * cout < (std::size_t(1) << 18);
    parallel_for(tasks, small ? tasks : 1, [&](std::size_t t0, std::size_t t1) {
        row_matrix cols;
        for (std::size_t task = t0; task < t1; ++task) {
            const std::size_t b = task / (s.groups * blocks), g = (task / blocks) % s.groups, first = (task % blocks) * block;
            const std::size_t rows = std::min(block, frames - first);
            cols.resize(Eigen::Index(rows), Eigen::Index(depth));
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
            const_matrix_map W(weight + g * cout * depth, Eigen::Index(cout), Eigen::Index(depth));
            Eigen::Map<row_matrix, 0, Eigen::OuterStride<>> Y(y + (b * frames + first) * s.out_channels + g * cout,
                                                              Eigen::Index(rows), Eigen::Index(cout),
                                                              Eigen::OuterStride<>(Eigen::Index(s.out_channels)));
            Y.noalias() = cols * W.transpose();
            if (bias) Y.rowwise() += Eigen::Map<const Eigen::RowVectorXf>(bias + g * cout, Eigen::Index(cout));
        }
    });
}

}  // namespace mmt::ops
