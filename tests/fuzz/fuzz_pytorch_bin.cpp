// pytorch_model.bin from bytes in memory: the zip directory, the restricted
// unpickler, the tensor rebuild and its views, then every tensor read.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.hpp"
#include "mmt/io/pytorch_checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    mmt::fuzz::expect_mmt_errors([&] {
        const auto file = mmt::io::pytorch_checkpoint::from_bytes(mmt::fuzz::as_string(data, size), "fuzz.bin");
        for (const auto& source : file.sources()) {
            for (const auto& name : source->names()) {
                mmt::fuzz::expect_mmt_errors([&] { source->load<float>(name); });
                mmt::fuzz::expect_mmt_errors([&] { source->load<std::int64_t>(name); });
                mmt::fuzz::expect_mmt_errors([&] { source->load<std::uint8_t>(name); });
            }
        }
    });
    return 0;
}
