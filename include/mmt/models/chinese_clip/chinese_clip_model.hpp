// ChineseCLIPModel (transformers 4.45, models/chinese_clip/modeling_chinese_clip.py):
// a BERT text tower built without its pooler, whose [CLS] state is projected, and
// CLIP's vision transformer; CLIP's scaled cosine logits, no bias.
// Loaded once, then const: forward may be called from many threads at once.
#pragma once

#include <cmath>
#include <cstddef>
#include <filesystem>
#include <utility>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/bert_embeddings.hpp"
#include "mmt/layers/encoder.hpp"
#include "mmt/layers/encoder_state.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/chinese_clip/config.hpp"
#include "mmt/models/clip/clip_model.hpp"
#include "mmt/models/clip/outputs.hpp"
#include "mmt/models/clip/vision_model.hpp"
#include "mmt/models/pretrained.hpp"

namespace mmt::chinese_clip {

// ChineseCLIPTextTransformer as ChineseCLIPModel builds it (add_pooling_layer=False).
struct text_transformer {
    layers::bert_embeddings embeddings;
    layers::encoder encoder;

    // `scope` is "text_model.".
    static text_transformer load(const io::weight_scope& scope, const text_config& c) {
        return {layers::bert_embeddings::load(scope.child("embeddings"), c.text_embeddings()),
                layers::encoder::load(scope.child("encoder").child("layer"), c.num_hidden_layers, layers::bert_layer_names,
                                      c.layer_config("text_config"))};
    }

    // input_ids, attention_mask, token_type_ids: [batch, seq_len] (the mask and the
    // token types may be empty: all 1, all 0). -> last_hidden_state [batch, seq_len, hidden_size]
    tensor<3> forward(const int_tensor<2>& input_ids, const int_tensor<2>& attention_mask, const int_tensor<2>& token_type_ids) const {
        if (input_ids.size() == 0)
            fail<input_error>("Chinese-CLIP text model: input_ids is empty (shape [", input_ids.shape(0), ", ", input_ids.shape(1), "])");
        if (attention_mask.size() != 0 && attention_mask.shape() != input_ids.shape())
            fail<shape_error>("Chinese-CLIP text model: attention_mask has shape [", attention_mask.shape(0), ", ",
                              attention_mask.shape(1), "], expected the shape of input_ids [", input_ids.shape(0), ", ",
                              input_ids.shape(1), "]");
        layers::encoder_state state;
        state.mask.key_padding = attention_mask.size() != 0 ? attention_mask.data() : nullptr;
        return encoder.forward(embeddings.forward(input_ids, token_type_ids), state);
    }
};

// HF's ChineseCLIPOutput (the text tower returns no pooler_output).
struct chinese_clip_output {
    tensor<2> logits_per_image;          // [image_batch, text_batch]
    tensor<2> logits_per_text;           // [text_batch, image_batch]
    tensor<2> text_embeds;               // [text_batch, projection_dim], L2-normalised
    tensor<2> image_embeds;              // [image_batch, projection_dim], L2-normalised
    tensor<3> text_last_hidden_state;    // [text_batch, seq_len, text hidden_size]
    clip::tower_output vision_model_output;
};

// Chinese-CLIP checkpoints have no renamed tensors; older ones carry the position_ids buffers.
inline io::name_table checkpoint_names() { return {{}, {"embeddings.position_ids"}}; }

struct chinese_clip_model {
    chinese_clip::config config;
    text_transformer text_model;
    clip::vision_transformer vision_model;
    layers::linear text_projection;    // [projection_dim, text hidden_size], no bias
    layers::linear visual_projection;  // [projection_dim, vision hidden_size], no bias
    float logit_scale = 0;             // log of the temperature

    static chinese_clip_model from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        return load_pretrained<chinese_clip_model, chinese_clip::config>(dir, checkpoint_names(), options);
    }

    // Takes every tensor `c` needs from `loader`; one left over is an error.
    static chinese_clip_model load(const chinese_clip::config& c, io::weight_loader& loader) {
        const io::weight_scope root = loader.root();
        chinese_clip_model m{c,
                             text_transformer::load(root.child("text_model"), c.text),
                             clip::vision_transformer::load(root.child("vision_model"), c.vision),
                             layers::linear::load_head(root.child("text_projection"), c.text.hidden_size, c.projection_dim, false),
                             layers::linear::load_head(root.child("visual_projection"), c.vision.hidden_size, c.projection_dim, false),
                             root.get<0>("logit_scale", {})()};
        loader.check_all_used();
        return m;
    }

    // HF's get_text_features: text_projection of the [CLS] state, not normalised. [batch, projection_dim]
    tensor<2> get_text_features(const int_tensor<2>& input_ids, const int_tensor<2>& attention_mask,
                                const int_tensor<2>& token_type_ids) const {
        return project_cls(text_model.forward(input_ids, attention_mask, token_type_ids));
    }
    // HF's get_image_features: visual_projection of the vision pooler_output. [batch, projection_dim]
    tensor<2> get_image_features(const tensor<4>& pixel_values) const {
        return visual_projection.forward(vision_model.forward(pixel_values).pooler_output);
    }

    // ChineseCLIPModel.forward: both towers, normalised embeddings, scaled cosine logits.
    chinese_clip_output forward(const int_tensor<2>& input_ids, const int_tensor<2>& attention_mask,
                                const int_tensor<2>& token_type_ids, const tensor<4>& pixel_values) const {
        chinese_clip_output out;
        out.text_last_hidden_state = text_model.forward(input_ids, attention_mask, token_type_ids);
        out.vision_model_output = vision_model.forward(pixel_values);
        out.text_embeds = clip::l2_normalize(project_cls(out.text_last_hidden_state));
        out.image_embeds = clip::l2_normalize(visual_projection.forward(out.vision_model_output.pooler_output));
        out.logits_per_text = similarity(out.text_embeds, out.image_embeds);
        out.logits_per_image = xt::transpose(out.logits_per_text);
        return out;
    }

    // exp(logit_scale) * a b^T for normalised embeddings a [n, d], b [m, d] -> [n, m].
    tensor<2> similarity(const tensor<2>& a, const tensor<2>& b) const {
        return clip::scaled_similarity(a, b, std::exp(logit_scale), 0.0f, "Chinese-CLIP");
    }

private:
    // text_projection(last_hidden_state[:, 0]). [batch, projection_dim]
    tensor<2> project_cls(const tensor<3>& last_hidden_state) const {
        const std::size_t batch = last_hidden_state.shape(0), h = last_hidden_state.shape(2);
        tensor<2> cls({batch, h});  // [batch, hidden_size]
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t i = 0; i < h; ++i) cls(b, i) = last_hidden_state(b, 0, i);
        return text_projection.forward(cls);
    }
};

}  // namespace mmt::chinese_clip
