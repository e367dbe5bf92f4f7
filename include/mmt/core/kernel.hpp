// Which family of kernels every op runs: the GEMMs (float32, bf16, int8 and the
// int8 quantiser), softmax and the vector math. Chosen once, as the best the CPU
// has; the environment variable MMT_KERNEL=portable|avx2|avx512 or set_kernel()
// overrides it, so a slower kernel can be compared or tested on a fast CPU.
// Packed weights have one layout per precision for every kernel, so the choice
// can change between calls.
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mmt/core/cpu.hpp"
#include "mmt/core/error.hpp"

namespace mmt {

// In increasing order of width: a CPU that has one has those before it.
enum class kernel_isa { portable, avx2, avx512 };

inline const char* kernel_name(kernel_isa isa) {
    switch (isa) {
        case kernel_isa::avx2: return "avx2";
        case kernel_isa::avx512: return "avx512";
        case kernel_isa::portable: break;
    }
    return "portable";
}

inline bool cpu_has(kernel_isa isa) {
    switch (isa) {
        case kernel_isa::avx2: return cpu::has_avx2();
        case kernel_isa::avx512: return cpu::has_avx512();
        case kernel_isa::portable: break;
    }
    return true;
}

inline kernel_isa best_kernel() {
    return cpu_has(kernel_isa::avx512) ? kernel_isa::avx512 : cpu_has(kernel_isa::avx2) ? kernel_isa::avx2 : kernel_isa::portable;
}

namespace detail {
inline void require_kernel(kernel_isa isa, const char* where) {
    if (!cpu_has(isa))
        fail<config_error>(where, ": kernel '", kernel_name(isa), "' needs instructions this CPU lacks; it has '", kernel_name(best_kernel()),
                           "' and those below it");
}

// MMT_KERNEL, if set, else the best the CPU has.
inline kernel_isa initial_kernel() {
    const char* env = std::getenv("MMT_KERNEL");
    if (!env || !*env) return best_kernel();
    for (kernel_isa isa : {kernel_isa::portable, kernel_isa::avx2, kernel_isa::avx512})
        if (std::strcmp(env, kernel_name(isa)) == 0) {
            require_kernel(isa, "MMT_KERNEL");
            return isa;
        }
    fail<config_error>("MMT_KERNEL: expected portable, avx2 or avx512, got '", env, "'");
}

// Process-wide, like the thread count; -1 until the first op asks. MMT_KERNEL is
// read then, so a bad value is an error from every op until set_kernel() is called.
inline std::atomic<int>& kernel_slot() {
    static std::atomic<int> slot{-1};
    return slot;
}
}  // namespace detail

inline kernel_isa active_kernel() {
    const int isa = detail::kernel_slot().load(std::memory_order_relaxed);
    if (isa >= 0) return kernel_isa(isa);
    const kernel_isa initial = detail::initial_kernel();
    detail::kernel_slot().store(int(initial), std::memory_order_relaxed);
    return initial;
}

// From now on every op runs `isa`'s kernels; a kernel the CPU lacks is a config_error.
inline void set_kernel(kernel_isa isa) {
    detail::require_kernel(isa, "set_kernel");
    detail::kernel_slot().store(int(isa), std::memory_order_relaxed);
}

}  // namespace mmt
