// LayoutLMv3TextEmbeddings: BERT's word + token type + position embeddings, with
// RoBERTa's positions (counted from the padding index, pads at the padding index),
// plus the spatial embedding of each token's box: x0, y0, x1, y1 from the shared x
// and y tables and the clipped height and width, concatenated; then LayerNorm.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/bert_embeddings.hpp"
#include "mmt/models/layoutlmv3/config.hpp"

namespace mmt::layoutlmv3 {

struct text_embeddings {
    layers::bert_embeddings bert;
    tensor<2> x_position_embeddings;  // [max_2d_position_embeddings, coordinate_size]: x0 and x1
    tensor<2> y_position_embeddings;  // [max_2d_position_embeddings, coordinate_size]: y0 and y1
    tensor<2> h_position_embeddings;  // [max_2d_position_embeddings, shape_size]
    tensor<2> w_position_embeddings;  // [max_2d_position_embeddings, shape_size]
    std::int64_t padding_idx = 1;

    // `scope` is "[layoutlmv3.]embeddings.".
    static text_embeddings load(const io::weight_scope& scope, const config& c) {
        const std::size_t grid = c.max_2d_position_embeddings;
        auto table = [&](const char* name, std::size_t width) { return scope.child(name).get<2>("weight", {grid, width}); };
        return {layers::bert_embeddings::load(scope, c.text_embeddings()), table("x_position_embeddings", c.coordinate_size),
                table("y_position_embeddings", c.coordinate_size), table("h_position_embeddings", c.shape_size),
                table("w_position_embeddings", c.shape_size), c.pad_token_id};
    }

    // input_ids, token_type_ids: [batch, seq_len]; bbox: [batch, seq_len, 4] as (x0, y0, x1, y1)
    // on the 0..max_2d_position_embeddings-1 grid (empty: all 0); token_type_ids may be
    // empty (all 0). -> [batch, seq_len, hidden_size]
    tensor<3> forward(const int_tensor<2>& input_ids, const int_tensor<3>& bbox, const int_tensor<2>& token_type_ids) const {
        const std::size_t batch = input_ids.shape(0), seq_len = input_ids.shape(1);
        check_boxes(bbox, batch, seq_len);
        tensor<3> x = bert.sum(input_ids, token_type_ids,
                               layers::roberta_position_ids(input_ids, padding_idx, bert.position_embeddings.shape(0), "LayoutLMv3 embeddings"));  // [batch, seq_len, hidden_size]
        const std::size_t coordinate = x_position_embeddings.shape(1), shape = h_position_embeddings.shape(1);
        const auto top = std::int64_t(x_position_embeddings.shape(0)) - 1;
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t s = 0; s < seq_len; ++s) {
                std::int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
                if (bbox.size() != 0) x0 = bbox(b, s, 0), y0 = bbox(b, s, 1), x1 = bbox(b, s, 2), y1 = bbox(b, s, 3);
                const auto clip = [&](std::int64_t v) { return std::size_t(std::clamp<std::int64_t>(v, 0, top)); };
                const float* parts[] = {&x_position_embeddings(std::size_t(x0), 0), &y_position_embeddings(std::size_t(y0), 0),
                                        &x_position_embeddings(std::size_t(x1), 0), &y_position_embeddings(std::size_t(y1), 0),
                                        &h_position_embeddings(clip(y1 - y0), 0), &w_position_embeddings(clip(x1 - x0), 0)};
                float* out = &x(b, s, 0);
                for (std::size_t p = 0; p < 6; ++p) {
                    const std::size_t width = p < 4 ? coordinate : shape;
                    for (std::size_t i = 0; i < width; ++i) out[i] += parts[p][i];
                    out += width;
                }
            }
        return bert.norm.forward(x);
    }

private:
    // HF indexes the tables with every coordinate: 0 <= x0, y0, x1, y1 < max_2d_position_embeddings.
    void check_boxes(const int_tensor<3>& bbox, std::size_t batch, std::size_t seq_len) const {
        if (bbox.size() == 0) return;
        if (bbox.shape(0) != batch || bbox.shape(1) != seq_len || bbox.shape(2) != 4)
            fail<shape_error>("LayoutLMv3 embeddings: bbox has shape [", bbox.shape(0), ", ", bbox.shape(1), ", ", bbox.shape(2),
                              "], expected [", batch, ", ", seq_len, ", 4] for input_ids [", batch, ", ", seq_len, "]");
        const auto top = std::int64_t(x_position_embeddings.shape(0)) - 1;
        for (std::size_t i = 0; i < bbox.size(); ++i)
            if (bbox.data()[i] < 0 || bbox.data()[i] > top)
                fail<input_error>("LayoutLMv3 embeddings: bbox of token ", (i / 4) % seq_len, " in sequence ", i / 4 / seq_len,
                                  " has coordinate ", bbox.data()[i], "; expected 0..", top, " (max_2d_position_embeddings - 1)");
    }
};

}  // namespace mmt::layoutlmv3
