// BertEmbeddings: word + token type + absolute position (0, 1, ... unless given),
// summed in HF's order, then LayerNorm. Chinese-CLIP's text tower has exactly
// these; RoBERTa's (LayoutLMv3's, LiLT's) count positions from the padding index
// (roberta_position_ids), and LayoutLMv3 adds its spatial embeddings to the sum
// before the LayerNorm.
#pragma once

#include <cstddef>
#include <cstdint>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/layer_norm.hpp"
#include "mmt/layers/token_embedding.hpp"
#include "mmt/ops/embedding.hpp"

namespace mmt::layers {

// RoBERTa's create_position_ids_from_input_ids: padding_idx + the count of non-pad
// tokens so far for a token, padding_idx for a pad; each must be a row of a table
// of `rows` positions (an input_error naming `who` otherwise). [batch, seq_len]
inline int_tensor<2> roberta_position_ids(const int_tensor<2>& input_ids, std::int64_t padding_idx, std::size_t rows,
                                          const char* who) {
    int_tensor<2> positions = int_tensor<2>::from_shape(input_ids.shape());
    for (std::size_t b = 0; b < input_ids.shape(0); ++b) {
        std::int64_t count = 0;
        for (std::size_t s = 0; s < input_ids.shape(1); ++s) {
            count += input_ids(b, s) != padding_idx;
            positions(b, s) = input_ids(b, s) != padding_idx ? padding_idx + count : padding_idx;
            if (positions(b, s) < 0 || std::size_t(positions(b, s)) >= rows)
                fail<input_error>(who, ": sequence ", b, " has more than ", std::int64_t(rows) - padding_idx - 1,
                                  " tokens besides padding (max_position_embeddings ", rows, " counts from pad_token_id ",
                                  padding_idx, " + 1); split the document into windows");
        }
    }
    return positions;
}

struct bert_embeddings_config {
    std::size_t vocab_size = 0;
    std::size_t hidden_size = 0;
    std::size_t max_position_embeddings = 0;
    std::size_t type_vocab_size = 0;
    float layer_norm_eps = 1e-12f;
};

struct bert_embeddings {
    ops::embedding_table word_embeddings;  // [vocab_size, hidden_size]
    tensor<2> position_embeddings;    // [max_position_embeddings, hidden_size]
    tensor<2> token_type_embeddings;  // [type_vocab_size, hidden_size]
    layer_norm norm;

    // `scope` is "<tower>.embeddings.".
    static bert_embeddings load(const io::weight_scope& scope, const bert_embeddings_config& c) {
        auto table = [&](const char* name, std::size_t rows) { return scope.child(name).get<2>("weight", {rows, c.hidden_size}); };
        return {load_token_embedding(scope.child("word_embeddings"), c.vocab_size, c.hidden_size),
                table("position_embeddings", c.max_position_embeddings),
                table("token_type_embeddings", c.type_vocab_size),
                layer_norm::load(scope.child("LayerNorm"), c.hidden_size, c.layer_norm_eps)};
    }

    // input_ids: [batch, seq_len]; token_type_ids: [batch, seq_len] or empty for all 0.
    // -> [batch, seq_len, hidden_size]
    tensor<3> forward(const int_tensor<2>& input_ids, const int_tensor<2>& token_type_ids) const {
        return norm.forward(sum(input_ids, token_type_ids, {}));
    }

    // The sum before the LayerNorm; position_ids [batch, seq_len], or empty for 0, 1, ...
    tensor<3> sum(const int_tensor<2>& input_ids, const int_tensor<2>& token_type_ids, const int_tensor<2>& position_ids) const {
        const std::size_t batch = input_ids.shape(0), seq_len = input_ids.shape(1), h = word_embeddings.dim();
        if (position_ids.size() == 0 && seq_len > position_embeddings.shape(0))
            fail<input_error>("BERT embeddings: a sequence of ", seq_len, " tokens exceeds max_position_embeddings = ",
                              position_embeddings.shape(0));
        for (const auto* ids : {&token_type_ids, &position_ids})
            if (ids->size() != 0 && ids->shape() != input_ids.shape())
                fail<shape_error>("BERT embeddings: ", ids == &token_type_ids ? "token_type_ids" : "position_ids", " has shape [",
                                  ids->shape(0), ", ", ids->shape(1), "], expected the shape of input_ids [", batch, ", ", seq_len, "]");
        tensor<3> x({batch, seq_len, h});  // [batch, seq_len, hidden_size]
        word_embeddings.lookup(input_ids.data(), input_ids.size(), x.data(), "BERT embeddings: input_ids");
        for (std::size_t b = 0; b < batch; ++b)
            for (std::size_t s = 0; s < seq_len; ++s) {
                const std::size_t t = b * seq_len + s;
                const std::size_t type_row = token_type_ids.size() == 0 ? 0
                    : ops::detail::checked_row(token_type_ids.data(), t, token_type_embeddings.shape(0), "BERT embeddings: token_type_ids");
                const std::size_t position_row = position_ids.size() == 0 ? s
                    : ops::detail::checked_row(position_ids.data(), t, position_embeddings.shape(0), "BERT embeddings: position_ids");
                const float* type = &token_type_embeddings(type_row, 0);
                const float* position = &position_embeddings(position_row, 0);
                float* out = &x(b, s, 0);
                // (words + token types) + positions, one addition at a time as HF rounds it.
                for (std::size_t i = 0; i < h; ++i) out[i] += type[i];
                for (std::size_t i = 0; i < h; ++i) out[i] += position[i];
            }
        return x;
    }
};

}  // namespace mmt::layers
