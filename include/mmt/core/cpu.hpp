// What the CPU running this process can do, asked once: kernels that need an
// instruction set are compiled for it (target attributes) and chosen here at
// run time, so one binary runs on any x86-64.
#pragma once

namespace mmt::cpu {

inline bool has_avx512() {
    static const bool has = __builtin_cpu_supports("avx512f");
    return has;
}

}  // namespace mmt::cpu
