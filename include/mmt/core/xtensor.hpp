// The one header that includes xtensor (its include paths moved between 0.24
// and 0.26). Tensors crossing mmt's API are row-major xtensor containers.
#pragma once

#include <cstddef>
#include <cstdint>

#if __has_include(<xtensor/containers/xtensor.hpp>)
#include <xtensor/containers/xadapt.hpp>
#include <xtensor/containers/xarray.hpp>
#include <xtensor/containers/xtensor.hpp>
#include <xtensor/views/xview.hpp>
#else
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>
#endif

namespace mmt {

// float32 tensor of static rank N, e.g. tensor<3> for [batch, seq_len, hidden_size].
template <std::size_t N>
using tensor = xt::xtensor<float, N>;

// int64 tensor of static rank N (token ids, masks, boxes), as HF passes them.
template <std::size_t N>
using int_tensor = xt::xtensor<std::int64_t, N>;

// Tensors of a rank only known at run time (what a file holds).
template <class T>
using dyn_tensor = xt::xarray<T>;

}  // namespace mmt
