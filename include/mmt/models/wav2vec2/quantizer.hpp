// Wav2Vec2GumbelVectorQuantizer in eval mode: weight_proj scores every
// codevector of every group for each frame, the hard argmax per group picks one
// (no Gumbel noise at inference), and the picked codevectors are concatenated.
// The per-group indices are the discrete speech units. The perplexity is HF's
// _compute_perplexity of the one-hot choices, over the frames of an optional mask.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/wav2vec2/config.hpp"

namespace mmt::wav2vec2 {

struct quantizer_output {
    tensor<3> quantized_features;        // [batch, frames, codevector_dim]
    int_tensor<3> codevector_indices;    // [batch, frames, num_codevector_groups], each in [0, num_codevectors_per_group)
    float codevector_perplexity = 0.0f;  // summed over the groups
};

struct gumbel_vector_quantizer {
    layers::linear weight_proj;  // [num_groups * num_vars, conv_dim[-1]]
    tensor<2> codevectors;       // [num_groups * num_vars, codevector_dim / num_groups]
    std::size_t num_groups = 0, num_vars = 0;

    // `scope` is "quantizer.".
    static gumbel_vector_quantizer load(const io::weight_scope& scope, const config& c) {
        gumbel_vector_quantizer q;
        q.num_groups = c.num_codevector_groups;
        q.num_vars = c.num_codevectors_per_group;
        const std::size_t rows = q.num_groups * q.num_vars, width = c.codevector_dim / q.num_groups;
        q.weight_proj = layers::linear::load_head(scope.child("weight_proj"), c.conv_dim.back(), rows);
        const tensor<3> stored = scope.get<3>("codevectors", {1, rows, width});
        q.codevectors = tensor<2>::from_shape({rows, width});
        std::copy(stored.begin(), stored.end(), q.codevectors.begin());
        return q;
    }

    std::size_t codevector_dim() const { return num_groups * codevectors.shape(1); }

    // extract_features [batch, frames, conv_dim[-1]] -> the chosen codevector of each group,
    // torch.argmax's first maximum: [batch, frames, num_groups].
    int_tensor<3> code_indices(const tensor<3>& extract_features) const {
        const tensor<3> logits = weight_proj.forward(extract_features);  // [batch, frames, groups * vars]
        const std::size_t rows = logits.shape(0) * logits.shape(1);
        int_tensor<3> indices({logits.shape(0), logits.shape(1), num_groups});
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t g = 0; g < num_groups; ++g) {
                const float* scores = logits.data() + (r * num_groups + g) * num_vars;
                std::size_t best = 0;
                for (std::size_t v = 1; v < num_vars && !std::isnan(scores[best]); ++v)
                    if (std::isnan(scores[v]) || scores[v] > scores[best]) best = v;
                indices.data()[r * num_groups + g] = static_cast<std::int64_t>(best);
            }
        return indices;
    }

    // mask_time_indices: [batch, frames], nonzero on the frames the perplexity counts; empty for all.
    quantizer_output forward(const tensor<3>& extract_features, const int_tensor<2>& mask_time_indices = {}) const {
        const std::size_t batch = extract_features.shape(0), frames = extract_features.shape(1), width = codevectors.shape(1);
        quantizer_output out;
        out.codevector_indices = code_indices(extract_features);
        out.quantized_features = tensor<3>::from_shape({batch, frames, codevector_dim()});
        const bool masked = mask_time_indices.size() != 0;
        if (masked && (mask_time_indices.shape(0) != batch || mask_time_indices.shape(1) != frames))
            fail<shape_error>("wav2vec2 quantizer: mask_time_indices [", mask_time_indices.shape(0), ", ", mask_time_indices.shape(1),
                              "] does not match the ", batch, " x ", frames, " frames");
        // HF sums the one-hot choices in float32; counts stay exact integers there.
        tensor<2> counts = xt::zeros<float>({num_groups, num_vars});
        float counted = 0.0f;
        for (std::size_t r = 0; r < batch * frames; ++r) {
            const bool counts_frame = !masked || mask_time_indices.data()[r] != 0;
            if (counts_frame) counted += 1.0f;
            for (std::size_t g = 0; g < num_groups; ++g) {
                const auto v = static_cast<std::size_t>(out.codevector_indices.data()[r * num_groups + g]);
                const float* src = &codevectors(g * num_vars + v, 0);
                std::copy(src, src + width, out.quantized_features.data() + r * codevector_dim() + g * width);
                if (counts_frame) counts(g, v) += 1.0f;
            }
        }
        // exp(-sum(p * log(p + 1e-7))) per group, summed; p = counts / frames counted.
        for (std::size_t g = 0; g < num_groups; ++g) {
            float entropy = 0.0f;
            for (std::size_t v = 0; v < num_vars; ++v) {
                const float p = counts(g, v) / counted;
                entropy += p * std::log(p + 1e-7f);
            }
            out.codevector_perplexity += std::exp(-entropy);
        }
        return out;
    }
};

}  // namespace mmt::wav2vec2
