// LiltLayoutEmbeddings: each token's box as the concatenation of x0, y0, x1, y1
// (the shared x and y tables), its height and width (no clipping), each
// hidden_size / 6 wide; box_linear_embeddings onto the layout stream's width, plus
// box_position_embeddings at the text's RoBERTa positions, then LayerNorm.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/models/lilt/config.hpp"
#include "mmt/ops/embedding.hpp"

namespace mmt::lilt {

struct layout_embeddings {
    tensor<2> x_position_embeddings;  // [max_2d_position_embeddings, hidden_size / 6]: x0 and x1
    tensor<2> y_position_embeddings;  // ... y0 and y1
    tensor<2> h_position_embeddings;  // ... y1 - y0
    tensor<2> w_position_embeddings;  // ... x1 - x0
    layers::linear box_linear_embeddings;  // [hidden_size / ratio, hidden_size]
    tensor<2> box_position_embeddings;     // [max_position_embeddings, hidden_size / ratio]
    layers::layer_norm norm;

    // `scope` is "[lilt.]layout_embeddings.".
    static layout_embeddings load(const io::weight_scope& scope, const config& c) {
        const std::size_t grid = c.max_2d_position_embeddings, part = c.hidden_size / 6, layout = c.layout_size();
        auto table = [&](const char* name) { return scope.child(name).get<2>("weight", {grid, part}); };
        return {table("x_position_embeddings"),
                table("y_position_embeddings"),
                table("h_position_embeddings"),
                table("w_position_embeddings"),
                layers::linear::load(scope.child("box_linear_embeddings"), c.hidden_size, layout),
                scope.child("box_position_embeddings").get<2>("weight", {c.max_position_embeddings, layout}),
                layers::layer_norm::load(scope.child("LayerNorm"), layout, c.layer_norm_eps)};
    }

    // bbox: [batch, seq_len, 4] as (x0, y0, x1, y1), or empty for all 0; position_ids:
    // [batch, seq_len], the text's. -> [batch, seq_len, hidden_size / ratio]
    tensor<3> forward(const int_tensor<3>& bbox, const int_tensor<2>& position_ids) const {
        const std::size_t batch = position_ids.shape(0), seq_len = position_ids.shape(1), part = x_position_embeddings.shape(1);
        check_boxes(bbox, batch, seq_len);
        tensor<3> spatial({batch, seq_len, 6 * part});  // [batch, seq_len, hidden_size]
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t s = 0; s < seq_len; ++s) {
                std::int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0;
                if (bbox.size() != 0) x0 = bbox(b, s, 0), y0 = bbox(b, s, 1), x1 = bbox(b, s, 2), y1 = bbox(b, s, 3);
                const float* parts[] = {&x_position_embeddings(std::size_t(x0), 0), &y_position_embeddings(std::size_t(y0), 0),
                                        &x_position_embeddings(std::size_t(x1), 0), &y_position_embeddings(std::size_t(y1), 0),
                                        &h_position_embeddings(std::size_t(y1 - y0), 0), &w_position_embeddings(std::size_t(x1 - x0), 0)};
                for (std::size_t p = 0; p < 6; ++p) std::copy(parts[p], parts[p] + part, &spatial(b, s, p * part));
            }
        tensor<3> x = box_linear_embeddings.forward(spatial);  // [batch, seq_len, hidden_size / ratio]
        const std::size_t layout = x.shape(2);
        tensor<3> positions({batch, seq_len, layout});
        ops::embedding(position_ids.data(), position_ids.size(), box_position_embeddings.data(), box_position_embeddings.shape(0),
                       layout, positions.data(), "LiLT layout embeddings: position_ids");
        x += positions;
        return norm.forward(x);
    }

private:
    // HF indexes the tables with every coordinate and with x1 - x0, y1 - y0 (unclipped):
    // 0 <= x0 <= x1 < max_2d_position_embeddings, the same for y.
    void check_boxes(const int_tensor<3>& bbox, std::size_t batch, std::size_t seq_len) const {
        if (bbox.size() == 0) return;
        if (bbox.shape(0) != batch || bbox.shape(1) != seq_len || bbox.shape(2) != 4)
            fail<shape_error>("LiLT layout embeddings: bbox has shape [", bbox.shape(0), ", ", bbox.shape(1), ", ", bbox.shape(2),
                              "], expected [", batch, ", ", seq_len, ", 4] for input_ids [", batch, ", ", seq_len, "]");
        const auto top = std::int64_t(x_position_embeddings.shape(0)) - 1;
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t s = 0; s < seq_len; ++s) {
                const std::int64_t x0 = bbox(b, s, 0), y0 = bbox(b, s, 1), x1 = bbox(b, s, 2), y1 = bbox(b, s, 3);
                if (x0 < 0 || y0 < 0 || x1 > top || y1 > top || x1 < x0 || y1 < y0)
                    fail<input_error>("LiLT layout embeddings: bbox of token ", s, " in sequence ", b, " is [", x0, ", ", y0, ", ", x1,
                                      ", ", y1, "]; expected 0 <= x0 <= x1 <= ", top, " and 0 <= y0 <= y1 <= ", top,
                                      " (max_2d_position_embeddings - 1)");
            }
    }
};

}  // namespace mmt::lilt
