// The positional convolution added to the hidden states before the encoder layers:
//  - Wav2Vec2PositionalConvEmbedding (Wav2Vec2, HuBERT, WavLM): one grouped Conv1d over
//    time, kernel num_conv_pos_embeddings, weight norm over the kernel dimension;
//  - Data2VecAudioPositionalConvEmbedding: num_conv_pos_embeddings such convs of kernel
//    conv_pos_kernel_size, plain weights, each followed by a LayerNorm over channels
//    without affine parameters (eps 1e-5).
// Each conv pads kernel / 2 frames on both sides, drops the extra frame an even kernel
// produces (the SamePadLayer), then applies feat_extract_activation.
#pragma once

#include <cstddef>
#include <cstring>
#include <optional>
#include <vector>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/wav2vec2/config.hpp"
#include "mmt/ops/activations.hpp"
#include "mmt/ops/conv1d.hpp"
#include "mmt/ops/layer_norm.hpp"
#include "mmt/ops/weight_norm.hpp"

namespace mmt::wav2vec2 {

struct positional_conv_embedding {
    struct conv_layer {
        ops::conv1d_weights weight;  // [hidden_size, hidden_size / groups, kernel]
        tensor<1> bias;              // [hidden_size]
    };
    std::vector<conv_layer> layers;
    bool layer_norm = false;  // Data2VecAudio's LayerNorm after each conv
    std::size_t hidden_size = 0, kernel = 0, groups = 1;
    ops::activation act = ops::activation::gelu;

    // `scope` is "<prefix>.encoder.pos_conv_embed.". A weight-normed conv is fixed at
    // inference, so g * v / ||v|| is computed once here rather than at every forward as PyTorch does.
    static positional_conv_embedding load(const io::weight_scope& scope, const config& c) {
        positional_conv_embedding p;
        p.hidden_size = c.hidden_size;
        p.kernel = c.positional_conv_kernel();
        p.groups = c.num_conv_pos_embedding_groups;
        p.act = c.feat_extract_act();
        p.layer_norm = c.kind == variant::data2vec_audio;
        const std::size_t per_group = p.hidden_size / p.groups;
        const auto add_layer = [&](const io::weight_scope& conv, const float* w, mmt::precision precision, const float* int8_scales) {
            p.layers.push_back({ops::conv1d_weights(w, p.hidden_size, per_group, p.kernel, p.groups, precision, int8_scales),
                                conv.get<1>("bias", {p.hidden_size})});
        };
        if (p.layer_norm) {
            for (std::size_t i = 0; i < c.positional_conv_layers(); ++i) {
                const io::weight_scope conv = scope.child("layers").child(i).child("conv");
                const mmt::precision precision = conv.linear_precision();
                const auto w = conv.get_packed<3>("weight", {p.hidden_size, per_group, p.kernel}, precision);
                add_layer(conv, w.values().data(), precision, w.row_scales());
            }
        } else {
            const io::weight_scope conv = scope.child("conv");
            const tensor<3> g = conv.get<3>("weight_g", {1, 1, p.kernel});
            tensor<3> w = conv.get<3>("weight_v", {p.hidden_size, per_group, p.kernel});
            ops::weight_norm(w.data(), g.data(), {p.hidden_size, per_group, p.kernel}, 2, w.data());
            add_layer(conv, w.data(), conv.linear_precision(), nullptr);  // computed, so never stored quantised: packed here in any precision
        }
        return p;
    }

    // [batch, frames, hidden_size] -> [batch, frames, hidden_size]
    tensor<3> forward(const tensor<3>& x) const {
        tensor<3> h = x;
        for (const conv_layer& l : layers) h = forward_layer(l, h);
        return h;
    }

private:
    tensor<3> forward_layer(const conv_layer& l, const tensor<3>& x) const {
        const std::size_t batch = x.shape(0), frames = x.shape(1);
        const ops::conv1d_shape s{batch, frames, hidden_size, hidden_size, kernel, 1, kernel / 2, groups};
        // Without a LayerNorm the activation runs in the conv's epilogue.
        const std::optional<ops::activation> fused = layer_norm ? std::nullopt : std::optional<ops::activation>(act);
        tensor<3> y({batch, frames, hidden_size});
        if (s.out_length() == frames) {
            ops::conv1d(x.data(), s, l.weight, l.bias.data(), y.data(), fused);
        } else {  // an even kernel gives frames + 1 outputs; the last is dropped
            tensor<3> full({batch, s.out_length(), hidden_size});
            ops::conv1d(x.data(), s, l.weight, l.bias.data(), full.data(), fused);
            for (std::size_t b = 0; b < batch; ++b) std::memcpy(&y(b, 0, 0), &full(b, 0, 0), frames * hidden_size * sizeof(float));
        }
        if (layer_norm) {
            const std::vector<float> ones(hidden_size, 1.0f), zeros(hidden_size, 0.0f);  // no affine parameters
            ops::layer_norm(y.data(), batch * frames, hidden_size, ones.data(), zeros.data(), 1e-5f, y.data());
            ops::apply_activation(act, y.data(), y.size());
        }
        return y;
    }
};

}  // namespace mmt::wav2vec2
