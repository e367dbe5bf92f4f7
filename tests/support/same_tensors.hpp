// Two checkpoints hold the same tensors: names, dtypes, shapes and stored bytes.
#pragma once

#include <string>

#include <doctest/doctest.h>

#include "mmt/io/checkpoint.hpp"

namespace mmt::test {

inline void check_same_tensors(const io::checkpoint& actual, const io::checkpoint& expected) {
    REQUIRE(actual.names() == expected.names());
    for (const auto& name : expected.names()) {
        INFO(name);
        const io::tensor_info& a = actual.info(name);
        const io::tensor_info& e = expected.info(name);
        CHECK(a.dtype == e.dtype);
        REQUIRE(a.shape == e.shape);
        std::string got(a.nbytes, '\0'), want(e.nbytes, '\0');
        actual.file_of(name).read_bytes(a, got.data());
        expected.file_of(name).read_bytes(e, want.data());
        CHECK(got == want);
    }
}

}  // namespace mmt::test
