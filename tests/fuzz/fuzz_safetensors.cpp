// safetensors header parser and tensor reads, from bytes in memory.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "mmt/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    mmt::fuzz::expect_mmt_errors([&] {
        const auto file = mmt::io::safetensors_file::from_bytes(mmt::fuzz::as_string(data, size), "fuzz.safetensors");
        for (const auto& name : file.names()) {
            mmt::fuzz::expect_mmt_errors([&] { file.load<float>(name); });
            mmt::fuzz::expect_mmt_errors([&] { file.load<std::int64_t>(name); });
            mmt::fuzz::expect_mmt_errors([&] { file.load<std::uint8_t>(name); });
            mmt::fuzz::expect_mmt_errors([&] { file.load<float, 2>(name); });
        }
    });
    return 0;
}
