// Multi-head scaled dot-product attention, softmax(Q K^T * scale + mask) V,
// one (batch, head) pair per task. Masked scores take float's lowest value, as
// HF adds torch.finfo(float32).min, so the weights match HF's even for a query
// whose keys are all masked. HF adds it once per mask (CLIP's causal and padding
// masks), so a key hidden by both overflows to -inf and gets no weight at all.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/packed_gemm.hpp"
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

namespace detail {
// Queries per block: the block's scores [64, seq_len] stay in L2 between the two
// products and the softmax (a whole head's at 1,499 frames is 9 MB).
constexpr std::size_t attention_query_block = 64;
}  // namespace detail

// q, k, v, out: [batch, seq_len, num_heads * head_dim]; `scale` (> 0) multiplies the scores.
// Both products of a head run through the packed GEMM: K of the head and V
// transposed are packed per task into buffers each thread keeps, then the
// queries go through in blocks.
inline void attention(const float* q, const float* k, const float* v, const attention_shape& s, const attention_mask& mask,
                      float scale, float* out) {
    if (!(scale > 0.0f)) fail<error>("attention: scale must be positive, got ", scale);
    const std::size_t n = s.seq_len, d = s.head_dim, hidden = s.hidden();
    const std::size_t block = std::min(n, detail::attention_query_block);
    const float lowest = std::numeric_limits<float>::lowest();
    const float minus_infinity = -std::numeric_limits<float>::infinity();
    parallel_for(s.batch * s.num_heads, 1, [&](std::size_t t0, std::size_t t1) {
        std::vector<float> scores(block * n);  // [queries of the block, seq_len (keys)]
        packed_weights keys, values_t;
        for (std::size_t t = t0; t < t1; ++t) {
            const std::size_t b = t / s.num_heads, h = t % s.num_heads;
            const std::size_t offset = b * n * hidden + h * d;
            keys.assign(k + offset, n, d, hidden, 1);      // [seq_len, head_dim]
            values_t.assign(v + offset, d, n, 1, hidden);  // [head_dim, seq_len]
            const std::int64_t* padding = mask.key_padding ? mask.key_padding + b * n : nullptr;
            for (std::size_t i0 = 0; i0 < n; i0 += block) {
                const std::size_t rows = std::min(block, n - i0);
                gemm_packed(q + offset + i0 * hidden, rows, hidden, keys, nullptr, scores.data(), n);
                for (std::size_t r = 0; r < rows; ++r) {
                    float* row = scores.data() + r * n;
                    if (mask.causal || padding) {
                        const std::size_t i = i0 + r;
                        for (std::size_t j = 0; j < n; ++j) {
                            const bool future = mask.causal && j > i, padded = padding && padding[j] == 0;
                            row[j] = future && padded ? minus_infinity : future || padded ? lowest : row[j] * scale;
                        }
                        softmax_row(row, n);
                    } else {
                        softmax_row(row, n, scale);
                    }
                }
                gemm_packed(scores.data(), rows, n, values_t, nullptr, out + offset + i0 * hidden, hidden);
            }
        }
    });
}

}  // namespace mmt::ops
