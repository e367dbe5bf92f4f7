// Weights packed in the precision a model was loaded with (float32, bf16 or
// int8), and the GEMM that runs each: what linear layers and the convolutions
// that follow the load options hold.
#pragma once

#include <cstddef>
#include <type_traits>
#include <variant>

#include "mmt/core/error.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/core/row_reader.hpp"
#include "mmt/ops/packed_gemm.hpp"
#include "mmt/ops/packed_gemm_bf16.hpp"
#include "mmt/ops/packed_gemm_int8.hpp"

namespace mmt::ops {

// The alternatives are in precision's order, so index() is the precision.
using any_packed_weights = std::variant<packed_weights, packed_weights_bf16, packed_weights_int8>;

// W [n, k] float32, read a panel's rows at a time and packed in `precision`,
// stacking `parts` equal parts (panel_buffer). With `int8_scales` ([n], int8 only),
// W holds int8 levels with those row scales (io::packed_source).
inline any_packed_weights pack_weights(const row_reader& w, std::size_t n, std::size_t k, mmt::precision precision,
                                       const float* int8_scales = nullptr, std::size_t parts = 1) {
    if (int8_scales && precision != mmt::precision::int8)
        fail<error>("pack_weights: int8 levels with their scales cannot be packed as ", precision_name(precision));
    switch (precision) {
        case mmt::precision::bf16: return packed_weights_bf16(w, n, k, parts);
        case mmt::precision::int8: return packed_weights_int8(w, n, k, int8_scales, parts);
        case mmt::precision::f32: break;
    }
    return packed_weights(w, n, k, parts);
}

// The same from w: [n, k] row-major in memory.
inline any_packed_weights pack_weights(const float* w, std::size_t n, std::size_t k, mmt::precision precision,
                                       const float* int8_scales = nullptr, std::size_t parts = 1) {
    return pack_weights(rows_in_memory(w, k), n, k, precision, int8_scales, parts);
}

// Which kernel the GEMM of `precision` runs now (what `mmt --verbose` and the benchmark labels name).
inline const char* packed_gemm_kernel(mmt::precision precision) {
    switch (precision) {
        case mmt::precision::bf16: return packed_gemm_bf16_kernel();
        case mmt::precision::int8: return packed_gemm_int8_kernel();
        case mmt::precision::f32: break;
    }
    return packed_gemm_kernel();
}

// `count` of w's stacked parts from part `first` on (ops::select_parts).
inline any_packed_weights select_parts(const any_packed_weights& w, std::size_t first, std::size_t count) {
    return std::visit([&](const auto& p) -> any_packed_weights { return select_parts(p, first, count); }, w);
}

inline mmt::precision precision_of(const any_packed_weights& w) { return mmt::precision(w.index()); }
inline std::size_t rows_of(const any_packed_weights& w) { return std::visit([](const auto& p) { return p.rows(); }, w); }
inline std::size_t cols_of(const any_packed_weights& w) { return std::visit([](const auto& p) { return p.cols(); }, w); }

// x: [m, k] with row stride ldx, y: [m, n] with row stride ldy, bias: [n] or nullptr,
// `epilogue` on each finished tile of y.
inline void gemm_packed(const float* x, std::size_t m, std::size_t ldx, const any_packed_weights& w, const float* bias, float* y,
                        std::size_t ldy, const gemm_epilogue& epilogue = {}) {
    std::visit(
        [&](const auto& p) {
            using packed = std::decay_t<decltype(p)>;
            if constexpr (std::is_same_v<packed, packed_weights_bf16>) gemm_packed_bf16(x, m, ldx, p, bias, y, ldy, epilogue);
            else if constexpr (std::is_same_v<packed, packed_weights_int8>) gemm_packed_int8(x, m, ldx, p, bias, y, ldy, epilogue);
            else gemm_packed(x, m, ldx, p, bias, y, ldy, epilogue);
        },
        w);
}

// Contiguous x [m, k] and y [m, n].
inline void gemm_packed(const float* x, std::size_t m, const any_packed_weights& w, const float* bias, float* y,
                        const gemm_epilogue& epilogue = {}) {
    gemm_packed(x, m, cols_of(w), w, bias, y, rows_of(w), epilogue);
}

}  // namespace mmt::ops
