// WavLM's gated relative position bias (WavLMAttention). Layer 0's rel_attn_embed
// [num_buckets, heads] gives b[h, i, j] from the bucket of j - i (key minus query
// position), computed once per forward and passed on ungated. Each layer gates it
// per head and query with its own gru_rel_pos_linear (head_dim -> 8) and
// gru_rel_pos_const [1, heads, 1, 1], read from its attention input x:
//   g = x_head W^T + c, (a, b) = sigmoid(sum of g's two halves),
//   gate = a * (b * const - 1) + 2, bias[h, i, :] = gate[h, i] * b[h, i, :],
// each product taken as the attention adds it (ops::attention_bias::row_scale), so
// the gated [batch, heads, frames, frames] tensor (108 MB a layer at 30 s) is never stored.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "mmt/core/threading.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/wav2vec2/config.hpp"

namespace mmt::wav2vec2 {

// WavLMAttention._relative_positions_bucket: half the buckets per sign (+num_buckets / 2
// when the key is after the query), exact below num_buckets / 4, then logarithmic up to
// max_distance, capped at num_buckets / 2 - 1. The logarithm in float32, as torch takes it.
inline std::size_t relative_position_bucket(std::int64_t relative, std::size_t num_buckets, std::size_t max_distance) {
    const std::int64_t half = std::int64_t(num_buckets / 2), max_exact = half / 2;
    const std::int64_t distance = std::llabs(relative);
    std::int64_t bucket = relative > 0 ? half : 0;
    if (distance < max_exact) return std::size_t(bucket + distance);
    float scaled = std::log(float(distance) / float(max_exact));
    scaled = scaled / float(std::log(double(max_distance) / double(max_exact)));
    scaled = scaled * float(half - max_exact);
    const auto large = std::int64_t(float(max_exact) + scaled);  // .to(torch.long) truncates
    return std::size_t(bucket + std::min(large, half - 1));
}

struct gated_position_bias {
    struct gate {
        tensor<2> weight;    // gru_rel_pos_linear.weight [8, head_dim]
        tensor<1> bias;      // gru_rel_pos_linear.bias [8]
        tensor<1> constant;  // gru_rel_pos_const [heads]
    };
    static constexpr std::size_t gate_width = 8;  // gru_rel_pos_linear's outputs: two halves of 4
    tensor<2> rel_attn_embed;                     // [num_buckets, heads]
    std::vector<gate> gates;                      // per layer
    std::size_t num_buckets = 0, max_distance = 0, heads = 0, head_dim = 0;

    // `layers_scope` is "<prefix>.encoder.layers.".
    static gated_position_bias load(const io::weight_scope& layers_scope, const config& c) {
        gated_position_bias p;
        p.num_buckets = c.num_buckets;
        p.max_distance = c.max_bucket_distance;
        p.heads = c.num_attention_heads;
        p.head_dim = c.hidden_size / c.num_attention_heads;
        p.rel_attn_embed = layers_scope.child(0).child("attention").child("rel_attn_embed").get<2>("weight", {p.num_buckets, p.heads});
        for (std::size_t i = 0; i < c.num_hidden_layers; ++i) {
            const io::weight_scope a = layers_scope.child(i).child("attention");
            const tensor<4> constant = a.get<4>("gru_rel_pos_const", {1, p.heads, 1, 1});
            p.gates.push_back({a.child("gru_rel_pos_linear").get<2>("weight", {gate_width, p.head_dim}),
                               a.child("gru_rel_pos_linear").get<1>("bias", {gate_width}), tensor<1>(xt::flatten(constant))});
        }
        return p;
    }

    // WavLMAttention.compute_bias: [heads, frames, frames]. A bucket depends on j - i alone,
    // so each of the 2 frames - 1 distances is bucketed once (a log each).
    tensor<3> position_bias(std::size_t frames) const {
        tensor<3> b({heads, frames, frames});
        if (frames == 0) return b;
        std::vector<std::size_t> bucket(2 * frames - 1);  // [j - i + frames - 1]
        for (std::size_t d = 0; d < bucket.size(); ++d)
            bucket[d] = relative_position_bucket(std::int64_t(d) - std::int64_t(frames - 1), num_buckets, max_distance);
        parallel_for(heads * frames, 16, [&](std::size_t r0, std::size_t r1) {
            for (std::size_t r = r0; r < r1; ++r) {  // row r: head r / frames, query r % frames
                const std::size_t h = r / frames, i = r % frames;
                float* row = &b(h, i, 0);
                for (std::size_t j = 0; j < frames; ++j) row[j] = rel_attn_embed(bucket[j + frames - 1 - i], h);
            }
        });
        return b;
    }

    // Layer `layer`'s gates from its attention input x [batch, frames, heads * head_dim] ->
    // [batch, heads, frames]: query i of head h takes gate[b, h, i] * position_bias[h, i, :]
    // (ops::attention_bias::row_scale).
    tensor<3> gates_of(std::size_t layer, const tensor<3>& x) const {
        const gate& g = gates.at(layer);
        const std::size_t batch = x.shape(0), frames = x.shape(1);
        tensor<3> out({batch, heads, frames});
        parallel_for(batch * heads, 1, [&](std::size_t begin, std::size_t end) {
            for (std::size_t bh = begin; bh < end; ++bh) {
                const std::size_t b = bh / heads, h = bh % heads;
                for (std::size_t i = 0; i < frames; ++i) {
                    const float* xh = &x(b, i, h * head_dim);
                    float half[2] = {0.0f, 0.0f};
                    for (std::size_t k = 0; k < gate_width; ++k) {
                        float v = g.bias(k);
                        for (std::size_t d = 0; d < head_dim; ++d) v += xh[d] * g.weight(k, d);
                        half[k / 4] += v;
                    }
                    const float a = 1.0f / (1.0f + std::exp(-half[0])), c = 1.0f / (1.0f + std::exp(-half[1]));
                    out(b, h, i) = a * (c * g.constant(h) - 1.0f) + 2.0f;
                }
            }
        });
        return out;
    }
};

}  // namespace mmt::wav2vec2
