// Wav2Vec2FeatureEncoder: the stack of strided Conv1d layers that turns raw
// samples into frames (one per inputs_to_logits_ratio samples). With
// feat_extract_norm "group" the first layer is followed by a GroupNorm with one
// group per channel (normalising each channel over time; HF stores it under the
// name layer_norm) and the others by nothing (Wav2Vec2GroupNormConvLayer,
// Wav2Vec2NoLayerNormConvLayer); with "layer" every conv is followed by a
// LayerNorm over channels (Wav2Vec2LayerNormConvLayer). Then the activation.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/scratch_pool.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/wav2vec2/conv_stack_config.hpp"
#include "mmt/ops/activations.hpp"
#include "mmt/ops/conv1d.hpp"
#include "mmt/ops/group_norm.hpp"
#include "mmt/ops/layer_norm.hpp"

namespace mmt::wav2vec2 {

struct feature_conv_layer {
    enum class norm_kind { none, group, layer };

    ops::conv1d_weights weight;  // HF's [out_channels, in_channels, kernel], prepared for ops::conv1d
    tensor<1> bias;             // [out_channels], empty without conv_bias
    std::size_t in_channels = 0, out_channels = 0, kernel = 0, stride = 0;
    norm_kind norm = norm_kind::none;
    tensor<1> norm_weight, norm_bias;  // [out_channels] when norm != none
    float norm_eps = 1e-5f;

    // `scope` is "...conv_layers.<i>.".
    static feature_conv_layer load(const io::weight_scope& scope, const conv_stack_config& c, std::size_t i, norm_kind norm) {
        feature_conv_layer l;
        l.in_channels = i == 0 ? 1 : c.conv_dim[i - 1];
        l.out_channels = c.conv_dim[i];
        l.kernel = c.conv_kernel[i];
        l.stride = c.conv_stride[i];
        const io::weight_scope conv = scope.child("conv");
        const mmt::precision precision = conv.linear_precision();
        const auto w = conv.get_packed<3>("weight", {l.out_channels, l.in_channels, l.kernel}, precision);
        l.weight = ops::conv1d_weights(w.values().data(), l.out_channels, l.in_channels, l.kernel, 1, precision, w.row_scales());
        if (c.conv_bias) l.bias = conv.get<1>("bias", {l.out_channels});
        l.norm = norm;
        l.norm_eps = c.norm_eps;
        if (norm != norm_kind::none) {
            l.norm_weight = scope.child("layer_norm").get<1>("weight", {l.out_channels});
            l.norm_bias = scope.child("layer_norm").get<1>("bias", {l.out_channels});
        }
        return l;
    }

    ops::conv1d_shape shape(std::size_t batch, std::size_t frames) const { return {batch, frames, in_channels, out_channels, kernel, stride, 0, 1}; }
    std::size_t out_frames(std::size_t frames) const { return shape(1, frames).out_length(); }

    // x [batch, frames, in_channels] -> y [batch, out_frames(frames), out_channels]:
    // conv, norm, then `act`, applied by the op that writes the output last (the
    // outputs are up to 200 MB at 30 s of audio: a pass of its own would stream
    // them again).
    void forward(const float* x, std::size_t batch, std::size_t frames, float* y, ops::activation act) const {
        const ops::conv1d_shape s = shape(batch, frames);
        const std::size_t out = s.out_length();
        const float* b = bias.size() ? bias.data() : nullptr;
        switch (norm) {
            case norm_kind::none: ops::conv1d(x, s, weight, b, y, act); break;
            case norm_kind::group:
                ops::conv1d(x, s, weight, b, y);
                ops::group_norm(y, batch, out, out_channels, out_channels, norm_weight.data(), norm_bias.data(), norm_eps, y, act);
                break;
            case norm_kind::layer:
                ops::conv1d(x, s, weight, b, y);
                ops::layer_norm(y, batch * out, out_channels, norm_weight.data(), norm_bias.data(), norm_eps, y);
                ops::apply_activation(act, y, batch * out * out_channels);
                break;
        }
    }
};

struct feature_encoder {
    std::vector<feature_conv_layer> conv_layers;
    ops::activation act = ops::activation::gelu;
    std::size_t min_input_length = 1;  // samples that give one frame
    // The activations between the layers (65 MB after the first at 10 s of audio), kept between calls.
    std::shared_ptr<scratch_pool> scratch = std::make_shared<scratch_pool>();

    // `scope` is "[wav2vec2.]feature_extractor.".
    static feature_encoder load(const io::weight_scope& scope, const conv_stack_config& c) {
        using norm_kind = feature_conv_layer::norm_kind;
        feature_encoder e;
        e.act = c.activation;
        const bool layer = c.norm == conv_norm::layer;
        for (std::size_t i = 0; i < c.conv_dim.size(); ++i) {
            const norm_kind norm = layer ? norm_kind::layer : i == 0 ? norm_kind::group : norm_kind::none;
            e.conv_layers.push_back(feature_conv_layer::load(scope.child("conv_layers").child(i), c, i, norm));
        }
        e.min_input_length = c.min_input_length();
        return e;
    }

    std::size_t output_channels() const { return conv_layers.back().out_channels; }

    // input_values: [batch, samples] -> [batch, frames, conv_dim[-1]] (HF's extract_features before
    // the transpose it does afterwards). Fewer samples than one frame needs is an input_error.
    // The layers before the last write into two buffers leased from `scratch` in turn.
    tensor<3> forward(const tensor<2>& input_values) const {
        const std::size_t batch = input_values.shape(0);
        if (input_values.shape(1) < min_input_length)
            fail<input_error>("wav2vec2 feature encoder: input_values has ", input_values.shape(1),
                              " samples, fewer than one frame of the feature encoder needs; expected at least ", min_input_length);
        std::size_t size[2] = {0, 0}, frames = input_values.shape(1);  // floats of the layers written into each buffer
        for (std::size_t i = 0; i + 1 < conv_layers.size(); ++i) {
            frames = conv_layers[i].out_frames(frames);
            size[i % 2] = std::max(size[i % 2], batch * frames * conv_layers[i].out_channels);
        }
        const scratch_pool::lease buffers[2] = {scratch->take(size[0]), scratch->take(size[1])};
        const float* x = input_values.data();  // [batch, samples, 1]
        frames = input_values.shape(1);
        for (std::size_t i = 0; i + 1 < conv_layers.size(); ++i) {
            conv_layers[i].forward(x, batch, frames, buffers[i % 2].data(), act);
            x = buffers[i % 2].data();
            frames = conv_layers[i].out_frames(frames);
        }
        const feature_conv_layer& last = conv_layers.back();
        tensor<3> y({batch, last.out_frames(frames), last.out_channels});
        last.forward(x, batch, frames, y.data(), act);
        return y;
    }
};

}  // namespace mmt::wav2vec2
