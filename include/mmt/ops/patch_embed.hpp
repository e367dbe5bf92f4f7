// A Conv2d whose stride equals its kernel (ViT patch embedding), as one GEMM
// over the unfolded patches.
#pragma once

#include <cstddef>
#include <vector>

#include "mmt/ops/linear.hpp"

namespace mmt::ops {

struct patch_shape {
    std::size_t batch = 0, channels = 0, height = 0, width = 0, patch = 0;
    std::size_t grid_h() const { return height / patch; }
    std::size_t grid_w() const { return width / patch; }
    std::size_t num_patches() const { return grid_h() * grid_w(); }
    std::size_t patch_dim() const { return channels * patch * patch; }
};

// pixels: [batch, channels, height, width]; weight: [hidden, channels, patch, patch];
// bias: [hidden] or nullptr; out: [batch, num_patches, hidden] with patches in row-major grid order.
// Like PyTorch's Conv2d, rows and columns that do not fill a whole patch are dropped.
inline void patch_embed(const float* pixels, const patch_shape& s, const float* weight, const float* bias, std::size_t hidden,
                        float* out) {
    const std::size_t p = s.patch, np = s.num_patches(), pd = s.patch_dim();
    std::vector<float> patches(s.batch * np * pd);  // [batch * num_patches, channels * patch * patch]
    for (std::size_t b = 0; b < s.batch; ++b)
        for (std::size_t gy = 0; gy < s.grid_h(); ++gy)
            for (std::size_t gx = 0; gx < s.grid_w(); ++gx) {
                float* dst = patches.data() + ((b * np) + gy * s.grid_w() + gx) * pd;
                for (std::size_t c = 0; c < s.channels; ++c)
                    for (std::size_t y = 0; y < p; ++y) {
                        const float* src = pixels + ((b * s.channels + c) * s.height + gy * p + y) * s.width + gx * p;
                        for (std::size_t x = 0; x < p; ++x) *dst++ = src[x];
                    }
            }
    linear(patches.data(), s.batch * np, pd, weight, bias, hidden, out);
}

}  // namespace mmt::ops
