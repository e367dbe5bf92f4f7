// What the packed GEMMs do to each tile of y once its sums are final, while it is
// still in cache: y = act(x W^T + b) + residual. The activation comes first, as
// after an MLP's first layer (CLIPMLP.fc1, BertIntermediate); the residual is a
// transformer's skip connection after out_proj or fc2 (HF's `hidden_states +
// residual`). Each runs on the values a separate pass would see, with the same
// per-element code (activate_inplace), so fusing them changes no bit: it saves
// writing y to memory and reading it back.
#pragma once

#include <cstddef>
#include <optional>

#include "mmt/core/error.hpp"
#include "mmt/ops/activations.hpp"

namespace mmt::ops {

struct gemm_epilogue {
    std::optional<activation> act;    // none: y stays x W^T + b
    const float* residual = nullptr;  // [m, n] with row stride ld_residual, or none; must not alias y
    std::size_t ld_residual = 0;

    // n: the product's columns.
    void validate(std::size_t n) const {
        if (residual && ld_residual < n)
            fail<shape_error>("gemm epilogue: residual row stride is ", ld_residual, ", expected at least the output's ", n, " columns");
    }

    // The tile y[rows, cols] (row stride ldy) at row r0, column c0 of the product, on the calling thread.
    void apply(float* y, std::size_t ldy, std::size_t r0, std::size_t c0, std::size_t rows, std::size_t cols) const {
        for (std::size_t r = 0; r < rows; ++r) {
            float* row = y + r * ldy;
            if (act) activate_inplace(*act, row, cols);
            if (!residual) continue;
            const float* skip = residual + (r0 + r) * ld_residual + c0;
            for (std::size_t j = 0; j < cols; ++j) row[j] = skip[j] + row[j];
        }
    }
};

}  // namespace mmt::ops
