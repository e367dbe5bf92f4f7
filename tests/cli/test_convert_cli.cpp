// mmt convert: pytorch_model.bin to model.safetensors, run as a user would.
#include <cstddef>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "mmt/io/checkpoint.hpp"
#include "mmt/io/safetensors.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/programs.hpp"
#include "support/same_tensors.hpp"

using namespace mmt;
using namespace mmt::test;

TEST_CASE("cli.convert: clip-tiny's and the sharded clip-tiny's .bin become a model.safetensors with the original's tensors, bytes and dtypes; an existing file is kept unless --force" * doctest::test_suite("unit")) {
    namespace fs = std::filesystem;
    const std::size_t tensors = io::safetensors_file(data_path("clip-tiny/model.safetensors")).size();
    for (const char* name : {"clip-tiny", "clip-tiny-sharded"}) {
        INFO(name);
        const auto dir = scratch_dir(std::string("convert_") + name);
        fs::copy(data_path(std::string("pytorch-bin/") + name), dir);
        const std::string convert = tool() + " convert --model " + quote(dir.string());
        const auto r = run(convert, true);
        INFO(r.output);
        REQUIRE(r.exit_code == 0);
        CHECK(r.output.find("wrote " + std::to_string(tensors) + " tensors") == 0);

        check_same_tensors(io::checkpoint::open(dir / "model.safetensors"), io::checkpoint::open(data_path("clip-tiny/model.safetensors")));
        const io::safetensors_file converted(dir / "model.safetensors");
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
