// Where the tests find their fixtures (tests/data, copied from shared/fixtures).
#pragma once

#include <filesystem>
#include <string>

#include <unistd.h>

namespace mmt::test {

inline std::filesystem::path data_path(const std::string& relative) {
    return std::filesystem::path(MMT_TEST_DATA_DIR) / relative;
}

// A fresh, empty directory under the system temp dir for files a test writes;
// per process, since CTest runs test cases of this binary in parallel.
inline std::filesystem::path scratch_dir(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / ("mmt_test_" + std::to_string(::getpid()) + "_" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

}  // namespace mmt::test
