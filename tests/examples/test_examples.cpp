// Each example program run on the tiny models; stdout must equal its expected_output.txt.
#include <algorithm>

#include <doctest/doctest.h>

#include "support/data.hpp"
#include "support/demo_model.hpp"
#include "support/programs.hpp"

using namespace mmt::test;

TEST_CASE("example.clip_zero_shot: output on the demo model equals expected_output.txt" * doctest::test_suite("example")) {
    const auto r = run(example_binary("clip_zero_shot") + " " + quote(clip_demo_model().string()) + " " +
                       quote(data_path("clip-images/chelsea.png").string()) + " cat dog rocket coffee");
    CHECK(r.exit_code == 0);
    CHECK(r.output == read_file(example_source("clip_zero_shot") + "/expected_output.txt"));
}

TEST_CASE("example.inspect_safetensors: output on clip-tiny equals expected_output.txt" * doctest::test_suite("example")) {
    const auto r = run(example_binary("inspect_safetensors") + " " + quote(data_path("clip-tiny/model.safetensors").string()));
    CHECK(r.exit_code == 0);
    CHECK(r.output == read_file(example_source("inspect_safetensors") + "/expected_output.txt"));
}

TEST_CASE("example.errors: a missing file is one line on stderr and exit 1" * doctest::test_suite("example")) {
    const auto r = run(example_binary("inspect_safetensors") + " /nonexistent.safetensors", true);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("cannot open '/nonexistent.safetensors'") != std::string::npos);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
}
