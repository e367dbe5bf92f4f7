// Naive double-precision twins of the ops: plain loops over xt::xarray<double>,
// written for clarity only, so an op (or a layer built from ops) can be checked
// against them on awkward shapes.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "mmt/core/xtensor.hpp"
#include "mmt/ops/activations.hpp"
#include "mmt/ops/conv1d.hpp"

namespace mmt::test::naive {

using array = xt::xarray<double>;

// A bias of shape [0] (or a default-constructed, rank-0 array) means none.
inline bool has_bias(const array& b) { return b.dimension() == 1 && b.size() != 0; }

inline array zeros(const std::vector<std::size_t>& shape) {
    array a(shape);
    a.fill(0.0);
    return a;
}

template <class Tensor>
array to_double(const Tensor& t) {
    array a = xt::cast<double>(t);
    return a;
}

// x: [rows, in], w: [out, in], b: [out] or none -> [rows, out]
inline array linear(const array& x, const array& w, const array& b) {
    const std::size_t rows = x.shape(0), in = x.shape(1), out = w.shape(0);
    array y = zeros({rows, out});
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t o = 0; o < out; ++o) {
            double sum = has_bias(b) ? b(o) : 0.0;
            for (std::size_t i = 0; i < in; ++i) sum += x(r, i) * w(o, i);
            y(r, o) = sum;
        }
    return y;
}

// x: [rows, dim] -> [rows, dim], biased variance as nn.LayerNorm.
inline array layer_norm(const array& x, const array& w, const array& b, double eps) {
    const std::size_t rows = x.shape(0), dim = x.shape(1);
    array y = zeros({rows, dim});
    for (std::size_t r = 0; r < rows; ++r) {
        double mean = 0, var = 0;
        for (std::size_t i = 0; i < dim; ++i) mean += x(r, i);
        mean /= double(dim);
        for (std::size_t i = 0; i < dim; ++i) var += (x(r, i) - mean) * (x(r, i) - mean);
        var /= double(dim);
        for (std::size_t i = 0; i < dim; ++i) y(r, i) = (x(r, i) - mean) / std::sqrt(var + eps) * w(i) + b(i);
    }
    return y;
}

// The formulas of HF's ACT2FN.
inline double activate(ops::activation act, double x) {
    const double pi = 3.14159265358979323846;
    switch (act) {
        case ops::activation::gelu: return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
        case ops::activation::gelu_new: return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / pi) * (x + 0.044715 * x * x * x)));
        case ops::activation::quick_gelu: return x / (1.0 + std::exp(-1.702 * x));
        case ops::activation::relu: return x > 0 ? x : 0.0;
        case ops::activation::silu: return x / (1.0 + std::exp(-x));
        case ops::activation::tanh: return std::tanh(x);
    }
    return x;
}

// x: [rows, n] -> softmax of each row.
inline array softmax(const array& x) {
    const std::size_t rows = x.shape(0), n = x.shape(1);
    array y = zeros({rows, n});
    for (std::size_t r = 0; r < rows; ++r) {
        double max = -std::numeric_limits<double>::infinity(), sum = 0;
        for (std::size_t j = 0; j < n; ++j) max = std::max(max, x(r, j));
        for (std::size_t j = 0; j < n; ++j) sum += std::exp(x(r, j) - max);
        for (std::size_t j = 0; j < n; ++j) y(r, j) = std::exp(x(r, j) - max) / sum;
    }
    return y;
}

// q: [batch, q_len, num_heads * head_dim], k, v: [batch, kv_len, num_heads * head_dim]
// -> [batch, q_len, num_heads * head_dim]. `padding` is [batch, kv_len] with 0 for a
// padded key, or empty; `bias` is [batch or 1, num_heads or 1, q_len, kv_len] (a size
// of 1 broadcasts), or rank 0 for none. The masks are HF's additive ones, in HF's
// float32: each mask hiding a key adds float32's lowest value to the score (scaled,
// with the bias), rounded to float, so a masked score is lowest and a key hidden by
// both masks is -inf.
inline array attention(const array& q, const array& k, const array& v, std::size_t num_heads, bool causal,
                       const std::vector<std::int64_t>& padding, double scale, const array& bias = array()) {
    const std::size_t batch = q.shape(0), nq = q.shape(1), nk = k.shape(1), hidden = q.shape(2), d = hidden / num_heads;
    const float lowest = std::numeric_limits<float>::lowest();
    const bool biased = bias.dimension() == 4;
    array out = zeros({batch, nq, hidden});
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t h = 0; h < num_heads; ++h) {
            array scores = zeros({nq, nk});
            for (std::size_t i = 0; i < nq; ++i)
                for (std::size_t j = 0; j < nk; ++j) {
                    double s = 0;
                    for (std::size_t e = 0; e < d; ++e) s += q(b, i, h * d + e) * k(b, j, h * d + e);
                    s *= scale;
                    if (biased) s += bias(bias.shape(0) > 1 ? b : 0, bias.shape(1) > 1 ? h : 0, i, j);
                    if (causal && j > i) s = double(float(s) + lowest);
                    if (!padding.empty() && padding[b * nk + j] == 0) s = double(float(s) + lowest);
                    scores(i, j) = s;
                }
            const array weights = softmax(scores);
            for (std::size_t i = 0; i < nq; ++i)
                for (std::size_t e = 0; e < d; ++e) {
                    double sum = 0;
                    for (std::size_t j = 0; j < nk; ++j) sum += weights(i, j) * v(b, j, h * d + e);
                    out(b, i, h * d + e) = sum;
                }
        }
    return out;
}

// Direct Conv2d with stride = kernel = patch, no padding: pixels [batch, channels, height, width],
// w [hidden, channels, patch, patch], bias [hidden] or none -> [batch, grid_h * grid_w, hidden].
inline array patch_conv(const array& pixels, const array& w, const array& bias) {
    const std::size_t batch = pixels.shape(0), channels = pixels.shape(1), hidden = w.shape(0), p = w.shape(2);
    const std::size_t gh = pixels.shape(2) / p, gw = pixels.shape(3) / p;
    array out = zeros({batch, gh * gw, hidden});
    for (std::size_t b = 0; b < batch; ++b)
        for (std::size_t gy = 0; gy < gh; ++gy)
            for (std::size_t gx = 0; gx < gw; ++gx)
                for (std::size_t o = 0; o < hidden; ++o) {
                    double sum = has_bias(bias) ? bias(o) : 0.0;
                    for (std::size_t c = 0; c < channels; ++c)
                        for (std::size_t y = 0; y < p; ++y)
                            for (std::size_t x = 0; x < p; ++x) sum += w(o, c, y, x) * pixels(b, c, gy * p + y, gx * p + x);
                    out(b, gy * gw + gx, o) = sum;
                }
    return out;
}

// x: [batch, length, in] (channels-last, as the op takes it), w: [out, in / groups, kernel],
// bias: [out] or none -> [batch, out_length, out]; a direct sum over the taps.
inline array conv1d(const array& x, const array& w, const array& bias, const ops::conv1d_shape& s) {
    const std::size_t frames = s.out_length(), cin = s.in_per_group(), cout = s.out_per_group();
    auto y = zeros({s.batch, frames, s.out_channels});
    for (std::size_t b = 0; b < s.batch; ++b)
        for (std::size_t t = 0; t < frames; ++t)
            for (std::size_t o = 0; o < s.out_channels; ++o) {
                const std::size_t g = o / cout;
                double sum = has_bias(bias) ? bias(o) : 0.0;
                for (std::size_t i = 0; i < cin; ++i)
                    for (std::size_t k = 0; k < s.kernel; ++k) {
                        const long src = long(t * s.stride + k) - long(s.padding);
                        if (src >= 0 && src < long(s.length)) sum += w(o, i, k) * x(b, std::size_t(src), g * cin + i);
                    }
                y(b, t, o) = sum;
            }
    return y;
}

}  // namespace mmt::test::naive
