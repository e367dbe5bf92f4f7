// Memory for the large buffers a model keeps (packed weights, embedding tables, the
// scratch pool's activations), backed by transparent huge pages where Linux offers
// them. Fresh memory is dear in the VMs this project runs on (a fault per 4 KiB
// page: `mmt_bench roofline_first_touch`), and a loader writes all of it once: with
// THP set to "madvise" (Debian's default), a buffer advised here takes one fault per
// 2 MiB page instead of 512. MMT_HUGE_PAGES=0 in the environment turns the advice off.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace mmt {

inline constexpr std::size_t huge_page_bytes = std::size_t(2) << 20;

// Whether allocate_large asks for huge pages: not under MMT_HUGE_PAGES=0, read once.
inline bool huge_pages_enabled() {
    static const bool enabled = [] {
        const char* v = std::getenv("MMT_HUGE_PAGES");
        return !(v && std::strcmp(v, "0") == 0);
    }();
    return enabled;
}

// `bytes` of uninitialised memory, 64-byte aligned, freed with std::free; null when
// out of memory. From one huge page on it starts on a huge page and its whole huge
// pages are advised as such; its last partial one stays in small pages, so the
// advice adds nothing to what the buffer holds resident.
inline void* allocate_large(std::size_t bytes) {
    const bool huge = bytes >= huge_page_bytes && huge_pages_enabled();
    void* p = nullptr;
    if (::posix_memalign(&p, huge ? huge_page_bytes : 64, bytes ? bytes : 1) != 0) return nullptr;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (huge) ::madvise(p, bytes / huge_page_bytes * huge_page_bytes, MADV_HUGEPAGE);  // advice: an error changes nothing
#endif
    return p;
}

// `count` values of T from allocate_large; null when out of memory, or when their
// bytes do not fit a size_t (as new T[count] would refuse them).
template <class T>
T* allocate_large_array(std::size_t count) {
    if (count > SIZE_MAX / sizeof(T)) return nullptr;
    return static_cast<T*>(allocate_large(count * sizeof(T)));
}

struct free_deleter {
    void operator()(const void* p) const { std::free(const_cast<void*>(p)); }
};

}  // namespace mmt
