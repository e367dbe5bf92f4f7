// The WAV reader from bytes in memory, with a duration limit small enough that
// a header may claim more than the input holds.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "mmt/io/wav.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    mmt::io::wav_read_options options;
    options.max_duration_seconds = 600;
    mmt::fuzz::expect_mmt_errors([&] { mmt::io::decode_wav(data, size, "fuzz.wav", options); });
    return 0;
}
