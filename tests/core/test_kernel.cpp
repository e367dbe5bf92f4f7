// mmt::set_kernel / MMT_KERNEL: the kernel family every op runs, and its errors.
#include <doctest/doctest.h>

#include "mmt/core/kernel.hpp"
#include "support/env.hpp"
#include "support/kernels.hpp"
#include "support/throws.hpp"

using namespace mmt;

TEST_CASE("core.kernel: set_kernel switches and the guard restores" * doctest::test_suite("unit")) {
    const kernel_isa before = active_kernel();
    CHECK(cpu_has(kernel_isa::portable));
    for (kernel_isa isa : test::available_kernels()) {
        test::kernel_guard guard(isa);
        CHECK(active_kernel() == isa);
    }
    CHECK(active_kernel() == before);
}

TEST_CASE("core.kernel: each kernel is found by its name, and amx is taken only when asked for" * doctest::test_suite("unit")) {
    for (kernel_isa isa : all_kernels) {
        kernel_isa named = isa == kernel_isa::portable ? kernel_isa::avx2 : kernel_isa::portable;
        CHECK(kernel_named(kernel_name(isa), named));
        CHECK(named == isa);
    }
    kernel_isa untouched = kernel_isa::avx2;
    CHECK_FALSE(kernel_named("AVX512", untouched));
    CHECK(untouched == kernel_isa::avx2);
    CHECK(best_kernel() != kernel_isa::amx);
}

TEST_CASE("core.kernel: a kernel the CPU lacks and an unknown MMT_KERNEL are errors" * doctest::test_suite("unit")) {
    if (!cpu_has(kernel_isa::amx))
        test::check_throws<config_error>([] { set_kernel(kernel_isa::amx); }, {"set_kernel", "'amx'", "this CPU lacks"});
    if (!cpu_has(kernel_isa::avx512))
        test::check_throws<config_error>([] { set_kernel(kernel_isa::avx512); }, {"set_kernel", "'avx512'", "this CPU lacks"});
    if (!cpu_has(kernel_isa::avx2))
        test::check_throws<config_error>([] { set_kernel(kernel_isa::avx2); }, {"set_kernel", "'avx2'", "this CPU lacks"});
    // The variable is read when an op first asks; detail::initial_kernel reads it now.
    {
        test::env_setting unknown("MMT_KERNEL", "avx3");
        test::check_throws<config_error>([] { detail::initial_kernel(); }, {"MMT_KERNEL", "portable, avx2, avx512 or amx", "'avx3'"});
    }
    test::env_setting portable("MMT_KERNEL", "portable");
    CHECK(detail::initial_kernel() == kernel_isa::portable);
}
