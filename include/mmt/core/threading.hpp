// Thread count for every op, and parallel_for. The count is OpenMP's when the build
// enables it (MMT_USE_OPENMP: OMP_NUM_THREADS, omp_set_num_threads), otherwise 1;
// the threads are core/thread_pool.hpp's, not an OpenMP team.
#pragma once

#include <algorithm>
#include <cstddef>

#include "mmt/core/error.hpp"
#include "mmt/core/thread_pool.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace mmt {

// Threads the ops use from now on (process-wide, like torch.set_num_threads).
// Eigen's GEMM follows it too: unless told otherwise, Eigen asks OpenMP.
inline void set_num_threads(int n) {
    if (n < 1) fail<input_error>("set_num_threads: expected at least 1 thread, got ", n);
#if defined(_OPENMP)
    omp_set_num_threads(n);
#endif
}

inline int num_threads() {
#if defined(_OPENMP)
    return omp_get_max_threads();
#else
    return 1;
#endif
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
