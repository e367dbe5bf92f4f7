// SiglipModel, SiglipTextModel and SiglipVisionModel (transformers 4.45,
// models/siglip/modeling_siglip.py), chosen by config.json's `architectures`.
// Loaded once, then const: forward may be called from many threads at once.
#pragma once

#include <cmath>
#include <filesystem>
#include <optional>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "mmt/models/pretrained.hpp"
#include "mmt/models/siglip/config.hpp"
#include "mmt/models/siglip/towers.hpp"

namespace mmt::siglip {

// HF's SiglipOutput.
struct siglip_output {
    tensor<2> logits_per_image;  // [image_batch, text_batch]
    tensor<2> logits_per_text;   // [text_batch, image_batch]
    tensor<2> text_embeds;       // [text_batch, text hidden_size], L2-normalised
    tensor<2> image_embeds;      // [image_batch, vision hidden_size], L2-normalised
    tower_output text_model_output;
    tower_output vision_model_output;
};

// No renamed tensors; checkpoints converted by older transformers carry the position_ids buffer.
inline io::name_table checkpoint_names() { return {{}, {"embeddings.position_ids"}}; }

struct siglip_model {
    siglip::config config;
    std::optional<text_tower> text_model;
    std::optional<vision_tower> vision_model;
    float logit_scale = 0;  // log of the scale; SiglipModel only
    float logit_bias = 0;

    static siglip_model from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        return load_pretrained<siglip_model, siglip::config>(dir, checkpoint_names(), options);
    }

    // Takes every tensor `c` needs from `loader`; one left over is an error.
    static siglip_model load(const siglip::config& c, io::weight_loader& loader) {
        const io::weight_scope root = loader.root();
        siglip_model m;
        m.config = c;
        if (c.has_text()) m.text_model = text_tower::load(root.child("text_model"), c.text);
        if (c.has_vision()) m.vision_model = vision_tower::load(root.child("vision_model"), c.vision);
        if (c.arch == architecture::model) {
            m.logit_scale = root.get<1>("logit_scale", {1})(0);
            m.logit_bias = root.get<1>("logit_bias", {1})(0);
        }
        loader.check_all_used();
        return m;
    }

    // input_ids, attention_mask: [batch, seq_len] (attention_mask may be empty).
    tower_output text_forward(const int_tensor<2>& input_ids, const int_tensor<2>& attention_mask) const {
        if (!text_model) fail<input_error>(architecture_name(config.arch), " has no text tower");
        return text_model->forward(input_ids, attention_mask);
    }
    // pixel_values: [batch, num_channels, image_size, image_size]
    tower_output vision_forward(const tensor<4>& pixel_values) const {
        if (!vision_model) fail<input_error>(architecture_name(config.arch), " has no vision tower");
        return vision_model->forward(pixel_values);
    }

    // SiglipModel.forward: both towers, normalised poolers, and
    // logits_per_text = text_embeds image_embeds^T * exp(logit_scale) + logit_bias (sigmoid of
    // which is SigLIP's probability).
    siglip_output forward(const int_tensor<2>& input_ids, const int_tensor<2>& attention_mask, const tensor<4>& pixel_values) const {
        if (config.arch != architecture::model)
            fail<input_error>("siglip_model::forward needs a SiglipModel checkpoint, this one is ", architecture_name(config.arch));
        siglip_output out;
        out.text_model_output = text_forward(input_ids, attention_mask);
        out.vision_model_output = vision_forward(pixel_values);
        out.text_embeds = clip::l2_normalize(out.text_model_output.pooler_output);
        out.image_embeds = clip::l2_normalize(out.vision_model_output.pooler_output);
        out.logits_per_text = similarity(out.text_embeds, out.image_embeds);
        out.logits_per_image = xt::transpose(out.logits_per_text);
        return out;
    }

    // exp(logit_scale) * a b^T + logit_bias for normalised embeddings a [n, d], b [m, d] -> [n, m].
    tensor<2> similarity(const tensor<2>& a, const tensor<2>& b) const {
        return clip::scaled_similarity(a, b, std::exp(logit_scale), logit_bias, "SigLIP");
    }
};

}  // namespace mmt::siglip
