// What the CLIP towers and CLIPModel return (HF's BaseModelOutputWithPooling, CLIPOutput).
#pragma once

#include "mmt/core/xtensor.hpp"

namespace mmt::clip {

struct tower_output {
    tensor<3> last_hidden_state;  // [batch, seq_len, hidden_size]
    tensor<2> pooler_output;      // [batch, hidden_size]
};

struct clip_output {
    tensor<2> logits_per_image;  // [image_batch, text_batch]
    tensor<2> logits_per_text;   // [text_batch, image_batch]
    tensor<2> text_embeds;       // [text_batch, projection_dim], L2-normalised
    tensor<2> image_embeds;      // [image_batch, projection_dim], L2-normalised
    tower_output text_model_output;
    tower_output vision_model_output;
};

}  // namespace mmt::clip
