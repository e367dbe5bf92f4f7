// Which family of kernels every op runs: the GEMMs (float32, bf16, int8 and the
// int8 quantiser), softmax and the vector math. Chosen once, as the best the CPU
// has; the environment variable MMT_KERNEL=portable|avx2|avx512|amx or set_kernel()
// overrides it, so a slower kernel can be compared or tested on a fast CPU.
// Packed weights have one layout per precision for every kernel, so the choice
// can change between calls.
//
// amx is avx512 with the bf16 and int8 GEMMs on AMX tiles (ops/amx_tiles.hpp).
// It is taken only when asked for: the project's CI machines have no AMX, so its
// tile kernels are tested there against an emulation of the tiles, and the real
// instructions only on an AMX CPU (tests/ops/test_amx_tiles.cpp).
#pragma once

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

#include "mmt/core/cpu.hpp"
#include "mmt/core/error.hpp"

namespace mmt {

// In increasing order of width: a CPU that has one has those before it.
enum class kernel_isa { portable, avx2, avx512, amx };

inline const char* kernel_name(kernel_isa isa) {
    switch (isa) {
        case kernel_isa::avx2: return "avx2";
        case kernel_isa::avx512: return "avx512";
        case kernel_isa::amx: return "amx";
        case kernel_isa::portable: break;
    }
    return "portable";
}

inline bool cpu_has(kernel_isa isa) {
    switch (isa) {
        case kernel_isa::avx2: return cpu::has_avx2();
        case kernel_isa::avx512: return cpu::has_avx512();
        case kernel_isa::amx: return cpu::has_amx();
        case kernel_isa::portable: break;
    }
    return true;
}

// The default: the widest but amx, which is asked for.
inline kernel_isa best_kernel() {
    return cpu_has(kernel_isa::avx512) ? kernel_isa::avx512 : cpu_has(kernel_isa::avx2) ? kernel_isa::avx2 : kernel_isa::portable;
}

inline constexpr kernel_isa all_kernels[] = {kernel_isa::portable, kernel_isa::avx2, kernel_isa::avx512, kernel_isa::amx};

// The kernel family called `name` (as kernel_name spells it), if there is one.
inline bool kernel_named(const char* name, kernel_isa& isa) {
    for (kernel_isa k : all_kernels)
        if (std::strcmp(name, kernel_name(k)) == 0) {
            isa = k;
            return true;
        }
    return false;
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
    kernel_isa isa{};
    if (!kernel_named(env, isa)) fail<config_error>("MMT_KERNEL: expected portable, avx2, avx512 or amx, got '", env, "'");
    require_kernel(isa, "MMT_KERNEL");
    return isa;
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
