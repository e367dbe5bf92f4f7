// Multi-head scaled dot-product attention, softmax(Q K^T * scale + mask) V,
// one (batch, head) pair per task. Masked scores take float's lowest value, as
// HF adds torch.finfo(float32).min, so the weights match HF's even for a query
// whose keys are all masked. HF adds it once per mask (CLIP's causal and padding
// masks), so a key hidden by both overflows to -inf and gets no weight at all.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "mmt/core/eigen.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/softmax.hpp"

namespace mmt::ops {

struct attention_shape {
    std::size_t batch = 0;
    std::size_t seq_len = 0;
    std::size_t num_heads = 0;
    std::size_t head_dim = 0;
    std::size_t hidden() const { return num_heads * head_dim; }
};

struct attention_mask {
    bool causal = false;                     // query i sees keys j <= i
    const std::int64_t* key_padding = nullptr;  // [batch, seq_len], 0 = padded key; nullptr = none
};

// q, k, v, out: [batch, seq_len, num_heads * head_dim]; `scale` multiplies the scores.
inline void attention(const float* q, const float* k, const float* v, const attention_shape& s, const attention_mask& mask,
                      float scale, float* out) {
    using strided = Eigen::Map<const row_matrix, 0, Eigen::OuterStride<>>;
    using strided_out = Eigen::Map<row_matrix, 0, Eigen::OuterStride<>>;
    const Eigen::Index n = Eigen::Index(s.seq_len), d = Eigen::Index(s.head_dim);
    const Eigen::OuterStride<> stride(Eigen::Index(s.hidden()));
    const float lowest = std::numeric_limits<float>::lowest();
    parallel_for(s.batch * s.num_heads, 1, [&](std::size_t t0, std::size_t t1) {
        row_matrix scores(n, n);
        for (std::size_t t = t0; t < t1; ++t) {
            const std::size_t b = t / s.num_heads, h = t % s.num_heads;
            const std::size_t offset = b * s.seq_len * s.hidden() + h * s.head_dim;
            strided Q(q + offset, n, d, stride), K(k + offset, n, d, stride), V(v + offset, n, d, stride);
            scores.noalias() = Q * K.transpose();
            scores *= scale;
            const std::int64_t* padding = mask.key_padding ? mask.key_padding + b * s.seq_len : nullptr;
            for (Eigen::Index i = 0; i < n; ++i) {
                float* row = scores.data() + i * n;
                for (Eigen::Index j = 0; j < n; ++j) {
                    const bool future = mask.causal && j > i, padded = padding && padding[j] == 0;
                    if (future && padded) row[j] = -std::numeric_limits<float>::infinity();
                    else if (future || padded) row[j] = lowest;
                }
                softmax_row(row, std::size_t(n));
            }
            strided_out O(out + offset, n, d, stride);
            O.noalias() = scores * V;
        }
    });
}

}  // namespace mmt::ops
