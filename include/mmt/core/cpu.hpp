// What the CPU running this process can do, asked once: kernels that need an
// instruction set are compiled for it (target attributes) and chosen at run time
// (core/kernel.hpp), so one binary runs on any x86-64. Elsewhere (aarch64) only
// the portable kernels exist and every check here is false.
#pragma once

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
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

// AMX tiles with their int8 and bf16 products (CPUID leaf 7: EDX bits 24, 25 and
// 22), usable by this process: Linux keeps the tiles' 8 KiB of register state off
// until a process asks for it, and is asked here, once (arch_prctl
// ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA, Linux 5.16 on). Refused, or on
// another OS, the tiles count as absent.
inline bool has_amx() {
    static const bool has = [] {
        unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
        const unsigned amx = (1u << 22) | (1u << 24) | (1u << 25);
        if (!has_avx512() || !__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx) || (edx & amx) != amx) return false;
#if defined(__linux__)
        constexpr long arch_req_xcomp_perm = 0x1023, xfeature_xtiledata = 18;
        return syscall(SYS_arch_prctl, arch_req_xcomp_perm, xfeature_xtiledata) == 0;
#else
        return false;
#endif
    }();
    return has;
}
#else
inline bool has_amx() { return false; }
inline bool has_avx2() { return false; }
inline bool has_avx512() { return false; }
inline bool has_avx512_bf16() { return false; }
inline bool has_avx512_vnni() { return false; }
inline bool has_avx_vnni() { return false; }
#endif

}  // namespace mmt::cpu
