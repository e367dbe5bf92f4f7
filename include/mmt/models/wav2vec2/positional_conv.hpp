// Wav2Vec2PositionalConvEmbedding: a grouped Conv1d over time (kernel
// num_conv_pos_embeddings, padding kernel / 2, weight norm over the kernel
// dimension), the extra frame an even kernel produces dropped
// (Wav2Vec2SamePadLayer), then the activation. Added to the hidden states
// before the encoder layers.
#pragma once

#include <cstddef>
#include <cstring>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/wav2vec2/config.hpp"
#include "mmt/ops/activations.hpp"
#include "mmt/ops/conv1d.hpp"
#include "mmt/ops/weight_norm.hpp"

namespace mmt::wav2vec2 {

struct positional_conv_embedding {
    ops::conv1d_weights weight;  // [hidden_size, hidden_size / groups, kernel], weight norm applied
    tensor<1> bias;             // [hidden_size]
    std::size_t hidden_size = 0, kernel = 0, groups = 1;
    ops::activation act = ops::activation::gelu;

    // `scope` is "[wav2vec2.]encoder.pos_conv_embed.". The weight is fixed at inference, so
    // g * v / ||v|| is computed once here rather than at every forward as PyTorch does.
    static positional_conv_embedding load(const io::weight_scope& scope, const config& c) {
        positional_conv_embedding p;
        p.hidden_size = c.hidden_size;
        p.kernel = c.num_conv_pos_embeddings;
        p.groups = c.num_conv_pos_embedding_groups;
        p.act = c.feat_extract_act();
        const std::size_t per_group = p.hidden_size / p.groups;
        const io::weight_scope conv = scope.child("conv");
        const tensor<3> g = conv.get<3>("weight_g", {1, 1, p.kernel});
        tensor<3> w = conv.get<3>("weight_v", {p.hidden_size, per_group, p.kernel});
        ops::weight_norm(w.data(), g.data(), {p.hidden_size, per_group, p.kernel}, 2, w.data());
        p.weight = ops::conv1d_weights(w.data(), p.hidden_size, per_group, p.kernel, p.groups, scope.options().linear);
        p.bias = conv.get<1>("bias", {p.hidden_size});
        return p;
    }

    // [batch, frames, hidden_size] -> [batch, frames, hidden_size]
    tensor<3> forward(const tensor<3>& x) const {
        const std::size_t batch = x.shape(0), frames = x.shape(1);
        const ops::conv1d_shape s{batch, frames, hidden_size, hidden_size, kernel, 1, kernel / 2, groups};
        tensor<3> y({batch, frames, hidden_size});
        if (s.out_length() == frames) {
            ops::conv1d(x.data(), s, weight, bias.data(), y.data(), act);
        } else {  // an even kernel gives frames + 1 outputs; the last is dropped
            tensor<3> full({batch, s.out_length(), hidden_size});
            ops::conv1d(x.data(), s, weight, bias.data(), full.data(), act);
            for (std::size_t b = 0; b < batch; ++b)
                std::memcpy(&y(b, 0, 0), &full(b, 0, 0), frames * hidden_size * sizeof(float));
        }
        return y;
    }
};

}  // namespace mmt::wav2vec2
