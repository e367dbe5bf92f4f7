// What every fuzz target shares. A target feeds the input to one parser and
// accepts only mmt::error from it: any other exception escaping (std::bad_alloc,
// std::out_of_range, nlohmann's), a crash, a sanitizer report, a leak or a hang is
// a finding. Run one by hand: build/tests/fuzz/fuzz_<target> tests/fuzz/corpus/<target>
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "mmt/core/error.hpp"

namespace mmt::fuzz {

inline std::filesystem::path data_path(const std::string& relative) {
    return std::filesystem::path(MMT_TEST_DATA_DIR) / relative;
}

inline std::string as_string(const std::uint8_t* data, std::size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

// Calls f(); an mmt::error is the expected outcome of bad input, so it is swallowed.
template <class F>
void expect_mmt_errors(F&& f) {
    try {
        f();
    } catch (const mmt::error&) {
    }
}

}  // namespace mmt::fuzz
