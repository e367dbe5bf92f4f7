// nn.Linear: W [out_features, in_features], optional bias. The weight is packed
// once at load into the GEMM's panel layout, in float32 or, when the loader's
// options ask for it, in bfloat16 (ops/packed_gemm*.hpp); the checkpoint's copy
// is not kept.
#pragma once

#include <cstddef>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/ops/packed_gemm.hpp"
#include "mmt/ops/packed_gemm_bf16.hpp"

namespace mmt::layers {

struct linear {
    ops::packed_weights weight;            // [out_features, in_features], packed float32 ...
    ops::packed_weights_bf16 weight_bf16;  // ... or packed bf16: exactly one of the two is loaded
    tensor<1> bias;                        // [out_features], empty when the layer has none

    static linear load(const io::weight_scope& scope, std::size_t in_features, std::size_t out_features, bool has_bias = true) {
        linear l;
        const tensor<2> w = scope.get<2>("weight", {out_features, in_features});
        if (scope.options().linear == io::precision::bf16)
            l.weight_bf16 = ops::packed_weights_bf16(w.data(), out_features, in_features);
        else
            l.weight = ops::packed_weights(w.data(), out_features, in_features);
        if (has_bias) l.bias = scope.get<1>("bias", {out_features});
        return l;
    }

    bool is_bf16() const { return weight_bf16.rows() != 0; }
    std::size_t in_features() const { return is_bf16() ? weight_bf16.cols() : weight.cols(); }
    std::size_t out_features() const { return is_bf16() ? weight_bf16.rows() : weight.rows(); }

    // [..., in_features] -> [..., out_features]
    template <std::size_t N>
    tensor<N> forward(const tensor<N>& x) const {
        if (x.shape(N - 1) != in_features())
            fail<shape_error>("linear: input's last dimension is ", x.shape(N - 1), ", expected in_features = ", in_features());
        auto shape = x.shape();
        shape[N - 1] = out_features();
        tensor<N> y(shape);
        const float* b = bias.size() ? bias.data() : nullptr;
        if (is_bf16())
            ops::gemm_packed_bf16(x.data(), x.size() / in_features(), weight_bf16, b, y.data());
        else
            ops::gemm_packed(x.data(), x.size() / in_features(), weight, b, y.data());
        return y;
    }
};

}  // namespace mmt::layers
