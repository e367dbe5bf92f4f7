// mmt quantize, run as a user would: the stored model runs every command with
// the outputs `--precision int8` gives on the original, without that option.
#include <filesystem>
#include <string>

#include <doctest/doctest.h>

#include "mmt/io/safetensors.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/programs.hpp"

using namespace mmt;
using namespace mmt::test;

TEST_CASE("cli.quantize: clip-tiny in int8 runs `mmt forward` as the original does with --precision int8; bad requests are refused" *
          doctest::test_suite("unit")) {
    namespace fs = std::filesystem;
    const fs::path clip = data_path("clip-tiny"), out = scratch_dir("cli_quantize"), results = scratch_dir("cli_quantize_results");
    const auto r = run(tool() + " quantize --model " + quote(clip.string()) + " --out " + quote(out.string()) + " --precision int8", true);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    CHECK(r.output.find("stored ") == 0);
    CHECK(r.output.find(" weights in int8: " + (out / "model.safetensors").string()) != std::string::npos);
    CHECK(r.output.find("% of the checkpoint's") != std::string::npos);

    const std::string inputs = " --inputs " + quote((clip / "reference.safetensors").string());
    const auto quantized = run(tool() + " forward --model " + quote(out.string()) + inputs + " --out " + quote((results / "q.safetensors").string()));
    const auto original = run(tool() + " --precision int8 forward --model " + quote(clip.string()) + inputs + " --out " +
                              quote((results / "o.safetensors").string()));
    REQUIRE(quantized.exit_code == 0);
    REQUIRE(original.exit_code == 0);
    const io::safetensors_file q(results / "q.safetensors"), o(results / "o.safetensors");
    REQUIRE(q.names() == o.names());
    CHECK(q.size() > 0);
    for (const auto& name : o.names()) {
        INFO(name);
        CHECK(q.load<float>(name) == o.load<float>(name));
    }

    const auto twice = run(tool() + " quantize --model " + quote(out.string()) + " --out " + quote((results / "again").string()) + " --precision bf16", true);
    CHECK(twice.exit_code != 0);
    CHECK(twice.output.find("is already quantized (int8)") != std::string::npos);
    const auto f32 = run(tool() + " quantize --model " + quote(clip.string()) + " --out " + quote((results / "f32").string()) + " --precision f32", true);
    CHECK(f32.exit_code != 0);
    CHECK(f32.output.find("--precision: f32 not in {int8,bf16}") != std::string::npos);
    const auto bf16 = run(tool() + " --precision bf16 forward --model " + quote(out.string()) + inputs + " --out " + quote((results / "b.safetensors").string()), true);
    CHECK(bf16.exit_code != 0);
    CHECK(bf16.output.find("holds int8 weights written by mmt quantize; it loads as int8, not bf16") != std::string::npos);
}
