// Wav2Vec2ForSequenceClassification's head, which HuBERT, WavLM and Data2VecAudio
// share: `projector` (hidden_size -> classifier_proj_size) on every frame, then the
// mean over the frames (over the valid ones with a frame mask: their sum divided by
// their number), then `classifier`. With use_weighted_layer_sum the projector reads
// sum_i softmax(layer_weights)_i * hidden_states[i] instead of the last hidden state.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/wav2vec2/config.hpp"

namespace mmt::wav2vec2 {

struct sequence_classification_head {
    tensor<1> layer_weights;    // [num_hidden_layers + 1], with use_weighted_layer_sum; empty otherwise
    layers::linear projector;   // [classifier_proj_size, hidden_size]
    layers::linear classifier;  // [num_labels, classifier_proj_size]

    // `root` is the checkpoint's root scope (the head sits beside "<prefix>.").
    static sequence_classification_head load(const io::weight_scope& root, const config& c) {
        sequence_classification_head h;
        if (c.use_weighted_layer_sum) h.layer_weights = root.get<1>("layer_weights", {c.num_hidden_layers + 1});
        h.projector = layers::linear::load_head(root.child("projector"), c.hidden_size, c.classifier_proj_size);
        h.classifier = layers::linear::load_head(root.child("classifier"), c.classifier_proj_size, c.num_labels());
        return h;
    }

    bool weighted() const { return layer_weights.size() != 0; }

    // hidden_states: the encoder's states (all num_hidden_layers + 1 when weighted(), else at
    // least the last), each [batch, frames, hidden_size]; frame_mask: [batch, frames] of 0 / 1
    // or empty -> logits [batch, num_labels]
    tensor<2> forward(const std::vector<tensor<3>>& hidden_states, const int_tensor<2>& frame_mask) const {
        const tensor<3> projected = projector.forward(weighted() ? weighted_sum(hidden_states) : hidden_states.back());
        const std::size_t batch = projected.shape(0), frames = projected.shape(1), width = projected.shape(2);
        tensor<2> pooled = xt::zeros<float>({batch, width});
        for (std::size_t b = 0; b < batch; ++b) {
            std::size_t valid = 0;
            for (std::size_t t = 0; t < frames; ++t) {
                if (frame_mask.size() != 0 && frame_mask(b, t) == 0) continue;
                ++valid;
                for (std::size_t i = 0; i < width; ++i) pooled(b, i) += projected(b, t, i);
            }
            for (std::size_t i = 0; i < width; ++i) pooled(b, i) /= float(valid);
        }
        return classifier.forward(pooled);
    }

private:
    tensor<3> weighted_sum(const std::vector<tensor<3>>& hidden_states) const {
        if (hidden_states.size() != layer_weights.size())
            fail<shape_error>("sequence classification: ", hidden_states.size(), " hidden states for ", layer_weights.size(),
                              " layer_weights");
        std::vector<float> w(layer_weights.begin(), layer_weights.end());  // softmax, as torch takes it
        const float max = *std::max_element(w.begin(), w.end());
        float sum = 0.0f;
        for (float& v : w) sum += v = std::exp(v - max);
        tensor<3> out = hidden_states[0] * (w[0] / sum);
        for (std::size_t i = 1; i < w.size(); ++i) out += hidden_states[i] * (w[i] / sum);
        return out;
    }
};

}  // namespace mmt::wav2vec2
