// Chinese-CLIP's forward by argument and output names, as HF's ChineseCLIPModel
// returns them (ChineseCLIPOutput; its text model output has no pooler_output).
#pragma once

#include <string>

#include "mmt/models/chinese_clip/chinese_clip_model.hpp"
#include "mmt/models/named_tensors.hpp"

namespace mmt::chinese_clip {

inline named_outputs forward_named(const chinese_clip_model& model, const named_inputs& in) {
    const std::string who = architecture_name(model.config.arch);
    const chinese_clip_output o = model.forward(in.get_ints<2>("input_ids", who), in.get_ints_or_empty<2>("attention_mask", who),
                                                in.get_ints_or_empty<2>("token_type_ids", who), in.get_floats<4>("pixel_values", who));
    named_outputs out;
    auto add = [&](const std::string& name, const auto& t) { out.emplace_back(name, dyn_tensor<float>(t)); };
    add("logits_per_image", o.logits_per_image);
    add("logits_per_text", o.logits_per_text);
    add("text_embeds", o.text_embeds);
    add("image_embeds", o.image_embeds);
    add("text_model.last_hidden_state", o.text_last_hidden_state);
    add("vision_model.last_hidden_state", o.vision_model_output.last_hidden_state);
    add("vision_model.pooler_output", o.vision_model_output.pooler_output);
    return out;
}

}  // namespace mmt::chinese_clip
