// What the CPU running this process can do, asked once: kernels that need an
// instruction set are compiled for it (target attributes) and chosen at run time
// (core/kernel.hpp), so one binary runs on any x86-64. Elsewhere (aarch64) only
// the portable kernels exist and every check here is false.
#pragma once

#if defined(__x86_64__)
#include <cpuid.h>
#endif

// GCC 12 reports the _mm512_undefined_* placeholders inside its own intrinsics
// (masked loads, conversions, reductions) as uninitialised (GCC bug 105593), so
// code with AVX-512 intrinsics sits between these two. -Wmaybe-uninitialized is
// GCC's alone: clang does not know the group.
#if defined(__clang__)
#define MMT_INTRINSICS_BEGIN _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"")
#else
#define MMT_INTRINSICS_BEGIN                                                                        \
    _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wuninitialized\"") \
        _Pragma("GCC diagnostic ignored \"-Wmaybe-uninitialized\"")
#endif
#define MMT_INTRINSICS_END _Pragma("GCC diagnostic pop")

namespace mmt::cpu {

#if defined(__x86_64__)
// AVX2 with FMA: every kernel of the avx2 level needs both.
inline bool has_avx2() {
    static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return has;
}

// AVX-512 with byte and word instructions (the int8 GEMM's quantiser).
inline bool has_avx512() {
    static const bool has = has_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    return has;
}

inline bool has_avx512_bf16() {
    static const bool has = has_avx512() && __builtin_cpu_supports("avx512bf16");
    return has;
}

inline bool has_avx512_vnni() {
    static const bool has = has_avx512() && __builtin_cpu_supports("avx512vnni");
    return has;
}

// The 256-bit VEX form of vpdpbusd (Alder Lake, Zen 5): the int8 GEMM's AVX2 kernel.
// CPUID leaf 7, sub-leaf 1, EAX bit 4, asked directly: clang before 16 does not
// know "avxvnni" in __builtin_cpu_supports. has_avx2 has checked that the OS saves
// the ymm registers.
inline bool has_avx_vnni() {
    static const bool has = [] {
        unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
        return has_avx2() && __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx) && (eax & (1u << 4)) != 0;
    }();
    return has;
}
#else
inline bool has_avx2() { return false; }
inline bool has_avx512() { return false; }
inline bool has_avx512_bf16() { return false; }
inline bool has_avx512_vnni() { return false; }
inline bool has_avx_vnni() { return false; }
#endif

}  // namespace mmt::cpu
