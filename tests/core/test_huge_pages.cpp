// allocate_large: small buffers 64-byte aligned; from one huge page on, aligned to a
// huge page, with its whole huge pages advised as such (the kernel's VmFlags say "hg")
// and its last partial huge page not, so the advice adds nothing resident.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "mmt/core/huge_pages.hpp"

namespace {

// The VmFlags of the mapping that holds `address` (/proc/self/smaps), or "" when none does.
std::string vm_flags_at(const void* address) {
    const auto a = reinterpret_cast<std::uintptr_t>(address);
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;
    while (std::getline(smaps, line)) {
        std::uintptr_t start = 0, end = 0;
        char dash = 0;
        std::istringstream range(line);
        if (range >> std::hex >> start >> dash >> end && dash == '-') {
            inside = start <= a && a < end;
            continue;
        }
        if (inside && line.rfind("VmFlags:", 0) == 0) return line;
    }
    return "";
}

bool has_flag(const std::string& flags, const std::string& flag) { return (flags + " ").find(" " + flag + " ") != std::string::npos; }

}  // namespace

TEST_CASE("core.huge_pages: allocate_large gives a large buffer whole huge pages, advised, and a small one 64-byte alignment" *
          doctest::test_suite("unit")) {
    const std::unique_ptr<void, mmt::free_deleter> small(mmt::allocate_large(1000));
    REQUIRE(small);
    CHECK(reinterpret_cast<std::uintptr_t>(small.get()) % 64 == 0);

    const std::size_t bytes = 2 * mmt::huge_page_bytes + 12345;  // two whole huge pages and a partial one
    const std::unique_ptr<void, mmt::free_deleter> large(mmt::allocate_large(bytes));
    REQUIRE(large);
    auto* p = static_cast<unsigned char*>(large.get());
    CHECK(reinterpret_cast<std::uintptr_t>(p) % mmt::huge_page_bytes == 0);
    for (std::size_t i = 0; i < bytes; i += 4096) p[i] = 1;  // all of it is the caller's (ASan)
    p[bytes - 1] = 1;

    if (!std::filesystem::exists("/sys/kernel/mm/transparent_hugepage/enabled") || !mmt::huge_pages_enabled()) {
        MESSAGE("skipped the advice's check: this kernel has no transparent huge pages, or MMT_HUGE_PAGES=0");
        return;
    }
    const std::string head = vm_flags_at(p), last = vm_flags_at(p + 2 * mmt::huge_page_bytes - 1),
                      tail = vm_flags_at(p + 2 * mmt::huge_page_bytes);
    CAPTURE(head);
    CAPTURE(tail);
    CHECK(has_flag(head, "hg"));
    CHECK(has_flag(last, "hg"));
    CHECK_FALSE(has_flag(tail, "hg"));
}

TEST_CASE("core.huge_pages: allocate_large_array gives count values, and null when their bytes overflow a size_t" *
          doctest::test_suite("unit")) {
    const std::unique_ptr<float, mmt::free_deleter> floats(mmt::allocate_large_array<float>(1000));
    REQUIRE(floats);
    floats.get()[999] = 1.0f;  // all 4000 bytes are the caller's (ASan)
    CHECK(mmt::allocate_large_array<float>(SIZE_MAX / sizeof(float) + 1) == nullptr);
    CHECK(mmt::allocate_large_array<std::int32_t>(SIZE_MAX / 2) == nullptr);
}
