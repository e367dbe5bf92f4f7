// RobertaClassificationHead as LayoutLMv3 and LiLT use it (LayoutLMv3ClassificationHead
// with pool_feature=False, LiltClassificationHead): dense, tanh, out_proj. Output
// layers, float32 under every load option (linear::load_head).
#pragma once

#include <cstddef>

#include "mmt/core/xtensor.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/layers/linear.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::layers {

struct classification_head {
    linear dense;     // [hidden_size, hidden_size]
    linear out_proj;  // [outputs, hidden_size]

    // `scope` holds "dense" and "out_proj" (e.g. "classifier.").
    static classification_head load(const io::weight_scope& scope, std::size_t hidden_size, std::size_t outputs) {
        return {linear::load_head(scope.child("dense"), hidden_size, hidden_size),
                linear::load_head(scope.child("out_proj"), hidden_size, outputs)};
    }
    // x: [..., hidden_size] -> [..., outputs]
    template <std::size_t N>
    tensor<N> forward(const tensor<N>& x) const {
        return out_proj.forward(dense.forward(x, ops::activation::tanh));
    }
};

}  // namespace mmt::layers
