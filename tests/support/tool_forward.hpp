// `mmt forward` on a fixture checked against the fixture's reference.safetensors:
// every output.* tensor that HF computed, and nothing else.
#pragma once

#include <cstddef>
#include <filesystem>
#include <set>
#include <string>

#include <doctest/doctest.h>

#include "mmt/io/safetensors.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/programs.hpp"
#include "support/tolerances.hpp"

namespace mmt::test {

// Runs the tool on `model` (a fixture directory) with its reference inputs and
// compares each output; the `exact` ones (whole numbers, such as codevector
// indices) to 0, the others to the model tolerance. `options` go to forward as they
// are (e.g. "--language fra"). Returns how many it compared.
inline std::size_t check_tool_forward(const std::filesystem::path& model, const std::string& scratch,
                                      const std::set<std::string>& exact = {}, const std::string& options = {}) {
    const std::filesystem::path dir = scratch_dir(scratch);
    const auto r = run(tool() + " --threads 2 forward --model " + quote(model.string()) + " --inputs " +
                       quote((model / "reference.safetensors").string()) + " --out " + quote((dir / "out.safetensors").string()) + " " +
                       options);
    REQUIRE(r.exit_code == 0);
    const io::safetensors_file ref(model / "reference.safetensors"), out(dir / "out.safetensors");
    std::size_t compared = 0;
    for (const auto& name : ref.names()) {
        if (name.rfind("output.", 0) != 0) continue;
        REQUIRE_MESSAGE(out.contains(name), name << " missing from mmt forward's output");
        check_close(out.load<float>(name), ref.load<float>(name), exact.count(name) ? 0.0 : tol::model_abs, "mmt forward " + name);
        ++compared;
    }
    CHECK(out.size() == compared);  // nothing but the fixture's names
    return compared;
}

}  // namespace mmt::test
