// The PNG and JPEG decoders from bytes in memory. The pixel limit is the memory
// bound (a JPEG whose scan ends early still decodes, grey, as in Pillow, when the
// file is large enough for its declared size), so the fuzzer runs with 4 megapixels
// to stay fast.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.hpp"
#include "mmt/io/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    mmt::io::image_limits limits;
    limits.max_pixels = 4'000'000;
    mmt::fuzz::expect_mmt_errors([&] {
        const auto image = mmt::io::decode_image(data, size, "fuzz.img", limits);
        if (image.pixels.size() != image.height * image.width * 3) __builtin_trap();
    });
    return 0;
}
