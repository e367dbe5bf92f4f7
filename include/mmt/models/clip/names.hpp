// Where CLIP keeps its weights, as HF's CLIPModel names them.
#pragma once

#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder_layer.hpp"
#include "mmt/layers/vit_embeddings.hpp"

namespace mmt::clip {

// CLIPEncoderLayer, the same in both towers.
inline const layers::encoder_layer_names encoder_layer_names{
    {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj"},
    "layer_norm1",
    {"mlp.fc1", "mlp.fc2"},
    "layer_norm2"};

// CLIPVisionEmbeddings and the LayerNorm after it, under "vision_model.".
inline const layers::vit_embeddings_names vision_embeddings_names{"embeddings", "pre_layrnorm"};

// CLIP checkpoints have no renamed tensors; older ones carry the position_ids buffer.
inline io::name_table checkpoint_names() { return {{}, {"embeddings.position_ids"}}; }

}  // namespace mmt::clip
