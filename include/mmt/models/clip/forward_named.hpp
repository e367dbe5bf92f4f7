// CLIP's forward by argument and output names, as HF's five CLIP heads return
// them (CLIPOutput, BaseModelOutputWithPooling, CLIP{Text,Vision}ModelOutput).
#pragma once

#include "mmt/models/clip/clip_model.hpp"
#include "mmt/models/named_tensors.hpp"

namespace mmt::clip {

inline named_outputs forward_named(const clip_model& model, const named_inputs& in) {
    const std::string who = architecture_name(model.config.arch);
    named_outputs out;
    auto add = [&](const std::string& name, const auto& t) { out.emplace_back(name, dyn_tensor<float>(t)); };
    switch (model.config.arch) {
        case architecture::clip_model: {
            const clip_output o = model.forward(in.get_ints<2>("input_ids", who), in.get_ints_or_empty<2>("attention_mask", who),
                                                in.get_floats<4>("pixel_values", who));
            add("logits_per_image", o.logits_per_image);
            add("logits_per_text", o.logits_per_text);
            add("text_embeds", o.text_embeds);
            add("image_embeds", o.image_embeds);
            add("text_model.last_hidden_state", o.text_model_output.last_hidden_state);
            add("text_model.pooler_output", o.text_model_output.pooler_output);
            add("vision_model.last_hidden_state", o.vision_model_output.last_hidden_state);
            add("vision_model.pooler_output", o.vision_model_output.pooler_output);
            break;
        }
        case architecture::text_model:
        case architecture::text_model_with_projection: {
            const tower_output o = model.text_forward(in.get_ints<2>("input_ids", who), in.get_ints_or_empty<2>("attention_mask", who));
            if (model.text_projection) add("text_embeds", model.text_projection->forward(o.pooler_output));
            add("last_hidden_state", o.last_hidden_state);
            if (!model.text_projection) add("pooler_output", o.pooler_output);
            break;
        }
        case architecture::vision_model:
        case architecture::vision_model_with_projection: {
            const tower_output o = model.vision_forward(in.get_floats<4>("pixel_values", who));
            if (model.visual_projection) add("image_embeds", model.visual_projection->forward(o.pooler_output));
            add("last_hidden_state", o.last_hidden_state);
            if (!model.visual_projection) add("pooler_output", o.pooler_output);
            break;
        }
    }
    return out;
}

}  // namespace mmt::clip
