// A Conv2d whose stride equals its kernel (ViT patch embedding), as one packed
// GEMM over the unfolded patches. Conv2d's weight [hidden, channels, patch, patch]
// is already a linear weight [hidden, channels * patch * patch] over patches
// unfolded channel by channel and row by row, so it is packed as it is.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>

#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/packed_gemm_any.hpp"

namespace mmt::ops {

struct patch_shape {
    std::size_t batch = 0, channels = 0, height = 0, width = 0, patch = 0;
    std::size_t grid_h() const { return height / patch; }
    std::size_t grid_w() const { return width / patch; }
    std::size_t num_patches() const { return grid_h() * grid_w(); }
    std::size_t patch_dim() const { return channels * patch * patch; }
};

// pixels: [batch, channels, height, width]; weight: [hidden, channels * patch * patch]
// packed (ops::pack_weights); bias: [hidden] or nullptr; out: [batch, num_patches,
// hidden] with patches in row-major grid order. Like PyTorch's Conv2d, rows and
// columns that do not fill a whole patch are dropped.
inline void patch_embed(const float* pixels, const patch_shape& s, const any_packed_weights& weight, const float* bias, float* out) {
    const std::size_t p = s.patch, np = s.num_patches(), pd = s.patch_dim();
    if (cols_of(weight) != pd)
        fail<shape_error>("patch_embed: weight packed for ", cols_of(weight), " inputs, expected channels * patch * patch = ", s.channels,
                          " * ", p, " * ", p, " = ", pd);
    const std::unique_ptr<float[]> patches(new float[std::max<std::size_t>(1, s.batch * np * pd)]);  // [batch * num_patches, patch_dim]
    parallel_for(s.batch * np, row_grain(pd), [&](std::size_t i0, std::size_t i1) {
        for (std::size_t i = i0; i < i1; ++i) {
            const std::size_t b = i / np, gy = i % np / s.grid_w(), gx = i % s.grid_w();
            float* dst = patches.get() + i * pd;
            for (std::size_t c = 0; c < s.channels; ++c)
                for (std::size_t y = 0; y < p; ++y, dst += p) {
                    const float* src = pixels + ((b * s.channels + c) * s.height + gy * p + y) * s.width + gx * p;
                    std::copy(src, src + p, dst);
                }
        }
    });
    gemm_packed(patches.get(), s.batch * np, weight, bias, out);
}

// The same from Conv2d's weight [hidden, channels, patch, patch] as a checkpoint
// holds it, packed in float32 for this one call (a model packs it once, at load).
inline void patch_embed(const float* pixels, const patch_shape& s, const float* weight, const float* bias, std::size_t hidden, float* out) {
    patch_embed(pixels, s, packed_weights(weight, hidden, s.patch_dim()), bias, out);
}

}  // namespace mmt::ops
