// Where Wav2Vec2 keeps its weights, as HF's Wav2Vec2Model / Wav2Vec2ForCTC /
// Wav2Vec2ForPreTraining name them, and the drift between checkpoints.
#pragma once

#include <string>

#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder_layer.hpp"

namespace mmt::wav2vec2 {

// Wav2Vec2EncoderLayer and Wav2Vec2EncoderLayerStableLayerNorm name their parts alike;
// only the order of the norms differs.
inline const layers::encoder_layer_names encoder_layer_names{
    {"attention.q_proj", "attention.k_proj", "attention.v_proj", "attention.out_proj"},
    "layer_norm",
    {"feed_forward.intermediate_dense", "feed_forward.output_dense"},
    "final_layer_norm"};

// HF's base_model_prefix: the head models keep the Wav2Vec2Model body under it.
inline const std::string base_model_prefix = "wav2vec2";

// Name drift, all of it:
//  - the positional conv's weight norm is stored as weight_g / weight_v (torch.nn.utils.weight_norm,
//    what the hub's checkpoints hold) or, saved with torch >= 2.1, as
//    parametrizations.weight.original0 / original1 (nn.utils.parametrizations.weight_norm);
//  - the "wav2vec2." prefix: see body_scope.
// Nothing is ignored: masked_spec_embed exists exactly when the config has SpecAugment
// probabilities (HF creates the parameter only then) and is loaded as a weight.
inline io::name_table checkpoint_names() {
    return {{{"weight_g", "parametrizations.weight.original0"}, {"weight_v", "parametrizations.weight.original1"}}, {}};
}

// The Wav2Vec2Model body: under "wav2vec2." in the head models, as HF saves them; a
// bare Wav2Vec2Model saved by HF has it at the root, but from_pretrained also takes a
// checkpoint of the body saved with the prefix, so that is accepted too.
inline io::weight_scope body_scope(const io::weight_scope& root, bool has_head) {
    if (has_head || root.has(base_model_prefix + ".feature_projection.projection.weight")) return root.child(base_model_prefix);
    return root;
}

}  // namespace mmt::wav2vec2
