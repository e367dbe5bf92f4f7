// Thread count for every op, and parallel_for. The count is process-wide:
// MMT_NUM_THREADS, else OMP_NUM_THREADS (its first number, as OpenMP reads it, so
// settings made for OpenMP programs carry over), else the CPUs this process may run
// on (its affinity mask, which taskset or a container's cpuset narrows), until
// set_num_threads changes it. The threads are core/thread_pool.hpp's.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <thread>

#include "mmt/core/error.hpp"
#include "mmt/core/thread_pool.hpp"

#if defined(__linux__)
#include <sched.h>
#endif

namespace mmt {

// The most threads the ops take: a job has at most this many slices.
inline constexpr int max_threads = int(detail::thread_pool::max_slices);

namespace detail {

// The CPUs this process may run on.
inline int available_cpus() {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return std::min(CPU_COUNT(&set), max_threads);
#endif
    const unsigned n = std::thread::hardware_concurrency();
    return n ? int(std::min<unsigned>(n, unsigned(max_threads))) : 1;
}

// The count the environment variable `name` sets, 0 if it is unset or empty. With
// `list`, the first of a comma-separated list ("4,2", OpenMP's nesting levels).
inline int threads_from_env(const char* name, bool list) {
    const char* env = std::getenv(name);
    if (!env || !*env) return 0;
    std::string count(env);
    if (list) count = count.substr(0, count.find(','));
    const auto first = count.find_first_not_of(" \t"), last = count.find_last_not_of(" \t");  // spaces around it, as OpenMP allows
    count = first == std::string::npos ? "" : count.substr(first, last - first + 1);
    const bool whole = !count.empty() && count.find_first_not_of("0123456789") == std::string::npos && count.size() <= 4;
    const int n = whole ? std::atoi(count.c_str()) : 0;
    if (n < 1 || n > max_threads)
        fail<config_error>(name, ": expected a whole number of threads from 1 to ", max_threads, ", got '", env, "'");
    return n;
}

inline int initial_threads() {
    if (const int n = threads_from_env("MMT_NUM_THREADS", false)) return n;
    if (const int n = threads_from_env("OMP_NUM_THREADS", true)) return n;
    return available_cpus();
}

// 0 until the first op asks; the environment is read then, so a bad value is an
// error from every op until set_num_threads is called.
inline std::atomic<int>& thread_slot() {
    static std::atomic<int> slot{0};
    return slot;
}

}  // namespace detail

// Threads the ops use from now on, in every thread of the process (as
// torch.set_num_threads).
inline void set_num_threads(int n) {
    if (n < 1 || n > max_threads) fail<input_error>("set_num_threads: expected 1 to ", max_threads, " threads, got ", n);
    detail::thread_slot().store(n, std::memory_order_relaxed);
}

inline int num_threads() {
    int n = detail::thread_slot().load(std::memory_order_relaxed);
    if (n > 0) return n;
    const int initial = detail::initial_threads();
    // Unless set_num_threads came first, on another thread.
    return detail::thread_slot().compare_exchange_strong(n, initial, std::memory_order_relaxed) ? initial : n;
}

// The grain for a pass over rows of `row_length` values that costs a few operations
// a value (a layer norm, quantising a GEMM's input): slices of at least 16,384
// values, a few microseconds, well over a worker's start. At CLIP's batch 1 (50 rows
// of 768) a grain of 64 rows left these passes to one thread between GEMMs on two.
inline std::size_t row_grain(std::size_t row_length) {
    constexpr std::size_t values = std::size_t(1) << 14;
    return std::max<std::size_t>(1, values / std::max<std::size_t>(1, row_length));
}

// Calls body(begin, end) on disjoint slices of [0, n) in parallel; slices hold at
// least `grain` items so small jobs stay on one thread. A slice per thread, as
// OpenMP's static schedule cut them: finer slices, which a worker off its core
// would hold less of, cost 3-14 % on an idle machine (clip_b32_image/batch:1 and
// layoutlm_base/8x128 at 4 a thread), as each restarts the GEMM's prefetching.
// An exception a slice throws reaches the caller (the first one, once every slice
// has finished), as it would without threads.
template <class Body>
void parallel_for(std::size_t n, std::size_t grain, Body&& body) {
    const std::size_t threads = static_cast<std::size_t>(num_threads());
    if (grain == 0) grain = 1;
    const std::size_t slices = std::min(threads, (n + grain - 1) / grain);
    if (threads > 1 && slices > 1) {
        auto slice = [&](std::size_t s) { body(n * s / slices, n * (s + 1) / slices); };
        if (detail::thread_pool::instance().run(slices, threads - 1, slice)) return;
    }
    if (n > 0) body(std::size_t{0}, n);
}

}  // namespace mmt
