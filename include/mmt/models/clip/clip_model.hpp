// CLIPModel and the four single-tower heads (CLIPTextModel[WithProjection],
// CLIPVisionModel[WithProjection]), chosen by config.json's `architectures`.
#pragma once

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <optional>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/clip/config.hpp"
#include "mmt/models/clip/names.hpp"
#include "mmt/models/clip/outputs.hpp"
#include "mmt/models/clip/text_model.hpp"
#include "mmt/models/clip/vision_model.hpp"
#include "mmt/models/pretrained.hpp"

namespace mmt::clip {

// Rows scaled to unit L2 norm, as HF's `x / x.norm(p=2, dim=-1, keepdim=True)`.
inline tensor<2> l2_normalize(const tensor<2>& x) {
    tensor<2> y = x;
    for (std::size_t r = 0; r < y.shape(0); ++r) {
        double sq = 0;
        for (std::size_t i = 0; i < y.shape(1); ++i) sq += double(y(r, i)) * y(r, i);
        const float inv = static_cast<float>(1.0 / std::sqrt(sq));
        for (std::size_t i = 0; i < y.shape(1); ++i) y(r, i) *= inv;
    }
    return y;
}

// a b^T * scale + bias for L2-normalised embeddings a [n, d], b [m, d] -> [n, m]:
// CLIP's logits (scale exp(logit_scale), no bias) and SigLIP's (with logit_bias).
// `who` names the model in errors.
inline tensor<2> scaled_similarity(const tensor<2>& a, const tensor<2>& b, float scale, float bias, const char* who) {
    if (a.shape(1) != b.shape(1))
        fail<shape_error>(who, " similarity: embeddings of width ", a.shape(1), " and ", b.shape(1), " cannot be compared");
    tensor<2> logits({a.shape(0), b.shape(0)});
    for (std::size_t i = 0; i < a.shape(0); ++i)
        for (std::size_t j = 0; j < b.shape(0); ++j) {
            float dot = 0;
            for (std::size_t k = 0; k < a.shape(1); ++k) dot += a(i, k) * b(j, k);
            logits(i, j) = dot * scale + bias;
        }
    return logits;
}

// Loaded once, then const: forward may be called from many threads at once.
struct clip_model {
    clip::config config;
    std::optional<text_transformer> text_model;
    std::optional<vision_transformer> vision_model;
    std::optional<layers::linear> text_projection;    // [projection_dim, text hidden_size], no bias
    std::optional<layers::linear> visual_projection;  // [projection_dim, vision hidden_size], no bias
    float logit_scale = 0;                            // log of the temperature; CLIPModel only

    // A directory as the hub has it: config.json + model.safetensors (or shards).
    static clip_model from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        return load_pretrained<clip_model, clip::config>(dir, checkpoint_names(), options);
    }

    // Takes every tensor `c` needs from `loader`; one left over is an error.
    static clip_model load(const clip::config& c, io::weight_loader& loader) {
        const io::weight_scope root = loader.root();
        clip_model m;
        m.config = c;
        const bool both = c.arch == architecture::clip_model;
        if (c.has_text()) {
            m.text_model = text_transformer::load(root.child("text_model"), c.text.transformer());
            if (both || c.arch == architecture::text_model_with_projection)
                m.text_projection = layers::linear::load_head(root.child("text_projection"), c.text.hidden_size,
                                                              both ? c.projection_dim : c.text.projection_dim, false);
        }
        if (c.has_vision()) {
            m.vision_model = vision_transformer::load(root.child("vision_model"), c.vision);
            if (both || c.arch == architecture::vision_model_with_projection)
                m.visual_projection = layers::linear::load_head(root.child("visual_projection"), c.vision.hidden_size,
                                                                both ? c.projection_dim : c.vision.projection_dim, false);
        }
        if (both) m.logit_scale = root.get<0>("logit_scale", {})();
        loader.check_all_used();
        return m;
    }

    // input_ids, attention_mask: [batch, seq_len] (attention_mask may be empty).
    tower_output text_forward(const int_tensor<2>& input_ids, const int_tensor<2>& attention_mask) const {
        return require_text().forward(input_ids, attention_mask);
    }
    // pixel_values: [batch, num_channels, image_size, image_size]
    tower_output vision_forward(const tensor<4>& pixel_values) const { return require_vision().forward(pixel_values); }

    // HF's get_text_features: the projected pooled output, not normalised. [batch, projection_dim]
    tensor<2> get_text_features(const int_tensor<2>& input_ids, const int_tensor<2>& attention_mask) const {
        return project_text(text_forward(input_ids, attention_mask));
    }
    // HF's get_image_features. [batch, projection_dim]
    tensor<2> get_image_features(const tensor<4>& pixel_values) const { return project_image(vision_forward(pixel_values)); }

    // CLIPModel.forward: both towers, normalised embeddings and scaled cosine logits.
    clip_output forward(const int_tensor<2>& input_ids, const int_tensor<2>& attention_mask, const tensor<4>& pixel_values) const {
        if (config.arch != architecture::clip_model)
            fail<input_error>("clip_model::forward needs a CLIPModel checkpoint, this one is ", architecture_name(config.arch));
        clip_output out;
        out.text_model_output = text_forward(input_ids, attention_mask);
        out.vision_model_output = vision_forward(pixel_values);
        out.text_embeds = l2_normalize(project_text(out.text_model_output));
        out.image_embeds = l2_normalize(project_image(out.vision_model_output));
        out.logits_per_text = similarity(out.text_embeds, out.image_embeds);
        out.logits_per_image = xt::transpose(out.logits_per_text);
        return out;
    }

    // exp(logit_scale) * a b^T for normalised embeddings a [n, d], b [m, d] -> [n, m].
    tensor<2> similarity(const tensor<2>& a, const tensor<2>& b) const {
        return scaled_similarity(a, b, std::exp(logit_scale), 0.0f, "CLIP");
    }

private:
    const text_transformer& require_text() const {
        if (!text_model) fail<input_error>(architecture_name(config.arch), " has no text tower");
        return *text_model;
    }
    const vision_transformer& require_vision() const {
        if (!vision_model) fail<input_error>(architecture_name(config.arch), " has no vision tower");
        return *vision_model;
    }
    tensor<2> project_text(const tower_output& o) const {
        if (!text_projection) fail<input_error>(architecture_name(config.arch), " has no text_projection");
        return text_projection->forward(o.pooler_output);
    }
    tensor<2> project_image(const tower_output& o) const {
        if (!visual_projection) fail<input_error>(architecture_name(config.arch), " has no visual_projection");
        return visual_projection->forward(o.pooler_output);
    }
};

}  // namespace mmt::clip
