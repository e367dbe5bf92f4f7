// Runs code under each kernel family the CPU has (mmt::set_kernel is process-wide,
// so the previous one is put back even when the code throws).
#pragma once

#include <vector>

#include "mmt/core/kernel.hpp"

namespace mmt::test {

class kernel_guard {
public:
    explicit kernel_guard(kernel_isa isa) : before_(active_kernel()) { set_kernel(isa); }
    kernel_guard(const kernel_guard&) = delete;
    kernel_guard& operator=(const kernel_guard&) = delete;
    ~kernel_guard() { set_kernel(before_); }

private:
    kernel_isa before_;
};

inline std::vector<kernel_isa> available_kernels() {
    std::vector<kernel_isa> all;
    for (kernel_isa isa : all_kernels)
        if (cpu_has(isa)) all.push_back(isa);
    return all;
}

// f() once under each of them.
template <class F>
void for_each_kernel(F&& f) {
    for (kernel_isa isa : available_kernels()) {
        kernel_guard guard(isa);
        f(isa);
    }
}

}  // namespace mmt::test
