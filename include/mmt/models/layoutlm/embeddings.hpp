// LayoutLMEmbeddings: word + 1-D position + the box's left and right edges (from
// the shared x table) and top and bottom edges (shared y table) + its height and
// width + token type, summed in HF's order, then LayerNorm.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/layers/token_embedding.hpp"
#include "mmt/models/layoutlm/config.hpp"
#include "mmt/ops/embedding.hpp"
#include "mmt/ops/packed_gemm.hpp"

namespace mmt::layoutlm {

struct embeddings {
    // [vocab_size, hidden_size]: as the checkpoint has it, or packed once a masked-LM
    // decoder is tied to it (tie_word_embeddings)
    std::variant<ops::embedding_table, ops::packed_weights> word_embeddings;
    tensor<2> position_embeddings;    // [max_position_embeddings, hidden_size]
    tensor<2> x_position_embeddings;  // [max_2d_position_embeddings, hidden_size]: x0 and x1
    tensor<2> y_position_embeddings;  // [max_2d_position_embeddings, hidden_size]: y0 and y1
    tensor<2> h_position_embeddings;  // [max_2d_position_embeddings, hidden_size]: y1 - y0
    tensor<2> w_position_embeddings;  // [max_2d_position_embeddings, hidden_size]: x1 - x0
    tensor<2> token_type_embeddings;  // [type_vocab_size, hidden_size]
    layers::layer_norm layer_norm;

    // `scope` is "[layoutlm.]embeddings.".
    static embeddings load(const io::weight_scope& scope, const config& c) {
        const std::size_t h = c.hidden_size, grid = c.max_2d_position_embeddings;
        auto table = [&](const char* name, std::size_t rows) { return scope.child(name).get<2>("weight", {rows, h}); };
        return {layers::load_token_embedding(scope.child("word_embeddings"), c.vocab_size, h),
                table("position_embeddings", c.max_position_embeddings),
                table("x_position_embeddings", grid),
                table("y_position_embeddings", grid),
                table("h_position_embeddings", grid),
                table("w_position_embeddings", grid),
                table("token_type_embeddings", c.type_vocab_size),
                layers::layer_norm::load(scope.child("LayerNorm"), h, c.layer_norm_eps)};
    }

    std::size_t hidden_size() const { return position_embeddings.shape(1); }

    // HF's tie_weights: the masked-LM decoder is this table. It is packed for the
    // decoder's GEMM and the lookup reads its rows back from the panels, so the
    // table is held once, not twice (94 MB for a base model's [30522, 768]); such
    // a lookup touches 16 times the cache lines (3 ms for 512 tokens, not 0.3).
    // Returns the packed table, which shares its buffer with every copy. The decoder
    // is float32 as every head is: an int8 table (an int8 load) is packed as the
    // float32 values its lookups give.
    const ops::packed_weights& tie_word_embeddings() {
        if (const auto* plain = std::get_if<ops::embedding_table>(&word_embeddings)) {
            const auto rows = [plain](std::size_t first, std::size_t count, float* out) {
                for (std::size_t r = 0; r < count; ++r) plain->row(first + r, out + r * plain->dim());
            };
            word_embeddings = ops::packed_weights(rows, plain->rows(), plain->dim());
        }
        return std::get<ops::packed_weights>(word_embeddings);
    }

    // input_ids: [batch, seq_len]; bbox: [batch, seq_len, 4] as (x0, y0, x1, y1), or empty
    // for all zeros; token_type_ids: [batch, seq_len] or empty for all zeros.
    // -> [batch, seq_len, hidden_size]
    tensor<3> forward(const int_tensor<2>& input_ids, const int_tensor<3>& bbox, const int_tensor<2>& token_type_ids) const {
        const std::size_t batch = input_ids.shape(0), seq_len = input_ids.shape(1), h = hidden_size();
        const std::size_t grid = x_position_embeddings.shape(0);
        if (seq_len > position_embeddings.shape(0))
            fail<input_error>("LayoutLM embeddings: sequence of ", seq_len, " tokens exceeds max_position_embeddings = ",
                              position_embeddings.shape(0), "; split the document into windows");
        check_boxes(bbox, batch, seq_len, grid);

        tensor<3> x({batch, seq_len, h});  // [batch, seq_len, hidden_size]
        const char* what = "LayoutLM embeddings: input_ids";
        if (const auto* packed = std::get_if<ops::packed_weights>(&word_embeddings)) {
            ops::embedding(input_ids.data(), input_ids.size(), *packed, x.data(), what);
        } else {
            std::get<ops::embedding_table>(word_embeddings).lookup(input_ids.data(), input_ids.size(), x.data(), what);
        }
        if (token_type_ids.size() != 0) {
            for (std::size_t i = 0; i < token_type_ids.size(); ++i)
                if (token_type_ids.data()[i] < 0 || std::size_t(token_type_ids.data()[i]) >= token_type_embeddings.shape(0))
                    fail<input_error>("LayoutLM embeddings: token_type_ids has ", token_type_ids.data()[i], " at token ",
                                      i % seq_len, " of sequence ", i / seq_len, "; expected 0..", token_type_embeddings.shape(0) - 1,
                                      " (type_vocab_size)");
        }
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t s = 0; s < seq_len; ++s) {
                std::int64_t x0 = 0, y0 = 0, x1 = 0, y1 = 0, type = 0;
                if (bbox.size() != 0) x0 = bbox(b, s, 0), y0 = bbox(b, s, 1), x1 = bbox(b, s, 2), y1 = bbox(b, s, 3);
                if (token_type_ids.size() != 0) type = token_type_ids(b, s);
                const float* rows[] = {&position_embeddings(s, 0),           &x_position_embeddings(std::size_t(x0), 0),
                                       &y_position_embeddings(std::size_t(y0), 0), &x_position_embeddings(std::size_t(x1), 0),
                                       &y_position_embeddings(std::size_t(y1), 0), &h_position_embeddings(std::size_t(y1 - y0), 0),
                                       &w_position_embeddings(std::size_t(x1 - x0), 0), &token_type_embeddings(std::size_t(type), 0)};
                float* out = &x(b, s, 0);
                // One addition at a time in HF's order, so the float rounding is the same.
                for (const float* row : rows)
                    for (std::size_t i = 0; i < h; ++i) out[i] += row[i];
            }
        return layer_norm.forward(x);
    }

private:
    // HF indexes the tables with the coordinates and with x1 - x0, y1 - y0, so each must
    // be a row: 0 <= x0 <= x1 < max_2d_position_embeddings, the same for y.
    static void check_boxes(const int_tensor<3>& bbox, std::size_t batch, std::size_t seq_len, std::size_t grid) {
        if (bbox.size() == 0) return;
        if (bbox.shape(0) != batch || bbox.shape(1) != seq_len || bbox.shape(2) != 4)
            fail<shape_error>("LayoutLM embeddings: bbox has shape [", bbox.shape(0), ", ", bbox.shape(1), ", ", bbox.shape(2),
                              "], expected [", batch, ", ", seq_len, ", 4] for input_ids [", batch, ", ", seq_len, "]");
        const auto top = std::int64_t(grid) - 1;
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t s = 0; s < seq_len; ++s) {
                const std::int64_t x0 = bbox(b, s, 0), y0 = bbox(b, s, 1), x1 = bbox(b, s, 2), y1 = bbox(b, s, 3);
                const bool in_grid = x0 >= 0 && y0 >= 0 && x1 <= top && y1 <= top;
                if (!in_grid || x1 < x0 || y1 < y0)
                    fail<input_error>("LayoutLM embeddings: bbox of token ", s, " in sequence ", b, " is [", x0, ", ", y0, ", ", x1,
                                      ", ", y1, "]; expected 0 <= x0 <= x1 <= ", top, " and 0 <= y0 <= y1 <= ", top,
                                      " (max_2d_position_embeddings - 1)");
            }
    }
};

}  // namespace mmt::layoutlm
