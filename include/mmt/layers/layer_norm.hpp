// nn.LayerNorm over the last dimension, with its affine weight and bias.
#pragma once

#include <cstddef>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/ops/layer_norm.hpp"

namespace mmt::layers {

struct layer_norm {
    tensor<1> weight;  // [dim]
    tensor<1> bias;    // [dim]
    float eps = 1e-5f;

    static layer_norm load(const io::weight_scope& scope, std::size_t dim, float eps) {
        return {scope.get<1>("weight", {dim}), scope.get<1>("bias", {dim}), eps};
    }

    // [..., dim] -> [..., dim]
    template <std::size_t N>
    tensor<N> forward(const tensor<N>& x) const {
        const std::size_t dim = weight.size();
        if (x.shape(N - 1) != dim) fail<shape_error>("layer_norm: input's last dimension is ", x.shape(N - 1), ", expected ", dim);
        tensor<N> y(x.shape());
        ops::layer_norm(x.data(), x.size() / dim, dim, weight.data(), bias.data(), eps, y.data());
        return y;
    }
};

}  // namespace mmt::layers
