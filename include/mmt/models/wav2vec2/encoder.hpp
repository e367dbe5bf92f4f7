// Wav2Vec2Encoder (post-norm: positional conv, LayerNorm, then the layers) and
// Wav2Vec2EncoderStableLayerNorm (pre-norm layers, LayerNorm after them), and
// HuBERT's, WavLM's and Data2VecAudio's, which differ only in the positional conv
// (positional_conv.hpp) and WavLM's gated position bias
// (relative_position_bias.hpp). HF's handling of a frame mask: padded frames are
// zeroed before the positional conv and hidden from attention as keys.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder.hpp"
#include "mmt/layers/encoder_state.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/models/wav2vec2/config.hpp"
#include "mmt/models/wav2vec2/names.hpp"
#include "mmt/models/wav2vec2/positional_conv.hpp"
#include "mmt/models/wav2vec2/relative_position_bias.hpp"

namespace mmt::wav2vec2 {

struct encoder {
    positional_conv_embedding pos_conv_embed;
    layers::layer_norm layer_norm;  // before the layers (post-norm) or after them (stable)
    layers::encoder layers;
    std::optional<gated_position_bias> position_bias;  // WavLM
    bool do_stable_layer_norm = false;

    // `scope` is "<prefix>.encoder.".
    static encoder load(const io::weight_scope& scope, const config& c) {
        encoder e{positional_conv_embedding::load(scope.child("pos_conv_embed"), c),
                  layers::layer_norm::load(scope.child("layer_norm"), c.hidden_size, c.layer_norm_eps),
                  layers::encoder::load(scope.child("layers"), c.num_hidden_layers, encoder_layer_names, c.layer_config()), std::nullopt,
                  c.do_stable_layer_norm};
        if (c.kind == variant::wavlm) e.position_bias = gated_position_bias::load(scope.child("layers"), c);
        return e;
    }

    // hidden: [batch, frames, hidden_size]; frame_mask: [batch, frames] with 0 on padded
    // frames, or empty for none -> last_hidden_state [batch, frames, hidden_size].
    // `hidden_states`, when given, receives HF's output_hidden_states (num_hidden_layers + 1
    // states): post-norm, the LayerNorm's output then each layer's; stable, the input to the
    // layers, the outputs of all but the last, then the final LayerNorm's output.
    tensor<3> forward(tensor<3> hidden, const int_tensor<2>& frame_mask, std::vector<tensor<3>>* hidden_states = nullptr) const {
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
        tensor<3> relative;  // WavLM: [heads, frames, frames], ungated; each layer gates its rows
        if (position_bias) {
            relative = position_bias->position_bias(frames);
            state.bias = {relative.data(), 1, position_bias->heads};
            state.layer_bias_scale = [&](std::size_t layer, const tensor<3>& attention_input) {
                return position_bias->gates_of(layer, attention_input);
            };
        }
        hidden += pos_conv_embed.forward(hidden);
        if (!do_stable_layer_norm) hidden = layer_norm.forward(hidden);
        hidden = layers.forward(std::move(hidden), state, hidden_states);
        if (do_stable_layer_norm) {
            hidden = layer_norm.forward(hidden);
            if (hidden_states) hidden_states->back() = hidden;
        }
        return hidden;
    }
};

}  // namespace mmt::wav2vec2
