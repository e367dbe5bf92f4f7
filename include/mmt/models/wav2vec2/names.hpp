// Where the wav2vec2-like models keep their weights, as HF's Wav2Vec2 / Hubert /
// WavLM / Data2VecAudio classes name them, and the drift between checkpoints.
#pragma once

#include <string>

#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder_layer.hpp"

namespace mmt::wav2vec2 {

// Every variant's encoder layers, post-norm and stable, name their parts alike; only
// the order of the norms differs. WavLM's gate is beside them in "attention."
// (relative_position_bias.hpp), MMS's adapter after them.
inline const layers::encoder_layer_names encoder_layer_names{
    {"attention.q_proj", "attention.k_proj", "attention.v_proj", "attention.out_proj"},
    "layer_norm",
    {"feed_forward.intermediate_dense", "feed_forward.output_dense"},
    "final_layer_norm",
    "adapter_layer"};

// Name drift, all of it:
//  - the positional conv's weight norm is stored as weight_g / weight_v (torch.nn.utils.weight_norm,
//    what the hub's checkpoints hold) or, saved with torch >= 2.1, as
//    parametrizations.weight.original0 / original1 (nn.utils.parametrizations.weight_norm);
//  - the "wav2vec2." / "hubert." / "wavlm." / "data2vec_audio." prefix: see body_scope.
// Nothing is ignored: masked_spec_embed exists exactly when the config has SpecAugment
// probabilities (HF creates the parameter only then) and is loaded as a weight.
inline io::name_table checkpoint_names() {
    return {{{"weight_g", "parametrizations.weight.original0"}, {"weight_v", "parametrizations.weight.original1"}}, {}};
}

// The body (Wav2Vec2Model, HubertModel, ...): under the variant's base_model_prefix
// ("wav2vec2.", ...) in the head models, as HF saves them; a bare body saved by HF has
// it at the root, but from_pretrained also takes a checkpoint of the body saved with
// the prefix, so that is accepted too.
inline io::weight_scope body_scope(const io::weight_scope& root, const std::string& base_model_prefix, bool has_head) {
    if (has_head || root.has(base_model_prefix + ".feature_projection.projection.weight")) return root.child(base_model_prefix);
    return root;
}

}  // namespace mmt::wav2vec2
