// Multi-head scaled dot-product attention,
//   softmax(Q K^T * scale + bias + masks) V,
// with HF's float32 arithmetic for the masks: each mask that hides a key adds
// torch.finfo(float32).min to its score after the scale and the bias, so a masked
// score is float's lowest value whatever the score was, and a query whose keys are
// all masked weighs them all the same, as in HF. CLIP adds the causal and the padding
// mask one after the other, so a key hidden by both overflows to -inf and gets no
// weight at all. A query whose every score is -inf (a bias of -inf) gets NaN, as
// torch's softmax gives.
//
// Queries and keys may differ in number (cross-attention, a pooling head's one probe
// query over all patches), and q, k, v and out are strided rows, so the three parts
// of a fused in_proj's output are read where they lie.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/packed_gemm.hpp"
#include "mmt/ops/packed_gemm_bf16.hpp"
#include "mmt/ops/softmax.hpp"
#include "mmt/ops/vector_math.hpp"

namespace mmt::ops {

struct attention_shape {
    std::size_t batch = 0;
    std::size_t q_len = 0;   // queries per batch item
    std::size_t kv_len = 0;  // keys (and values) per batch item
    std::size_t num_heads = 0;
    std::size_t head_dim = 0;
    std::size_t hidden() const { return num_heads * head_dim; }
};

// Tokens with their heads side by side: head h of token t of batch item b starts at
// data + b * batch_stride + t * row_stride + h * head_dim. A fused in_proj's output
// [batch, seq_len, 3 * hidden] holds q, k and v at data, data + hidden and
// data + 2 * hidden, each with row_stride 3 * hidden. An input's batch_stride of 0
// gives every batch item the same tokens (a learnt probe query).
template <class T>
struct token_rows {
    T* data = nullptr;
    std::size_t row_stride = 0;    // elements from one token to the next, at least num_heads * head_dim
    std::size_t batch_stride = 0;  // elements from one batch item to the next
};

// [batch, tokens, width] stored densely.
template <class T>
token_rows<T> dense_rows(T* data, std::size_t tokens, std::size_t width) {
    return {data, width, tokens * width};
}

struct attention_mask {
    bool causal = false;                        // query i sees keys j <= i (q_len must equal kv_len)
    const std::int64_t* key_padding = nullptr;  // [batch, kv_len], 0 = padded key; nullptr = none
};

// Added to the scaled scores before the masks, as HF adds LayoutLMv3's relative
// position bias and WavLM's gated position bias: [batch or 1, num_heads or 1, q_len,
// kv_len], a size of 1 broadcasting over that dimension.
struct attention_bias {
    const float* data = nullptr;  // nullptr = none
    std::size_t batch = 1;
    std::size_t heads = 1;
    // [batch, num_heads, q_len] or nullptr: each query's row of the bias multiplied by its
    // factor before it is added, one float product each as HF's gated tensor holds it
    // (WavLM gates a position bias shared by the batch per layer, head and query).
    const float* row_scale = nullptr;
};

namespace detail {
// Queries per block and keys per block: a block's scores [64, 576] (144 KiB) stay
// in L2 between the two products and the exp however many keys there are, 576 keys
// are twelve whole panels of the packed GEMM, and up to 576 keys (CLIP, LayoutLM,
// wav2vec2 at 10 s) need no rescaling at all. On one thread (best of 30 to 120
// calls) 576 keys per block beat 192 by up to 4% at 499 to 2,999 keys and the
// softmax over whole rows this replaced by 3-5% at 1,499 and 2,999; level below.
constexpr std::size_t attention_query_block = 64;
constexpr std::size_t attention_key_block = 576;
// Under a causal mask, queries and keys per block: one panel. A query block then
// needs the key blocks up to its own, which is about half the pairs (CLIP's 77 tokens:
// 4,537 of 5,929).
constexpr std::size_t attention_causal_block = gemm::panel;

// The first key that is not padded (n if none): from that query on, every query sees a
// key that carries weight, so the keys its causal mask hides carry none (their scores
// are float's lowest below a finite one) and need not be computed. A query before it
// sees only padded keys, and HF spreads its weight over the hidden keys too.
inline std::size_t first_unpadded(const std::int64_t* padding, std::size_t n) {
    if (!padding) return 0;
    return std::size_t(std::find_if(padding, padding + n, [](std::int64_t m) { return m != 0; }) - padding);
}

inline void check_rows(const char* name, const token_rows<const float>& x, std::size_t hidden) {
    if (!x.data) fail<shape_error>("attention: ", name, " is null");
    if (x.row_stride < hidden)
        fail<shape_error>("attention: ", name, " has row stride ", x.row_stride, ", expected at least num_heads * head_dim = ", hidden);
}

inline void check_attention(const token_rows<const float>& q, const token_rows<const float>& k, const token_rows<const float>& v,
                            const attention_shape& s, const attention_mask& mask, const attention_bias& bias, float scale,
                            const token_rows<float>& out) {
    if (!(scale > 0.0f)) fail<input_error>("attention: scale must be positive, got ", scale);
    if (s.kv_len == 0) fail<shape_error>("attention: ", s.q_len, " queries over no keys, expected kv_len >= 1");
    if (s.num_heads == 0 || s.head_dim == 0)
        fail<shape_error>("attention: ", s.num_heads, " heads of ", s.head_dim, ", expected at least one head of at least 1");
    const std::size_t hidden = s.hidden();
    check_rows("q", q, hidden);
    check_rows("k", k, hidden);
    check_rows("v", v, hidden);
    check_rows("out", {out.data, out.row_stride, out.batch_stride}, hidden);
    if (s.batch > 1 && out.batch_stride < s.q_len * out.row_stride)
        fail<shape_error>("attention: out has batch stride ", out.batch_stride, ", expected at least q_len * row stride = ",
                          s.q_len * out.row_stride, " (batch items would overwrite each other)");
    if (mask.causal && s.q_len != s.kv_len)
        fail<shape_error>("attention: a causal mask needs as many queries as keys, got ", s.q_len, " queries and ", s.kv_len, " keys");
    if (bias.row_scale && !bias.data) fail<shape_error>("attention: bias row scales given without a bias to scale");
    if (bias.data && ((bias.batch != 1 && bias.batch != s.batch) || (bias.heads != 1 && bias.heads != s.num_heads)))
        fail<shape_error>("attention: bias has shape [", bias.batch, ", ", bias.heads, ", ", s.q_len, ", ", s.kv_len, "], expected [1 or ",
                          s.batch, ", 1 or ", s.num_heads, ", ", s.q_len, ", ", s.kv_len, "]");
}

// The scores q.k of one query against one key block, with HF's order of operations
// and roundings: scores * scale + bias, then finfo.min once per mask (`padding_add`:
// HF's additive padding mask, 0 or float's lowest per key); returns their max.
inline float masked_scores(float* row, std::size_t cols, float scale, const float* bias_row, float bias_scale, std::size_t future_from,
                           const float* padding_add) {
    const float lowest = std::numeric_limits<float>::lowest();
    if (bias_row && bias_scale != 1.0f)
        for (std::size_t j = 0; j < cols; ++j) row[j] = row[j] * scale + bias_scale * bias_row[j];
    else if (bias_row)
        for (std::size_t j = 0; j < cols; ++j) row[j] = row[j] * scale + bias_row[j];
    else
        for (std::size_t j = 0; j < cols; ++j) row[j] *= scale;
    for (std::size_t j = future_from; j < cols; ++j) row[j] += lowest;
    if (padding_add)
        for (std::size_t j = 0; j < cols; ++j) row[j] += padding_add[j];
    return row_max(row, cols);
}

// One query's scores against one key block become its unnormalised weights, in
// place, relative to the query's running max, which this raises to the block's max;
// returns the factor the query's earlier sum and output must be multiplied by.
// `row`: the scores q.k (unscaled); `bias_row`, `padding_add`: this block's slice or nullptr;
// `bias_scale`: the factor of the query's bias row (1: none); `future_from`: the first
// key of the block the causal mask hides (cols if none).
inline float online_softmax_step(float* row, std::size_t cols, float scale, const float* bias_row, float bias_scale,
                                 std::size_t future_from, const float* padding_add, float& running_max, float& running_sum) {
    const float minus_infinity = -std::numeric_limits<float>::infinity();
    const bool plain = !bias_row && future_from == cols && !padding_add;
    // Without masks or bias the scale waits for the exponentials' FMA (scale > 0 keeps the max where it is).
    const float block_max = plain ? scale * row_max(row, cols) : masked_scores(row, cols, scale, bias_row, bias_scale, future_from, padding_add);
    const float new_max = std::max(running_max, block_max);
    if (new_max == minus_infinity) {  // nothing seen yet that can carry weight: e^(-inf - -inf) would be NaN
        std::fill(row, row + cols, 0.0f);
        return 1.0f;
    }
    // The first block that carries weight rescales nothing: no libm call for it (one per query at 50 tokens).
    const float rescale = running_max == new_max ? 1.0f : running_max == minus_infinity ? 0.0f : std::exp(running_max - new_max);
    // An all-lowest row has max lowest and e^0 = 1 for each key: uniform, as in HF.
    running_sum = running_sum * rescale + exp_affine_sum(row, cols, plain ? scale : 1.0f, -new_max);
    running_max = new_max;
    return rescale;
}

// Attention's two products in float32: the scores Q K^T of a query block and their
// weights times V, each reading its float rows where they lie.
class f32_products {
public:
    using packed = packed_weights;

    f32_products(std::size_t, std::size_t, std::size_t) {}
    // The query block's rows [rows, head_dim] (row stride ldq), for the key blocks to come.
    void take_queries(const float* q, std::size_t, std::size_t ldq) {
        q_ = q;
        ldq_ = ldq;
    }
    // scores [rows, keys] (row stride lds) = queries . keys^T
    void scores(std::size_t rows, const packed& keys, float* scores, std::size_t lds) const {
        gemm_packed(q_, rows, ldq_, keys, nullptr, scores, lds);
    }
    // Row r of the weights, final for this key block.
    void take_weights(std::size_t, const float*, std::size_t) {}
    // y [rows, head_dim] (row stride ldy) = weights [rows, keys] (row stride ldw) . values_t^T
    void weighted_values(const float* weights, std::size_t rows, std::size_t ldw, const packed& values_t, float* y, std::size_t ldy) const {
        gemm_packed(weights, rows, ldw, values_t, nullptr, y, ldy);
    }

private:
    const float* q_ = nullptr;
    std::size_t ldq_ = 0;
};

// In bf16 (float32 sums): K and V^T rounded as they are packed, the query block once
// for all its key blocks, and each row of weights as soon as the softmax has written
// it, while it is in L1 (a separate pass over the block's weights cost 13 % of the
// op at 1,499 keys).
class bf16_products {
public:
    using packed = packed_weights_bf16;

    bf16_products(std::size_t query_block, std::size_t key_block, std::size_t head_dim)
        : head_dim_(head_dim), query_pairs_((head_dim + 1) / 2), weight_pairs_((key_block + 1) / 2),
          queries_(query_block * query_pairs_), weights_(query_block * weight_pairs_) {}
    void take_queries(const float* q, std::size_t rows, std::size_t ldq) {
        const kernel_isa isa = active_kernel();
        for (std::size_t r = 0; r < rows; ++r) detail::bf16_pairs(q + r * ldq, head_dim_, queries_.data() + r * query_pairs_, isa);
    }
    void scores(std::size_t rows, const packed& keys, float* scores, std::size_t lds) const {
        gemm_packed_bf16_pairs(queries_.data(), rows, query_pairs_, keys, nullptr, scores, lds);
    }
    void take_weights(std::size_t r, const float* row, std::size_t cols) {
        detail::bf16_pairs(row, cols, weights_.data() + r * weight_pairs_, active_kernel());
    }
    void weighted_values(const float*, std::size_t rows, std::size_t, const packed& values_t, float* y, std::size_t ldy) const {
        gemm_packed_bf16_pairs(weights_.data(), rows, weight_pairs_, values_t, nullptr, y, ldy);
    }

private:
    std::size_t head_dim_, query_pairs_, weight_pairs_;
    std::vector<std::uint32_t> queries_;  // [query_block, query_pairs_]
    std::vector<std::uint32_t> weights_;  // [query_block, weight_pairs_]
};

// attention() with its products in one precision: f32_products or bf16_products.
template <class Products>
void attention_in(const token_rows<const float>& q, const token_rows<const float>& k, const token_rows<const float>& v,
                  const attention_shape& s, const attention_mask& mask, const attention_bias& bias, float scale,
                  const token_rows<float>& out) {
    const std::size_t d = s.head_dim, n = s.kv_len;
    // A bias may be -inf where the mask shows a key, so only a plain causal mask skips keys.
    const bool skip_future = mask.causal && !bias.data;
    const std::size_t query_block = std::min(s.q_len, skip_future ? attention_causal_block : attention_query_block);
    const std::size_t key_block = std::min(n, skip_future ? attention_causal_block : attention_key_block);
    const std::size_t key_blocks = (n + key_block - 1) / key_block;
    const std::size_t bias_plane = s.q_len * n;  // [q_len, kv_len] of one (batch, head)
    parallel_for(s.batch * s.num_heads, 1, [&](std::size_t t0, std::size_t t1) {
        Products products(query_block, key_block, d);
        std::vector<typename Products::packed> keys(key_blocks), values_t(key_blocks);
        std::vector<float> scores(query_block * key_block);  // [queries of the block, keys of the block]
        std::vector<float> partial(query_block * d);         // [queries of the block, head_dim]: one key block's share
        std::vector<float> running_max(query_block), running_sum(query_block), rescale(query_block);
        std::vector<float> padding_add(mask.key_padding ? n : 0);  // the batch item's: 0 or float's lowest per key
        for (std::size_t t = t0; t < t1; ++t) {
            const std::size_t b = t / s.num_heads, h = t % s.num_heads;
            const float* qh = q.data + b * q.batch_stride + h * d;
            const float* kh = k.data + b * k.batch_stride + h * d;
            const float* vh = v.data + b * v.batch_stride + h * d;
            float* oh = out.data + b * out.batch_stride + h * d;
            for (std::size_t kb = 0; kb < key_blocks; ++kb) {
                const std::size_t j0 = kb * key_block, cols = std::min(key_block, n - j0);
                keys[kb].assign(kh + j0 * k.row_stride, cols, d, k.row_stride, 1);      // [keys, head_dim]
                values_t[kb].assign(vh + j0 * v.row_stride, d, cols, 1, v.row_stride);  // [head_dim, keys]
            }
            const std::int64_t* padding = mask.key_padding ? mask.key_padding + b * n : nullptr;
            if (padding)
                std::transform(padding, padding + n, padding_add.begin(),
                               [](std::int64_t shown) { return shown == 0 ? std::numeric_limits<float>::lowest() : 0.0f; });
            const std::size_t skip_from = skip_future ? first_unpadded(padding, n) : s.q_len;  // blocks from this query on skip
            const float* bias_bh =
                bias.data ? bias.data + ((bias.batch > 1 ? b : 0) * bias.heads + (bias.heads > 1 ? h : 0)) * bias_plane : nullptr;
            const float* row_scale_bh = bias.row_scale ? bias.row_scale + (b * s.num_heads + h) * s.q_len : nullptr;
            for (std::size_t i0 = 0; i0 < s.q_len; i0 += query_block) {
                const std::size_t rows = std::min(query_block, s.q_len - i0);
                float* o = oh + i0 * out.row_stride;
                std::fill(running_max.begin(), running_max.end(), -std::numeric_limits<float>::infinity());
                std::fill(running_sum.begin(), running_sum.end(), 0.0f);
                products.take_queries(qh + i0 * q.row_stride, rows, q.row_stride);
                // The key blocks this query block sees; past them every key is in its future.
                const std::size_t seen_blocks = i0 >= skip_from ? (i0 + rows + key_block - 1) / key_block : key_blocks;
                for (std::size_t kb = 0; kb < seen_blocks; ++kb) {
                    const std::size_t j0 = kb * key_block, cols = std::min(key_block, n - j0);
                    products.scores(rows, keys[kb], scores.data(), key_block);
                    for (std::size_t r = 0; r < rows; ++r) {
                        const std::size_t i = i0 + r;
                        const std::size_t future_from = mask.causal ? std::min(cols, std::max(i + 1, j0) - j0) : cols;
                        rescale[r] = online_softmax_step(scores.data() + r * key_block, cols, scale, bias_bh ? bias_bh + i * n + j0 : nullptr,
                                                         row_scale_bh ? row_scale_bh[i] : 1.0f, future_from, padding ? padding_add.data() + j0 : nullptr,
                                                         running_max[r], running_sum[r]);
                        products.take_weights(r, scores.data() + r * key_block, cols);
                    }
                    if (kb == 0) {  // the first block's share is the whole output so far
                        products.weighted_values(scores.data(), rows, key_block, values_t[kb], o, out.row_stride);
                        continue;
                    }
                    products.weighted_values(scores.data(), rows, key_block, values_t[kb], partial.data(), d);
                    for (std::size_t r = 0; r < rows; ++r) {
                        float* o_row = o + r * out.row_stride;
                        const float* p_row = partial.data() + r * d;
                        for (std::size_t e = 0; e < d; ++e) o_row[e] = o_row[e] * rescale[r] + p_row[e];
                    }
                }
                for (std::size_t r = 0; r < rows; ++r) {
                    // A sum of 0 (every score -inf) gives 0 * inf = NaN, as torch's softmax.
                    const float inv = 1.0f / running_sum[r];
                    float* o_row = o + r * out.row_stride;
                    for (std::size_t e = 0; e < d; ++e) o_row[e] *= inv;
                }
            }
        }
    });
}

}  // namespace detail

// Writes softmax(Q K^T * scale + bias + masks) V for every batch item and head to
// `out` (its rows must not overlap q, k or v). `scale` (> 0) multiplies the scores.
// One (batch, head) pair per task: its keys and transposed values are packed per
// key block into buffers each thread keeps, then for each block of queries the key
// blocks go through one after the other with a running max and sum per query
// (online softmax): both products run through the packed GEMM and a block's scores
// never leave the core's caches. The output of a query block accumulates in `out`
// and is divided by the sums at the end. Under a causal mask the blocks are one
// panel square and a query block skips the key blocks wholly in its future, whose
// weights are exactly 0 (unless every key it sees is padded, or with a bias): such a
// key's k and v are never read, so a NaN there does not reach earlier queries as it
// would in HF's full product. Each task runs on one thread, so the
// result does not depend on the thread count. `products`: f32, or bf16 for both
// products (bf16_products); the softmax stays float32 either way.
inline void attention(const token_rows<const float>& q, const token_rows<const float>& k, const token_rows<const float>& v,
                      const attention_shape& s, const attention_mask& mask, const attention_bias& bias, float scale,
                      const token_rows<float>& out, mmt::precision products = mmt::precision::f32) {
    if (s.batch == 0 || s.q_len == 0) return;
    detail::check_attention(q, k, v, s, mask, bias, scale, out);
    switch (products) {
        case mmt::precision::f32: return detail::attention_in<detail::f32_products>(q, k, v, s, mask, bias, scale, out);
        case mmt::precision::bf16: return detail::attention_in<detail::bf16_products>(q, k, v, s, mask, bias, scale, out);
        case mmt::precision::int8: break;
    }
    fail<input_error>("attention: products in ", precision_name(products), ", expected f32 or bf16");
}

}  // namespace mmt::ops
