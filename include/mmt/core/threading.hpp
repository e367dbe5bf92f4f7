// Thread count for every op. OpenMP when the build enables it (MMT_USE_OPENMP),
// otherwise everything runs on the calling thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <exception>

#include "mmt/core/error.hpp"

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
// least `grain` items so small jobs stay on one thread. An exception a slice throws
// reaches the caller (the first one, once every slice has finished), as it would
// without threads: an exception leaving an OpenMP region would end the process.
template <class Body>
void parallel_for(std::size_t n, std::size_t grain, Body&& body) {
#if defined(_OPENMP)
    std::size_t threads = static_cast<std::size_t>(num_threads());
    if (grain == 0) grain = 1;
    std::size_t chunks = std::min(threads, (n + grain - 1) / grain);
    if (chunks > 1 && !omp_in_parallel()) {
        std::exception_ptr error;
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(chunks))
        for (std::ptrdiff_t c = 0; c < static_cast<std::ptrdiff_t>(chunks); ++c) {
            std::size_t begin = n * static_cast<std::size_t>(c) / chunks;
            std::size_t end = n * static_cast<std::size_t>(c + 1) / chunks;
            try {
                body(begin, end);
            } catch (...) {
#pragma omp critical(mmt_parallel_for_error)
                if (!error) error = std::current_exception();
            }
        }
        if (error) std::rethrow_exception(error);
        return;
    }
#else
    (void)grain;
#endif
    if (n > 0) body(std::size_t{0}, n);
}

}  // namespace mmt
