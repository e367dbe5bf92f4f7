// Inputs the fuzz targets (tests/fuzz) found crashing or tripping a sanitizer,
// kept as regression tests: each must now be a clear mmt::error.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/io/pytorch_checkpoint.hpp"
#include "mmt/models/clip/config.hpp"
#include "mmt/models/labels.hpp"
#include "mmt/preprocess/image.hpp"
#include "support/pytorch_bin.hpp"
#include "support/throws.hpp"

using namespace mmt;

TEST_CASE("robustness.fuzz: a number too large for a double is a format_error, not nlohmann's out_of_range" *
          doctest::test_suite("unit")) {
    // fuzz_config: nlohmann reports this overflow as out_of_range.406, which parse_json
    // used to let escape (only parse_error was caught).
    const std::string found = "{\n  \"arLMForTokdo_convert_rg00012409149616095639775555555label\":333333333e3333333cec_34ah98\n\x0b\xff";
    test::check_throws<format_error>([&] { io::parse_json(found, "config.json"); },
                                     {"config.json", "not valid JSON", "number overflow"});
    test::check_throws<format_error>([] { io::parse_ordered_json("[1e999]", "vocab.json"); }, {"vocab.json", "number overflow"});
    test::check_throws<format_error>([] { clip::config::from_file("/dev/null"); }, {"/dev/null", "not valid JSON"});
}

TEST_CASE("robustness.fuzz: an image size beyond int64 is a config_error, not undefined behaviour" *
          doctest::test_suite("unit")) {
    // fuzz_config under UBSan: {"size": 1e30} reached nlohmann's double -> int64 cast,
    // which is undefined for values outside int64.
    using preprocess::clip_image_processor_config;
    for (const char* text : {R"({"size": 1e30})", R"({"crop_size": -1e300})", R"({"size": [1e19, 5]})",
                             R"({"crop_size": {"height": 5, "width": 9.3e18}})"}) {
        CAPTURE(text);
        test::check_throws<config_error>(
            [&] { clip_image_processor_config::from_json(io::parse_json(text, "pp.json"), "pp.json"); },
            {"pp.json", "whole number"});
    }
}

TEST_CASE("robustness.fuzz: an empty tensor with strides that are not row-major's is empty, not a gather of (0 - 1) rows" *
          doctest::test_suite("unit")) {
    // fuzz_pytorch_bin: size (0, 64) with a stride other than 1 for the last dimension was
    // taken for a strided view and gathered, its span computed from size 0 - 1: std::length_error.
    namespace pb = test::pytorch_bin;
    const std::string pickle = pb::state_dict(pb::str("e") + pb::rebuild("HalfStorage", "0", 0, 0, {0, 64}, {1, 5}));
    const auto file = io::pytorch_checkpoint::from_bytes(pb::zip({{"x/data.pkl", pickle}, {"x/data/0", ""}}), "found.bin");
    CHECK(file.sources()[0]->info("e").shape == std::vector<std::size_t>{0, 64});
    CHECK(file.sources()[0]->load<float>("e").size() == 0);
}

TEST_CASE("robustness.fuzz: a label2id value beyond int64 is a config_error, not undefined behaviour" * doctest::test_suite("unit")) {
    // fuzz_config under UBSan: label2id is read as a map of integers, whose values the
    // range check (json_fits) did not look into, so 1e57 reached nlohmann's double ->
    // int64 cast. Maps are now checked value by value, as arrays are.
    for (const char* text : {R"({"id2label": {"0": "A"}, "label2id": {"A": 1e57}})", R"({"id2label": {"0": "A"}, "label2id": {"A": 0.5}})",
                             R"({"id2label": {"0": "A"}, "label2id": {"A": "0"}})", R"({"id2label": {"0": "A"}, "label2id": [0]})"}) {
        CAPTURE(text);
        label_config labels;
        test::check_throws<config_error>([&] { labels.read_labels(io::parse_json(text, "config.json"), "config.json"); },
                                         {"config.json", "\"label2id\"", "expected an object of: an integer"});
    }
}
