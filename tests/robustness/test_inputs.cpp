// Bad inputs of docs/robustness.md that no other test covers: each is a clear
// error of the documented type, with the message a user sees.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mmt/io/image.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/clip/config.hpp"
#include "mmt/tokenizers/clip_bpe.hpp"
#include "mmt/tokenizers/wordpiece.hpp"
#include "support/data.hpp"
#include "support/throws.hpp"

using namespace mmt;
namespace fs = std::filesystem;

TEST_CASE("robustness.inputs: config.json of an unsupported model_type names it and the supported ones" *
          doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("robust_model_type");
    std::ofstream(dir / "config.json") << R"({"model_type": "bert", "architectures": ["BertModel"]})";
    test::check_throws<config_error>([&] { auto_model::from_pretrained(dir); },
                                     {"config.json", "model_type \"bert\" is not supported", "clip", "layoutlm", "wav2vec2"});
}

TEST_CASE("robustness.inputs: CLIP heads that do not divide the hidden size are a config_error" * doctest::test_suite("unit")) {
    test::check_throws<config_error>(
        [] { clip::config::from_json({{"text_config", {{"hidden_size", 30}, {"num_attention_heads", 4}}}}, "config.json"); },
        {"config.json: text_config", "hidden_size 30 is not divisible by num_attention_heads 4"});
    test::check_throws<config_error>(
        [] { clip::config::from_json({{"vision_config", {{"num_attention_heads", 0}}}}, "config.json"); },
        {"config.json: vision_config", "num_attention_heads 0"});
}

TEST_CASE("robustness.inputs: decoding an id no token has is an input_error naming it" * doctest::test_suite("unit")) {
    const auto clip = tokenizers::clip_bpe_tokenizer::from_directory(test::data_path("clip-tokenizer"));
    test::check_throws<input_error>([&] { clip.decode({49406, 123456}); },
                                    {"id 123456 at position 1 has no token", "0..49407"});
    test::check_throws<input_error>([&] { clip.decode({-1}); }, {"id -1"});
    const auto bert = tokenizers::wordpiece_tokenizer::from_directory(test::data_path("layoutlm-tokenizer"));
    test::check_throws<input_error>([&] { bert.decode({2, 5000}); }, {"id 5000 at position 1 has no token"});
    test::check_throws<input_error>([&] { bert.decode({-3}); }, {"id -3"});
}

TEST_CASE("robustness.inputs: a PNG whose header checksum is wrong is a format_error" * doctest::test_suite("unit")) {
    std::ifstream in(test::data_path("clip-images/chelsea.png"), std::ios::binary);
    std::vector<std::uint8_t> png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    png[20] ^= 1;  // a bit of the IHDR width
    test::check_throws<format_error>([&] { io::decode_image(png, "chelsea.png"); },
                                     {"image 'chelsea.png': invalid PNG (IHDR: CRC error)"});
}
