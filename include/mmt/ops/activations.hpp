// The activations HF's ACT2FN names, chosen at run time from config.json's
// hidden_act / feat_extract_activation.
#pragma once

#include <cmath>
#include <cstddef>
#include <string>

#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/vector_math.hpp"

namespace mmt::ops {

enum class activation { gelu, gelu_new, quick_gelu, relu, silu, tanh };

// `key` names the config field in the error (e.g. "text_config.hidden_act").
inline activation parse_activation(const std::string& name, const std::string& key) {
    if (name == "gelu") return activation::gelu;
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast") return activation::gelu_new;
    if (name == "quick_gelu") return activation::quick_gelu;
    if (name == "relu") return activation::relu;
    if (name == "silu" || name == "swish") return activation::silu;
    if (name == "tanh") return activation::tanh;
    fail<config_error>(key, ": unknown activation \"", name,
                       "\", expected one of gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, quick_gelu, relu, silu, swish, tanh");
}

// a of the activations that are x sigmoid(a x): quick_gelu 1.702, silu 1; 0 for the others.
inline float sigmoid_gate_slope(activation act) {
    return act == activation::quick_gelu ? 1.702f : act == activation::silu ? 1.0f : 0.0f;
}

inline float activate(activation act, float x) {
    switch (act) {
        case activation::gelu: return 0.5f * x * (1.0f + std::erf(x * 0.70710678118654752f));
        case activation::gelu_new: {
            const float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
            return 0.5f * x * (1.0f + std::tanh(inner));
        }
        case activation::quick_gelu:
        case activation::silu: return x / (1.0f + std::exp(-sigmoid_gate_slope(act) * x));
        case activation::relu: return x > 0.0f ? x : 0.0f;
        case activation::tanh: return std::tanh(x);
    }
    return x;
}

// In place over n contiguous values on the calling thread; the exp/erf ones
// vectorised (vector_math.hpp). Ops call it on the tile they just wrote, while it
// is in cache.
inline void activate_inplace(activation act, float* x, std::size_t n) {
    if (act == activation::gelu) return gelu_inplace(x, n);
    if (const float a = sigmoid_gate_slope(act)) return sigmoid_gate_inplace(x, n, a);
    for (std::size_t i = 0; i < n; ++i) x[i] = activate(act, x[i]);
}

// In place over n contiguous values, on all threads.
inline void apply_activation(activation act, float* x, std::size_t n) {
    parallel_for(n, 1u << 14, [&](std::size_t i0, std::size_t i1) { activate_inplace(act, x + i0, i1 - i0); });
}

}  // namespace mmt::ops
