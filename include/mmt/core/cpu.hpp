// What the CPU running this process can do, asked once: kernels that need an
// instruction set are compiled for it (target attributes) and chosen here at
// run time, so one binary runs on any x86-64.
#pragma once

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

inline bool has_avx512() {
    static const bool has = __builtin_cpu_supports("avx512f");
    return has;
}

// AVX-512 with byte and word instructions (the int8 GEMM's quantiser).
inline bool has_avx512bw() {
    static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    return has;
}

inline bool has_avx512_bf16() {
    static const bool has = __builtin_cpu_supports("avx512bf16");
    return has;
}

inline bool has_avx512_vnni() {
    static const bool has = __builtin_cpu_supports("avx512vnni");
    return has;
}

}  // namespace mmt::cpu
