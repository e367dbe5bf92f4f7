// LayoutLMv3Model (transformers 4.45, models/layoutlmv3/modeling_layoutlmv3.py): the
// text tokens (text_embeddings.hpp) and, given the page, its visual tokens (a patch
// Conv2d, a class token, positions, `norm`), laid out as [text; visual] and
// layer-normalised together; BERT's post-norm encoder over the text mask (visual
// tokens always attend), with the relative position biases (relative_position.hpp).
// Without pixel_values only the text runs, as HF allows.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/scratch_pool.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/encoder.hpp"
#include "mmt/layers/encoder_state.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/layers/vit_embeddings.hpp"
#include "mmt/models/interfaces/document_input.hpp"
#include "mmt/models/layoutlmv3/config.hpp"
#include "mmt/models/layoutlmv3/relative_position.hpp"
#include "mmt/models/layoutlmv3/text_embeddings.hpp"

namespace mmt::layoutlmv3 {

// A batch as LayoutLMv3 takes it (interfaces::document_inputs, the page in pixel_values).
using model_inputs = interfaces::document_inputs;

// LayoutLMv3's visual tokens, relative to the model's scope: "patch_embed.proj", "cls_token",
// "pos_embed" (BEiT's layout) and "norm".
inline const layers::vit_embeddings_names visual_embeddings_names{"", "norm", "cls_token", "patch_embed.proj", "pos_embed", true};

struct layoutlmv3_model {
    layoutlmv3::config config;
    text_embeddings embeddings;
    std::optional<layers::vit_embeddings> visual;  // with visual_embed
    std::optional<layers::layer_norm> layer_norm;  // "LayerNorm" over [text; visual], with visual_embed
    layers::encoder encoder;
    std::optional<relative_position_bias> rel_pos_bias;                   // 1-D, with has_relative_attention_bias
    std::optional<relative_position_bias> rel_pos_x_bias, rel_pos_y_bias;  // 2-D, with has_spatial_attention_bias
    // The biases of a call (24 MB a sequence with a page at base size), kept between calls:
    // allocated afresh, their first touch was an eighth of layoutlmv3_base/1x512 in int8.
    std::shared_ptr<scratch_pool> scratch = std::make_shared<scratch_pool>();

    // `scope` is "layoutlmv3." or "" (a saved LayoutLMv3Model).
    static layoutlmv3_model load(const io::weight_scope& scope, const layoutlmv3::config& c) {
        layoutlmv3_model m;
        m.config = c;
        m.embeddings = text_embeddings::load(scope.child("embeddings"), c);
        if (c.visual_embed) {
            m.visual = layers::vit_embeddings::load(scope, visual_embeddings_names, c.visual_embeddings());
            m.layer_norm = layers::layer_norm::load(scope.child("LayerNorm"), c.hidden_size, c.layer_norm_eps);
        }
        const io::weight_scope encoder = scope.child("encoder");
        m.encoder = layers::encoder::load(encoder.child("layer"), c.num_hidden_layers, layers::bert_layer_names, c.layer_config("LayoutLMv3 config"));
        auto bias = [&](const char* name, std::size_t bins, std::size_t distance) {
            return relative_position_bias{bins, distance, encoder.child(name).get<2>("weight", {c.num_attention_heads, bins})};
        };
        if (c.has_relative_attention_bias) m.rel_pos_bias = bias("rel_pos_bias", c.rel_pos_bins, c.max_rel_pos);
        if (c.has_spatial_attention_bias) {
            m.rel_pos_x_bias = bias("rel_pos_x_bias", c.rel_2d_pos_bins, c.max_rel_2d_pos);
            m.rel_pos_y_bias = bias("rel_pos_y_bias", c.rel_2d_pos_bins, c.max_rel_2d_pos);
        }
        return m;
    }

    // -> last_hidden_state [batch, seq_len (+ 1 + num_patches with pixel_values), hidden_size]
    tensor<3> forward(const model_inputs& in) const {
        const int_tensor<2>& ids = in.input_ids;
        const std::size_t batch = ids.shape(0), seq_len = ids.shape(1);
        if (batch == 0 || seq_len == 0) fail<input_error>("LayoutLMv3: input_ids is empty (shape [", batch, ", ", seq_len, "])");
        for (const auto* t : {&in.attention_mask, &in.token_type_ids})
            if (t->size() != 0 && t->shape() != ids.shape())
                fail<shape_error>("LayoutLMv3: ", t == &in.attention_mask ? "attention_mask" : "token_type_ids", " has shape [",
                                  t->shape(0), ", ", t->shape(1), "], expected the shape of input_ids [", batch, ", ", seq_len, "]");
        tensor<3> text = embeddings.forward(ids, in.bbox, in.token_type_ids);  // [batch, seq_len, hidden_size]
        const bool with_page = in.pixel_values.size() != 0;
        if (with_page && !visual)
            fail<input_error>("LayoutLMv3: pixel_values given, but this checkpoint has no visual embeddings (visual_embed false)");
        if (with_page && in.pixel_values.shape(0) != batch)
            fail<shape_error>("LayoutLMv3: pixel_values has ", in.pixel_values.shape(0), " pages for ", batch, " sequences");

        // [text; visual]: the whole of it layer-normalised, the visual tokens unmasked.
        tensor<3> x = with_page ? tensor<3>({batch, seq_len + visual->config.num_positions(), config.hidden_size}) : std::move(text);
        std::vector<std::int64_t> mask;
        if (with_page) {
            const tensor<3> page = visual->forward(in.pixel_values);  // [batch, 1 + num_patches, hidden_size]
            for (std::size_t b = 0; b < batch; ++b) {
                std::copy(&text(b, 0, 0), &text(b, 0, 0) + seq_len * config.hidden_size, &x(b, 0, 0));
                std::copy(&page(b, 0, 0), &page(b, 0, 0) + page.shape(1) * config.hidden_size, &x(b, seq_len, 0));
            }
            x = layer_norm->forward(x);
            mask.assign(batch * x.shape(1), 1);
            for (std::size_t b = 0; b < batch; ++b)
                for (std::size_t s = 0; s < seq_len; ++s)
                    mask[b * x.shape(1) + s] = in.attention_mask.size() != 0 ? in.attention_mask(b, s) : 1;
        }
        layers::encoder_state state;
        state.mask.key_padding = with_page ? mask.data() : in.attention_mask.size() != 0 ? in.attention_mask.data() : nullptr;
        const std::optional<scratch_pool::lease> bias = attention_bias(in.bbox, batch, seq_len, x.shape(1));
        if (bias) state.bias = {bias->data(), batch, config.num_attention_heads};
        return encoder.forward(std::move(x), state);
    }

private:
    // (1-D + 2-D relative bias) / sqrt(head_dim) -> [batch, num_heads, n, n], n = text + visual
    // tokens, leased from `scratch`; none when the config has no 1-D bias (HF adds the 2-D
    // one only with it).
    std::optional<scratch_pool::lease> attention_bias(const int_tensor<3>& bbox, std::size_t batch, std::size_t seq_len,
                                                      std::size_t n) const {
        if (!rel_pos_bias) return std::nullopt;
        const std::size_t heads = config.num_attention_heads, plane = heads * n * n;
        // 1-D positions: 0.. for the text, 0.. again for the visual tokens.
        std::vector<std::int64_t> positions(n);
        for (std::size_t i = 0; i < n; ++i) positions[i] = std::int64_t(i < seq_len ? i : i - seq_len);
        scratch_pool::lease out = scratch->take(batch * plane);
        const std::optional<scratch_pool::lease> spatial = rel_pos_x_bias ? std::optional(scratch->take(plane)) : std::nullopt;
        const std::vector<std::int64_t> page_left = visual_boxes(0), page_bottom = visual_boxes(3);
        const float sqrt_head_dim = float(std::sqrt(double(config.hidden_size / heads)));
        for (std::size_t b = 0; b < batch; ++b) {
            float* one = out.data() + b * plane;
            rel_pos_bias->assign(positions, one);
            if (!spatial) {
                parallel_for(plane, std::size_t(1) << 16, [&](std::size_t i0, std::size_t i1) {
                    for (std::size_t i = i0; i < i1; ++i) one[i] = one[i] / sqrt_head_dim;
                });
                continue;
            }
            // 2-D: left edges (x0) and bottom edges (y1) of the boxes, the page's patches after the text.
            std::vector<std::int64_t> left(n, 0), bottom(n, 0);
            for (std::size_t s = 0; s < seq_len && bbox.size() != 0; ++s) left[s] = bbox(b, s, 0), bottom[s] = bbox(b, s, 3);
            if (n > seq_len) {
                std::copy(page_left.begin(), page_left.end(), left.begin() + std::ptrdiff_t(seq_len));
                std::copy(page_bottom.begin(), page_bottom.end(), bottom.begin() + std::ptrdiff_t(seq_len));
            }
            float* xy = spatial->data();
            rel_pos_x_bias->assign(left, xy);
            rel_pos_y_bias->add(bottom, xy);
            parallel_for(plane, std::size_t(1) << 16, [&](std::size_t i0, std::size_t i1) {
                for (std::size_t i = i0; i < i1; ++i) one[i] = (one[i] + xy[i]) / sqrt_head_dim;
            });
        }
        return out;
    }

    // Coordinate `k` (0 = x0 .. 3 = y1) of each visual token's box, when the page is read:
    // the class token [1, 1, 999, 999], patch (r, c) [e_c, e_r, e_c+1, e_r+1] with
    // e_k = floor(1000 k / (input_size / patch_size)).
    std::vector<std::int64_t> visual_boxes(std::size_t k) const {
        if (!visual) return {};
        const auto side = std::int64_t(config.input_size / config.patch_size);
        std::vector<std::int64_t> out{k < 2 ? 1 : 999};
        for (std::int64_t r = 0; r < side; ++r)
            for (std::int64_t c = 0; c < side; ++c) {
                const std::int64_t col = c + (k == 2), row = r + (k == 3);
                out.push_back((k % 2 == 0 ? col : row) * 1000 / side);
            }
        return out;
    }
};

}  // namespace mmt::layoutlmv3
