// Runs an op with one and with two threads (mmt::set_num_threads is process-wide,
// so the previous count is put back even when the op throws) and checks both
// results against a naive twin and against each other. The ops split their
// outputs, never a sum, between threads, so the two runs agree bit for bit.
#pragma once

#include <string>

#include <doctest/doctest.h>

#include "mmt/core/threading.hpp"
#include "support/check_close.hpp"
#include "support/tolerances.hpp"

namespace mmt::test {

class thread_count_guard {
public:
    explicit thread_count_guard(int n) : before_(num_threads()) { set_num_threads(n); }
    thread_count_guard(const thread_count_guard&) = delete;
    thread_count_guard& operator=(const thread_count_guard&) = delete;
    ~thread_count_guard() { set_num_threads(before_); }

private:
    int before_;
};

template <class Op>
auto run_with_threads(int n, Op&& op) {
    thread_count_guard guard(n);
    return op();
}

// `op()` returns a tensor; `expected` is the double-precision twin's answer, within `tolerance`.
template <class Op, class Expected>
void check_op(Op&& op, const Expected& expected, const std::string& what, double tolerance = tol::op_abs) {
    const auto one = run_with_threads(1, op);
    const auto two = run_with_threads(2, op);
    check_close(one, expected, tolerance, what + " (1 thread)");
    check_close(two, expected, tolerance, what + " (2 threads)");
    check_close(two, one, 0.0, what + " (2 threads vs 1)");
}

}  // namespace mmt::test
