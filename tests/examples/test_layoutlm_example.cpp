// examples/layoutlm_tag_document on the tiny token-classification fixture.
#include <algorithm>
#include <string>

#include <doctest/doctest.h>

#include "support/data.hpp"
#include "support/layoutlm_model.hpp"
#include "support/programs.hpp"

using namespace mmt::test;

TEST_CASE("example.layoutlm_tag_document: output on the tiny fixture equals expected_output.txt" * doctest::test_suite("example")) {
    const auto r = run(example_binary("layoutlm_tag_document") + " " + quote(layoutlm_token_cls_model().string()) + " " +
                       quote(example_source("layoutlm_tag_document") + "/invoice_ocr.json"));
    CHECK(r.exit_code == 0);
    CHECK(r.output == read_file(example_source("layoutlm_tag_document") + "/expected_output.txt"));
}

TEST_CASE("example.layoutlm_tag_document: a model without vocab.txt is one line on stderr and exit 1" * doctest::test_suite("example")) {
    const auto r = run(example_binary("layoutlm_tag_document") + " " + quote(data_path("layoutlm-tiny-token-cls").string()) + " " +
                           quote(example_source("layoutlm_tag_document") + "/invoice_ocr.json"),
                       true);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("vocab.txt") != std::string::npos);
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
}
