// json_required / json_optional (HF defaults kept for absent or null keys; every
// other mismatch a config_error naming the key and the file) and JSON file reading.
#include <doctest/doctest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mmt/io/json.hpp"
#include "support/data.hpp"
#include "support/throws.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {

const io::json config = io::json::parse(R"({
    "hidden_size": 768, "layer_norm_eps": 1e-12, "hidden_act": "gelu", "eos_token_id": -1,
    "pad_token_id": null, "conv_dim": [512, 512], "do_lower_case": true, "count": 3.0,
    "negative": -4, "fraction": 2.5, "flag_number": 1, "name_list": ["a", 3]})");
const std::string where = "model/config.json";

}  // namespace

TEST_CASE("io.json: json_required reads present keys" * doctest::test_suite("unit")) {
    CHECK(io::json_required<std::size_t>(config, "hidden_size", where) == 768);
    CHECK(io::json_required<float>(config, "layer_norm_eps", where) == 1e-12f);
    CHECK(io::json_required<float>(config, "hidden_size", where) == 768.0f);  // an integer is a fine float
    CHECK(io::json_required<std::string>(config, "hidden_act", where) == "gelu");
    CHECK(io::json_required<std::int64_t>(config, "eos_token_id", where) == -1);
    CHECK(io::json_required<std::vector<std::size_t>>(config, "conv_dim", where) == std::vector<std::size_t>{512, 512});
    CHECK(io::json_required<bool>(config, "do_lower_case", where));
}

TEST_CASE("io.json: json_required reports a missing key, a wrong type and a non-object" * doctest::test_suite("unit")) {
    test::check_throws<config_error>([] { io::json_required<std::size_t>(config, "vocab_size", where); },
                                     {where, "missing key \"vocab_size\""});
    test::check_throws<config_error>([] { io::json_required<std::size_t>(config, "hidden_act", where); },
                                     {where, "\"hidden_act\"", "wrong type", "string", "\"gelu\""});
    test::check_throws<config_error>([] { io::json_required<std::string>(config, "hidden_size", where); },
                                     {where, "\"hidden_size\"", "wrong type", "768"});
    test::check_throws<config_error>([] { io::json_required<std::size_t>(config, "pad_token_id", where); },
                                     {where, "\"pad_token_id\"", "null"});
    test::check_throws<config_error>([] { io::json_required<std::size_t>(io::json::array({1, 2}), "hidden_size", where); },
                                     {where, "expected a JSON object", "array"});
}

TEST_CASE("io.json: numbers must fit the field's type" * doctest::test_suite("unit")) {
    // nlohmann would turn -4 into a huge size_t, 2.5 into 2 and true into 1.
    test::check_throws<config_error>([] { io::json_required<std::size_t>(config, "negative", where); }, {where, "\"negative\"", "-4"});
    test::check_throws<config_error>([] { io::json_required<std::size_t>(config, "fraction", where); }, {where, "\"fraction\"", "2.5"});
    test::check_throws<config_error>([] { io::json_required<std::int64_t>(config, "fraction", where); }, {"\"fraction\""});
    test::check_throws<config_error>([] { io::json_required<std::size_t>(config, "do_lower_case", where); },
                                     {"\"do_lower_case\"", "boolean"});
    test::check_throws<config_error>([] { io::json_required<float>(config, "do_lower_case", where); }, {"\"do_lower_case\""});
    test::check_throws<config_error>([] { io::json_required<bool>(config, "flag_number", where); }, {"\"flag_number\""});
    test::check_throws<config_error>([] { io::json_required<std::vector<std::string>>(config, "name_list", where); },
                                     {"\"name_list\""});
    const io::json negative_list = {{"conv_stride", {5, -2}}};
    test::check_throws<config_error>([&] { io::json_required<std::vector<std::size_t>>(negative_list, "conv_stride", where); },
                                     {"\"conv_stride\"", "-2"});
    CHECK(io::json_required<std::size_t>(io::json{{"n", 3}}, "n", where) == 3);  // built in code: a signed integer
    CHECK(io::json_required<std::int64_t>(config, "negative", where) == -4);
}

TEST_CASE("io.json: integers are range-checked before they are converted, and the message gives the key, the range and the value" *
          doctest::test_suite("unit")) {
    // nlohmann's get<T> wraps -1 to SIZE_MAX, truncates 2^40 to an int and casts 1e300 to an integer undefinedly.
    const io::json file = io::parse_json(R"({"m1": -1, "m2": 1e8, "m3": 1099511627776, "m4": 1e300, "m5": 512})", "words.json");
    const auto max_length = [&](const char* key) {
        return io::json_integer<std::size_t, input_error>(file[key], "max_length", 1, std::size_t(1) << 20, "words.json");
    };
    test::check_throws<input_error>([&] { max_length("m1"); }, {"words.json: key \"max_length\" should be an integer in 1..1048576, got -1"});
    test::check_throws<input_error>([&] { max_length("m2"); }, {"should be an integer in 1..1048576, got 100000000.0"});
    test::check_throws<input_error>([&] { max_length("m3"); }, {"should be an integer in 1..1048576, got 1099511627776"});
    test::check_throws<input_error>([&] { max_length("m4"); }, {"should be an integer in 1..1048576, got 1e+300"});
    CHECK(max_length("m5") == 512);
    test::check_throws<config_error>([&] { io::json_required<int>(file, "m3", where); },
                                     {where, "key \"m3\" has the wrong type (got number: 1099511627776); expected an integer in -2147483648..2147483647"});
    test::check_throws<config_error>([&] { io::json_required<std::int64_t>(file, "m4", where); }, {"got number: 1e+300"});
    test::check_throws<config_error>([&] { io::json_required<float>(file, "m4", where); }, {"expected a number within float's range"});
    CHECK(io::json_required<double>(file, "m4", where) == 1e300);
    CHECK(io::json_integer<std::int64_t>(io::json(-5), "k", -5, -1, where) == -5);
    test::check_throws<config_error>([&] { io::json_integer<std::int64_t>(io::json(0), "k", -5, -1, where); }, {"in -5..-1, got 0"});
    test::check_throws<config_error>([&] { io::json_integer<std::uint8_t>(io::json(256), "k", 0, 255, where); }, {"in 0..255, got 256"});
}

TEST_CASE("io.json: json_optional keeps the default when the key is absent or null" * doctest::test_suite("unit")) {
    std::size_t vocab_size = 49408;
    io::json_optional(config, "vocab_size", vocab_size, where);
    CHECK(vocab_size == 49408);
    std::int64_t pad_token_id = 1;
    io::json_optional(config, "pad_token_id", pad_token_id, where);
    CHECK(pad_token_id == 1);
    std::size_t hidden_size = 512;
    io::json_optional(config, "hidden_size", hidden_size, where);
    CHECK(hidden_size == 768);
    float eps = 1e-5f;
    io::json_optional(config, "layer_norm_eps", eps, where);
    CHECK(eps == 1e-12f);

    std::size_t from_string = 5;
    test::check_throws<config_error>([&] { io::json_optional(config, "hidden_act", from_string, where); },
                                     {where, "\"hidden_act\"", "wrong type", "\"gelu\""});
    CHECK(from_string == 5);
    std::size_t from_negative = 5;
    test::check_throws<config_error>([&] { io::json_optional(config, "negative", from_negative, where); }, {where, "\"negative\""});
    std::string act = "quick_gelu";
    test::check_throws<config_error>([&] { io::json_optional(io::json::array(), "hidden_act", act, where); },
                                     {where, "expected a JSON object"});
}

TEST_CASE("io.json: read_json_file names the file it cannot open or parse" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("unit_json");
    test::check_throws<io_error>([&] { io::read_json_file(dir / "absent.json"); }, {(dir / "absent.json").string(), "cannot open"});
    test::check_throws<io_error>([&] { io::read_json_file(dir); }, {dir.string(), "is a directory"});
    std::ofstream(dir / "broken.json") << "{\"hidden_size\": 768,";
    test::check_throws<format_error>([&] { io::read_json_file(dir / "broken.json"); },
                                     {(dir / "broken.json").string(), "not valid JSON"});
    std::ofstream(dir / "good.json") << "{\"hidden_size\": 768}";
    CHECK(io::read_json_file(dir / "good.json")["hidden_size"] == 768);
    CHECK(io::read_text_file(dir / "good.json") == "{\"hidden_size\": 768}");
    std::ofstream(dir / "empty.txt").close();
    CHECK(io::read_text_file(dir / "empty.txt").empty());  // an empty file is not an error
}
