// Weight shapes [n, k] that reach every edge of the packing's AVX2 loops (float32
// rows as 8x8 blocks transposed in registers, bf16 and int8 as 8 values of a row at
// once): whole blocks, edges in rows and in k (odd, not a multiple of 4 or 8), k
// past one 64-wide block, several panels.
#pragma once

#include <doctest/doctest.h>

#include <cstddef>
#include <string>

#include "mmt/core/kernel.hpp"
#include "support/kernels.hpp"

namespace mmt::test {

// f(n, k) for each shape under each kernel the CPU has, both named in doctest's context.
template <class F>
void for_each_kernel_and_packing_shape(F&& f) {
    static constexpr std::size_t shapes[][2] = {{53, 29}, {8, 8}, {7, 3}, {48, 64}, {100, 131}, {61, 600}};
    for_each_kernel([&](kernel_isa isa) {
        for (const auto& shape : shapes) {
            const std::size_t n = shape[0], k = shape[1];  // named, not bound: INFO's lambda captures them
            INFO(n, " x ", k, ", kernel ", std::string(kernel_name(isa)));
            f(n, k);
        }
    });
}

}  // namespace mmt::test
