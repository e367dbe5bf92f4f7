// Where the tests find their fixtures (tests/data, copied from shared/fixtures).
#pragma once

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace mmt::test {

inline std::filesystem::path data_path(const std::string& relative) {
    return std::filesystem::path(MMT_TEST_DATA_DIR) / relative;
}

namespace detail {
// The scratch directories this process made, removed when it exits (CTest starts
// one process per test case, so they would otherwise pile up in the temp dir).
struct scratch_registry {
    std::vector<std::filesystem::path> dirs;
    ~scratch_registry() {
        for (const auto& dir : dirs) {
            std::error_code ignored;  // a test that failed half-way may have left anything
            std::filesystem::remove_all(dir, ignored);
        }
    }
};
inline scratch_registry& scratch_dirs() {
    static scratch_registry registry;
    return registry;
}
}  // namespace detail

// A fresh, empty directory under the system temp dir for files a test writes;
// per process, since CTest runs test cases of this binary in parallel. It is
// removed when the process exits.
inline std::filesystem::path scratch_dir(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / ("mmt_test_" + std::to_string(::getpid()) + "_" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    detail::scratch_dirs().dirs.push_back(dir);
    return dir;
}

}  // namespace mmt::test
