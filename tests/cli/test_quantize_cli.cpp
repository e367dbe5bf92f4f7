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

namespace {
// Whether two files `mmt forward --out` wrote hold the same tensors, at least one.
bool same_outputs(const std::filesystem::path& a, const std::filesystem::path& b) {
    const io::safetensors_file x(a), y(b);
    if (x.names() != y.names() || x.size() == 0) return false;
    for (const auto& name : x.names())
        if (x.load<float>(name) != y.load<float>(name)) return false;
    return true;
}
}  // namespace

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
    CHECK(same_outputs(results / "q.safetensors", results / "o.safetensors"));

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

TEST_CASE("cli.quantize: --module-precision keeps wav2vec2's feature encoder in bf16, stored and at load alike; a bad value is refused" *
          doctest::test_suite("unit")) {
    namespace fs = std::filesystem;
    const fs::path speech = data_path("wav2vec2-tiny-ctc"), out = scratch_dir("cli_quantize_modules"), results = scratch_dir("cli_quantize_modules_results");
    const std::string modules = " --module-precision feature_extractor=bf16,encoder.layers.0=f32";
    const auto r = run(tool() + " quantize --model " + quote(speech.string()) + " --out " + quote(out.string()) + " --precision int8" + modules, true);
    INFO(r.output);
    REQUIRE(r.exit_code == 0);
    const std::string inputs = " --inputs " + quote((speech / "reference.safetensors").string());
    const auto quantized = run(tool() + " forward --model " + quote(out.string()) + inputs + " --out " + quote((results / "q.safetensors").string()));
    const auto original = run(tool() + " --verbose --precision int8" + modules + " forward --model " + quote(speech.string()) + inputs +
                              " --out " + quote((results / "o.safetensors").string()), true);
    REQUIRE(quantized.exit_code == 0);
    REQUIRE(original.exit_code == 0);
    CHECK(original.output.find("mmt: linear layers in int8: ") == 0);
    CHECK(original.output.find("; feature_extractor=bf16,encoder.layers.0=f32\n") != std::string::npos);
    CHECK(same_outputs(results / "q.safetensors", results / "o.safetensors"));
    const auto all_int8 = run(tool() + " --precision int8 forward --model " + quote(speech.string()) + inputs + " --out " +
                              quote((results / "i.safetensors").string()));
    REQUIRE(all_int8.exit_code == 0);
    CHECK_FALSE(same_outputs(results / "i.safetensors", results / "o.safetensors"));  // the modules' precision shows

    const auto bad = run(tool() + " --module-precision feature_extractor forward --model " + quote(speech.string()) + inputs + " --out " +
                         quote((results / "b.safetensors").string()), true);
    CHECK(bad.exit_code != 0);
    CHECK(bad.output.find("mmt: error: --module-precision: 'feature_extractor' in 'feature_extractor' is not MODULE=PRECISION") == 0);
    const auto typo = run(tool() + " --precision int8 --module-precision feature_extracter=bf16 forward --model " + quote(speech.string()) +
                          inputs + " --out " + quote((results / "t.safetensors").string()), true);
    CHECK(typo.exit_code != 0);
    CHECK(typo.output.find("module precision 'feature_extracter=bf16': no module of this model") != std::string::npos);
}
