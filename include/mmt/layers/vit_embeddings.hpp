// A vision transformer's input tokens: CLIPVisionEmbeddings,
// SiglipVisionEmbeddings and LayoutLMv3's visual tokens, with the LayerNorm
// CLIPVisionTransformer puts after them (pre_layrnorm; LayoutLMv3's `norm`). A Conv2d whose stride is its kernel cuts the image into
// patches, an optional learned class token goes in front, learned position
// embeddings are added, and an optional LayerNorm runs over the result.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/ops/packed_gemm_any.hpp"
#include "mmt/ops/patch_embed.hpp"

namespace mmt::layers {

// What the block is built from, and nothing of the encoder after it. CLIP: class
// token and pre-norm, no patch bias; SigLIP: patch bias only.
struct vit_embeddings_config {
    std::size_t hidden_size = 0;
    std::size_t num_channels = 3;
    std::size_t image_size = 0;  // square images of image_size x image_size
    std::size_t patch_size = 0;
    bool class_token = false;  // a learned class_embedding before the patches
    bool patch_bias = false;   // the patch Conv2d's bias
    bool pre_norm = false;     // a LayerNorm over every token
    float layer_norm_eps = 1e-5f;

    std::size_t num_patches() const { return (image_size / patch_size) * (image_size / patch_size); }
    // HF's num_positions: the tokens the block returns, the class token included.
    std::size_t num_positions() const { return num_patches() + (class_token ? 1 : 0); }
};

// Where one family keeps the block, relative to the vision tower's scope.
struct vit_embeddings_names {
    std::string embeddings;  // holds the three below ("" for the tower's own scope)
    std::string pre_norm;    // the LayerNorm, when the config has one
    std::string class_embedding = "class_embedding";              // [hidden_size]
    std::string patch_embedding = "patch_embedding";              // the Conv2d
    std::string position_embedding = "position_embedding.weight";  // [num_positions, hidden_size]
    // BEiT's layout (LayoutLMv3): the class and position tensors are parameters with a
    // leading batch dimension of 1, [1, 1, hidden_size] and [1, num_positions, hidden_size].
    bool batch_dim = false;
};

struct vit_embeddings {
    vit_embeddings_config config;
    std::optional<tensor<1>> class_embedding;  // [hidden_size]
    // Conv2d's [hidden_size, num_channels, patch_size, patch_size] as [hidden_size,
    // num_channels * patch_size * patch_size], packed in the load options' precision
    ops::any_packed_weights patch_embedding;
    std::optional<tensor<1>> patch_bias;       // [hidden_size]
    tensor<2> position_embedding;              // [num_positions, hidden_size]
    std::optional<layer_norm> pre_norm;

    // `tower` is the vision tower's scope (e.g. "vision_model.").
    static vit_embeddings load(const io::weight_scope& tower, const vit_embeddings_names& names, const vit_embeddings_config& c) {
        const std::size_t h = c.hidden_size, p = c.patch_size;
        const io::weight_scope scope = names.embeddings.empty() ? tower : tower.child(names.embeddings);
        vit_embeddings e;
        e.config = c;
        if (c.class_token)
            e.class_embedding = names.batch_dim ? tensor<1>(xt::flatten(scope.get<3>(names.class_embedding, {1, 1, h})))
                                                : scope.get<1>(names.class_embedding, {h});
        const io::weight_scope patch = scope.child(names.patch_embedding);
        const mmt::precision precision = patch.linear_precision();
        const auto patch_weight = patch.get_packed<4>("weight", {h, c.num_channels, p, p}, precision);
        e.patch_embedding = ops::pack_weights(patch_weight.rows, h, c.num_channels * p * p, precision, patch_weight.row_scales());
        if (c.patch_bias) e.patch_bias = patch.get<1>("bias", {h});
        e.position_embedding = names.batch_dim ? tensor<2>(xt::view(scope.get<3>(names.position_embedding, {1, c.num_positions(), h}), 0))
                                               : scope.get<2>(names.position_embedding, {c.num_positions(), h});
        if (c.pre_norm) e.pre_norm = layer_norm::load(tower.child(names.pre_norm), h, c.layer_norm_eps);
        return e;
    }

    // pixel_values: [batch, num_channels, image_size, image_size] -> [batch, num_positions, hidden_size],
    // the class token (if any) first, then the patches in row-major grid order.
    tensor<3> forward(const tensor<4>& pixel_values) const {
        const auto& c = config;
        const std::size_t batch = pixel_values.shape(0), h = c.hidden_size, np = c.num_patches();
        if (batch == 0 || pixel_values.shape(1) != c.num_channels || pixel_values.shape(2) != c.image_size ||
            pixel_values.shape(3) != c.image_size)
            fail<shape_error>("vision embeddings: pixel_values has shape [", batch, ", ", pixel_values.shape(1), ", ",
                              pixel_values.shape(2), ", ", pixel_values.shape(3), "], expected [batch >= 1, ", c.num_channels, ", ",
                              c.image_size, ", ", c.image_size, "]");

        tensor<3> patches({batch, np, h});  // [batch, num_patches, hidden_size]
        ops::patch_embed(pixel_values.data(), {batch, c.num_channels, c.image_size, c.image_size, c.patch_size},
                         patch_embedding, patch_bias ? patch_bias->data() : nullptr, patches.data());

        const std::size_t first = class_embedding ? 1 : 0;  // where the patches start
        tensor<3> x({batch, first + np, h});               // [batch, num_positions, hidden_size]
        const std::size_t positions = first + np;
        parallel_for(batch * positions, row_grain(h), [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {
                const std::size_t b = r / positions, s = r % positions;
                const float* from = s < first ? class_embedding->data() : patches.data() + (b * np + s - first) * h;
                const float* position = position_embedding.data() + s * h;
                float* to = x.data() + r * h;
                for (std::size_t i = 0; i < h; ++i) to[i] = from[i] + position[i];
            }
        });
        if (pre_norm) return pre_norm->forward(x);
        return x;
    }
};

}  // namespace mmt::layers
