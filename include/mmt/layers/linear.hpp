// nn.Linear: W [out_features, in_features], optional bias. The weight is packed
// once at load into its GEMM's panel layout, in the precision the loader's
// options ask for (io::weight_scope::linear_precision): float32 (exact), bf16, or int8 with dynamic quantisation of
// the inputs (ops/packed_gemm*.hpp). The checkpoint's copy is not kept.
//
// Output heads (a classifier, lm_head, CLIP's projections, the pooler) load with
// `load_head` and stay float32 whatever the options say: they are a fraction of a
// percent of a model's FLOPs, and their outputs are what users read, the labels
// and embeddings. Reduced precision is for the body, where the time goes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/ops/activations.hpp"
#include "mmt/ops/gemm_epilogue.hpp"
#include "mmt/ops/packed_gemm_any.hpp"

namespace mmt::layers {

struct linear {
    // [out_features, in_features], packed
    ops::any_packed_weights weight;
    tensor<1> bias;  // [out_features], empty when the layer has none

    static linear load(const io::weight_scope& scope, std::size_t in_features, std::size_t out_features, bool has_bias = true) {
        return load(scope, in_features, out_features, has_bias, scope.linear_precision());
    }

    // An output head: float32 under every load option.
    static linear load_head(const io::weight_scope& scope, std::size_t in_features, std::size_t out_features, bool has_bias = true) {
        return load(scope, in_features, out_features, has_bias, mmt::precision::f32);
    }

    static linear load(const io::weight_scope& scope, std::size_t in_features, std::size_t out_features, bool has_bias,
                       mmt::precision precision) {
        linear l;
        const auto w = scope.get_packed<2>("weight", {out_features, in_features}, precision);
        l.weight = ops::pack_weights(w.rows, out_features, in_features, precision, w.row_scales());
        if (has_bias) l.bias = scope.get<1>("bias", {out_features});
        return l;
    }

    // The layers `parts` names under `scope` (attention's q_proj, k_proj and v_proj),
    // stacked as one of parts.size() * out_features outputs: one product computes them
    // all from one preparation of x (quantising it once in int8), and select(i, n)
    // computes some alone. They must load in one precision.
    static linear load_stacked(const io::weight_scope& scope, const std::vector<std::string>& parts, std::size_t in_features,
                               std::size_t out_features, bool has_bias = true) {
        const mmt::precision precision = scope.child(parts.at(0)).linear_precision();
        std::vector<io::packed_source<2>> sources;
        std::vector<float> scales, biases;
        for (const std::string& name : parts) {
            const io::weight_scope part = scope.child(name);
            if (part.linear_precision() != precision)
                fail<config_error>(scope.prefix(), name, ": loads in ", precision_name(part.linear_precision()), ", but ", parts[0],
                                   ", stacked with it, in ", precision_name(precision), ": give them one precision");
            sources.push_back(part.get_packed<2>("weight", {out_features, in_features}, precision));
            if (const float* s = sources.back().row_scales()) scales.insert(scales.end(), s, s + out_features);
            if (has_bias) {
                const tensor<1> b = part.get<1>("bias", {out_features});
                biases.insert(biases.end(), b.begin(), b.end());
            }
        }
        if (!scales.empty() && scales.size() != parts.size() * out_features)
            fail<format_error>(scope.prefix(), parts[0], " and the layers stacked with it are not all stored as int8 levels");
        const auto rows = [&](std::size_t first, std::size_t count, float* out) {  // a panel's rows lie in one part
            sources[first / out_features].rows(first % out_features, count, out);
        };
        linear l;
        l.weight = ops::pack_weights(rows, parts.size() * out_features, in_features, precision, scales.empty() ? nullptr : scales.data(),
                                     parts.size());
        if (has_bias) {
            l.bias = tensor<1>::from_shape({biases.size()});
            std::copy(biases.begin(), biases.end(), l.bias.begin());
        }
        return l;
    }

    mmt::precision precision() const { return ops::precision_of(weight); }
    std::size_t in_features() const { return ops::cols_of(weight); }
    std::size_t out_features() const { return ops::rows_of(weight); }
    std::size_t parts() const { return std::visit([](const auto& w) { return w.parts(); }, weight); }

    // `count` of a stacked layer's parts from part `first` on (load_stacked), as a layer of
    // their outputs side by side that shares this one's weights.
    linear select(std::size_t first, std::size_t count) const {
        const std::size_t part_rows = out_features() / parts();
        linear l{ops::select_parts(weight, first, count), {}};
        if (bias.size()) l.bias = xt::view(bias, xt::range(first * part_rows, (first + count) * part_rows));
        return l;
    }

    // [..., in_features] -> [..., out_features]
    template <std::size_t N>
    tensor<N> forward(const tensor<N>& x) const { return product(x, {}); }

    // act(x W^T + b), the activation in the GEMM's epilogue (an MLP's first layer):
    // [..., in_features] -> [..., out_features]
    template <std::size_t N>
    tensor<N> forward(const tensor<N>& x, ops::activation act) const { return product(x, {act}); }

    // residual + x W^T + b, the skip connection in the GEMM's epilogue. x: [..., in_features],
    // residual: [..., out_features] -> [..., out_features]
    template <std::size_t N>
    tensor<N> forward_add(const tensor<N>& x, const tensor<N>& residual) const {
        check_residual(x, residual);
        return product(x, {std::nullopt, residual.data(), out_features()});
    }

    // The shape checks of forward() and forward_add(), for a caller that runs the rows
    // itself (feed_forward); `who` begins the message. x: [..., in_features]; residual:
    // x's shape with out_features last (the leading dimensions may be any x's, e.g. an MLP's input).
    template <std::size_t N>
    void check_input(const tensor<N>& x, const char* who = "linear") const {
        if (x.shape(N - 1) != in_features())
            fail<shape_error>(who, ": input's last dimension is ", x.shape(N - 1), ", expected in_features = ", in_features());
    }
    template <std::size_t N>
    void check_residual(const tensor<N>& x, const tensor<N>& residual, const char* who = "linear") const {
        for (std::size_t d = 0; d < N; ++d) {
            const std::size_t expected = d + 1 < N ? x.shape(d) : out_features();
            if (residual.shape(d) != expected)
                fail<shape_error>(who, ": residual's dimension ", d, " is ", residual.shape(d), ", expected the output's ", expected);
        }
    }

    // Rows of x [rows, in_features] -> y [rows, out_features] through `epilogue`
    // (whose residual, if any, is [rows, out_features]); contiguous, y not aliasing x.
    void forward_rows(const float* x, std::size_t rows, float* y, const ops::gemm_epilogue& epilogue = {}) const {
        ops::gemm_packed(x, rows, weight, bias.size() ? bias.data() : nullptr, y, epilogue);
    }

    // forward() into y: x [..., in_features] -> y [x.size() / in_features, out_features],
    // a buffer the caller keeps (a scratch_pool lease).
    template <std::size_t N>
    void forward_into(const tensor<N>& x, float* y, const ops::gemm_epilogue& epilogue = {}) const {
        check_input(x);
        forward_rows(x.data(), x.size() / in_features(), y, epilogue);
    }

private:
    template <std::size_t N>
    tensor<N> product(const tensor<N>& x, const ops::gemm_epilogue& epilogue) const {
        auto shape = x.shape();
        shape[N - 1] = out_features();
        tensor<N> y(shape);
        forward_into(x, y.data(), epilogue);
        return y;
    }
};

}  // namespace mmt::layers
