// model.safetensors from arbitrary bytes, loaded by every family of
// models/families.hpp with the config.json of each tiny fixture in tests/data of a
// model_type it reads (fuzz_fixtures.hpp): missing tensors, shapes and dtypes the
// config does not expect, and a quantized checkpoint's metadata and scale tables
// (io/quantized_format.hpp) must each be an error, never a read past a tensor.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "fuzz_fixtures.hpp"
#include "fuzz_support.hpp"
#include "mmt/io/checkpoint.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/io/weight_scope.hpp"
#include "mmt/models/families.hpp"

using namespace mmt;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const fuzz::model_fixtures fixtures = fuzz::read_model_fixtures();
    const std::string where = "fuzz/model.safetensors";
    fuzz::expect_mmt_errors([&] {
        const auto file = std::make_shared<const io::safetensors_file>(io::safetensors_file::from_bytes(fuzz::as_string(data, size), where));
        const io::checkpoint checkpoint = io::checkpoint::from_sources({file}, where);
        fuzz::for_each_family_fixture(families{}, fixtures, [&](auto tag, const fuzz::model_fixture& fixture) {
            using family = typename decltype(tag)::type;
            fuzz::expect_mmt_errors([&] {
                io::weight_loader loader(checkpoint, family::checkpoint_names(), fuzz::options_for(size));
                family::load(fixture.config, fixture.config_path, loader);
            });
        });
    });
    return 0;
}
