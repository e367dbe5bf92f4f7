// Wav2Vec2Encoder (post-norm: positional conv, LayerNorm, then the layers) and
// Wav2Vec2EncoderStableLayerNorm (pre-norm layers, LayerNorm after them), with
// HF's handling of a frame mask: padded frames are zeroed before the positional
// conv and hidden from attention as keys.
#pragma once

#include <cstddef>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder.hpp"
#include "mmt/layers/encoder_state.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/models/wav2vec2/config.hpp"
#include "mmt/models/wav2vec2/names.hpp"
#include "mmt/models/wav2vec2/positional_conv.hpp"

namespace mmt::wav2vec2 {

struct encoder {
    positional_conv_embedding pos_conv_embed;
    layers::layer_norm layer_norm;  // before the layers (post-norm) or after them (stable)
    layers::encoder layers;
    bool do_stable_layer_norm = false;

    // `scope` is "[wav2vec2.]encoder.".
    static encoder load(const io::weight_scope& scope, const config& c) {
        return {positional_conv_embedding::load(scope.child("pos_conv_embed"), c),
                layers::layer_norm::load(scope.child("layer_norm"), c.hidden_size, c.layer_norm_eps),
                layers::encoder::load(scope.child("layers"), c.num_hidden_layers, encoder_layer_names, c.layer_config()),
                c.do_stable_layer_norm};
    }

    // hidden: [batch, frames, hidden_size]; frame_mask: [batch, frames] with 0 on padded
    // frames, or empty for none -> last_hidden_state [batch, frames, hidden_size].
    tensor<3> forward(tensor<3> hidden, const int_tensor<2>& frame_mask) const {
        const std::size_t batch = hidden.shape(0), frames = hidden.shape(1), width = hidden.shape(2);
        layers::encoder_state state;
        if (frame_mask.size() != 0) {
            if (frame_mask.shape(0) != batch || frame_mask.shape(1) != frames)
                fail<shape_error>("wav2vec2 encoder: frame mask [", frame_mask.shape(0), ", ", frame_mask.shape(1),
                                  "] does not match hidden states [", batch, ", ", frames, ", ", width, "]");
            for (std::size_t b = 0; b < batch; ++b)
                for (std::size_t t = 0; t < frames; ++t)
                    if (frame_mask(b, t) == 0)
                        for (std::size_t i = 0; i < width; ++i) hidden(b, t, i) = 0.0f;
            state.mask.key_padding = frame_mask.data();
        }
        hidden += pos_conv_embed.forward(hidden);
        if (!do_stable_layer_norm) hidden = layer_norm.forward(hidden);
        hidden = layers.forward(std::move(hidden), state);
        if (do_stable_layer_norm) hidden = layer_norm.forward(hidden);
        return hidden;
    }
};

}  // namespace mmt::wav2vec2
