// mmt convert: pytorch_model.bin to model.safetensors, run as a user would.
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "mmt/io/safetensors.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/programs.hpp"

using namespace mmt;
using namespace mmt::test;

TEST_CASE("cli.convert: clip-tiny's and the sharded clip-tiny's .bin become a model.safetensors with the original's tensors, bytes and dtypes; an existing file is kept unless --force" * doctest::test_suite("unit")) {
    namespace fs = std::filesystem;
    const io::safetensors_file original(data_path("clip-tiny/model.safetensors"));
    for (const char* name : {"clip-tiny", "clip-tiny-sharded"}) {
        INFO(name);
        const auto dir = scratch_dir(std::string("convert_") + name);
        fs::copy(data_path(std::string("pytorch-bin/") + name), dir);
        const std::string convert = tool() + " convert --model " + quote(dir.string());
        const auto r = run(convert, true);
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        CHECK(r.output.find("wrote " + std::to_string(original.size()) + " tensors") == 0);

        const io::safetensors_file converted(dir / "model.safetensors");
        REQUIRE(converted.names().size() == original.size());
        for (const auto& tensor : original.names()) {
            INFO(tensor);
            const io::tensor_info& a = converted.info(tensor);
            const io::tensor_info& e = original.info(tensor);
            CHECK(a.dtype == e.dtype);
            REQUIRE(a.shape == e.shape);
            std::string got(a.nbytes, '\0'), want(e.nbytes, '\0');
            converted.read_bytes(a, got.data());
            original.read_bytes(e, want.data());
            CHECK(got == want);
        }
        CHECK(converted.metadata().at("format") == "pt");

        const std::string before = read_file(dir / "model.safetensors");
        const auto again = run(convert, true);
        CHECK(again.exit_code != 0);
        CHECK(again.output.find("model.safetensors' exists; pass --force to replace it") != std::string::npos);
        CHECK(run(convert + " --force").exit_code == 0);
        CHECK(read_file(dir / "model.safetensors") == before);
        std::size_t files = 0;
        for (const auto& entry : fs::directory_iterator(dir)) files += entry.path().filename().string().find(".tmp") != std::string::npos;
        CHECK(files == 0);  // the temporary file was renamed, not left behind
    }
    const auto refused = run(tool() + " convert --model " + quote(data_path("clip-tiny").string()), true);
    CHECK(refused.exit_code != 0);
    CHECK(refused.output.find("has neither pytorch_model.bin nor pytorch_model.bin.index.json") != std::string::npos);
}
