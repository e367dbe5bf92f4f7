// How far a piece of code raises the process's resident memory: the kernel's
// peak (VmHWM) is reset to the current size through /proc/self/clear_refs, the
// code runs, and the new peak is read back. Used to show that a refusal happens
// before the absurd allocation, not after it.
#pragma once

#include <cstddef>
#include <fstream>
#include <sstream>
#include <string>

namespace mmt::test {

// A line of /proc/self/status ("VmHWM:  1234 kB") in bytes; 0 when absent.
inline std::size_t proc_status_bytes(const std::string& key) {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (line.compare(0, key.size() + 1, key + ":") == 0) {
            std::istringstream fields(line.substr(key.size() + 1));
            std::size_t kb = 0;
            fields >> kb;
            return kb * 1024;
        }
    }
    return 0;
}

// Bytes the peak resident size rose above the size before f() ran.
template <class F>
std::size_t peak_growth(F&& f) {
    std::ofstream("/proc/self/clear_refs") << "5";  // peak := current (Linux 4.0+)
    const std::size_t before = proc_status_bytes("VmRSS");
    f();
    const std::size_t peak = proc_status_bytes("VmHWM");
    return peak > before ? peak - before : 0;
}

// What "stayed small" means in these tests: far below any of the refused sizes.
inline constexpr std::size_t small_peak_bytes = 32u << 20;

// Under AddressSanitizer freed blocks wait in its quarantine instead of being
// reused and every allocation writes shadow memory, so the peak measures ASan,
// not mmt: there the memory bound is not asserted (the plain build of the same
// tests asserts it; both run in scripts/test.sh).
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool peak_is_measurable = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool peak_is_measurable = false;
#else
inline constexpr bool peak_is_measurable = true;
#endif
#else
inline constexpr bool peak_is_measurable = true;
#endif

inline bool stayed_small(std::size_t grown) { return !peak_is_measurable || grown < small_peak_bytes; }

}  // namespace mmt::test
