// doctest's main, which first skips a run under a kernel this CPU lacks: CTest's
// parity.kernels runs the parity suite under MMT_KERNEL=amx, avx2 and portable on
// whatever CPU builds the tests, and where the CPU lacks one, that run says so and
// counts as skipped (exit code 77) rather than failing on its first op.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>

#include "mmt/core/kernel.hpp"

int main(int argc, char** argv) {
    const char* asked = std::getenv("MMT_KERNEL");
    mmt::kernel_isa isa{};
    if (asked && mmt::kernel_named(asked, isa) && !mmt::cpu_has(isa)) {
        std::printf("skipped: MMT_KERNEL=%s, which this CPU lacks (it has %s and those below it)\n", asked,
                    mmt::kernel_name(mmt::best_kernel()));
        return 77;
    }
    return doctest::Context(argc, argv).run();
}
