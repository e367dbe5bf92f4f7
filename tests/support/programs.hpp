// The programs the cli/ and examples/ tests run: the mmt tool and the example
// programs, as built beside the test binary. Their paths are defined only in a
// build that builds them (tests/CMakeLists.txt), and only those folders' tests
// include this header.
#pragma once

#include <string>

#include "support/files.hpp"
#include "support/run.hpp"

namespace mmt::test {

#if defined(MMT_TOOL_PATH)
inline std::string tool() { return MMT_TOOL_PATH; }
#endif
#if defined(MMT_EXAMPLES_BIN_DIR)
inline std::string example_binary(const std::string& name) { return std::string(MMT_EXAMPLES_BIN_DIR) + "/" + name + "/" + name; }
#endif
inline std::string example_source(const std::string& name) { return std::string(MMT_EXAMPLES_SRC_DIR) + "/" + name; }

}  // namespace mmt::test
