// SigLIP's forward by argument and output names, as HF's three SigLIP heads return
// them (SiglipOutput, BaseModelOutputWithPooling).
#pragma once

#include <string>

#include "mmt/models/named_tensors.hpp"
#include "mmt/models/siglip/siglip_model.hpp"

namespace mmt::siglip {

inline named_outputs forward_named(const siglip_model& model, const named_inputs& in) {
    const std::string who = architecture_name(model.config.arch);
    named_outputs out;
    auto add = [&](const std::string& name, const auto& t) { out.emplace_back(name, dyn_tensor<float>(t)); };
    auto add_tower = [&](const std::string& prefix, const tower_output& o) {
        add(prefix + "last_hidden_state", o.last_hidden_state);
        add(prefix + "pooler_output", o.pooler_output);
    };
    switch (model.config.arch) {
        case architecture::model: {
            const siglip_output o = model.forward(in.get_ints<2>("input_ids", who), in.get_ints_or_empty<2>("attention_mask", who),
                                                  in.get_floats<4>("pixel_values", who));
            add("logits_per_image", o.logits_per_image);
            add("logits_per_text", o.logits_per_text);
            add("text_embeds", o.text_embeds);
            add("image_embeds", o.image_embeds);
            add_tower("text_model.", o.text_model_output);
            add_tower("vision_model.", o.vision_model_output);
            break;
        }
        case architecture::text_model:
            add_tower("", model.text_forward(in.get_ints<2>("input_ids", who), in.get_ints_or_empty<2>("attention_mask", who)));
            break;
        case architecture::vision_model: add_tower("", model.vision_forward(in.get_floats<4>("pixel_values", who))); break;
    }
    return out;
}

}  // namespace mmt::siglip
