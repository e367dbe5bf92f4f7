// Limits checked before allocation: every refusal here is a clear error raised
// from a size field, and the test shows the process's peak memory stayed small,
// i.e. the absurd amount was never allocated.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared first
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <png.h>
#include <jpeglib.h>

#include "mmt/io/image.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/io/wav.hpp"
#include "mmt/preprocess/image.hpp"
#include "mmt/tokenizers/clip_bpe.hpp"
#include "mmt/tokenizers/layoutlm_words.hpp"
#include "mmt/tokenizers/wordpiece.hpp"
#include "support/data.hpp"
#include "support/image_collection.hpp"
#include "support/peak_memory.hpp"
#include "support/throws.hpp"
#include "support/tokenizers.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {

// "8-byte little-endian header length + header + data"; `length` replaces the true length.
std::string safetensors_bytes(const std::string& header, const std::string& data = "", std::uint64_t length = 0) {
    const std::uint64_t n = length ? length : header.size();
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    return bytes + header + data;
}

// Opening `bytes` as a safetensors file fails with a format_error holding `parts`, without
// the peak resident size growing by more than small_peak_bytes.
void check_refused_small(const std::string& bytes, std::initializer_list<std::string> parts) {
    const auto grown = test::peak_growth([&] {
        test::check_throws<format_error>([&] { io::safetensors_file::from_bytes(bytes, "mem.safetensors"); }, parts);
    });
    CHECK(test::stayed_small(grown));
}

// `n` arrays nested in each other: [[[...]]].
std::string nested(std::size_t n) { return std::string(n, '[') + std::string(n, ']'); }

// A sparse file of `bytes` bytes (no disk blocks are written).
fs::path sparse_file(const fs::path& path, std::uintmax_t bytes) {
    std::ofstream(path, std::ios::binary).close();
    fs::resize_file(path, bytes);
    return path;
}

// A height x width PNG of 8-bit grey zeros, stored without compression.
std::string stored_gray_png(std::uint32_t width, std::uint32_t height) {
    std::string out;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    png_set_write_fn(png, &out, test::append_png_to_string, nullptr);
    png_set_compression_level(png, 0);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    std::vector<png_byte> row(width, 0);
    for (std::uint32_t y = 0; y < height; ++y) png_write_row(png, row.data());
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
    return out;
}

// A height x width grey JPEG of diagonal stripes; `progressive` writes
// jpeg_simple_progression's six scans instead of one.
std::string gray_jpeg(std::uint32_t width, std::uint32_t height, bool progressive) {
    const auto stripes = [&](std::size_t y, JSAMPLE* row) {
        for (std::uint32_t x = 0; x < width; ++x) row[x] = static_cast<JSAMPLE>((7 * x + 13 * y) & 0xFF);
    };
    test::jpeg_options options;
    options.progressive = progressive;
    return test::encode_jpeg_rows(width, height, 1, stripes, options);
}

// `jpeg` with the start of frame (SOF0 or SOF2) patched to declare width x height.
std::string with_jpeg_size(std::string jpeg, std::uint16_t width, std::uint16_t height) {
    auto sof = jpeg.find("\xFF\xC0");
    if (sof == std::string::npos) sof = jpeg.find("\xFF\xC2");
    REQUIRE(sof != std::string::npos);
    jpeg[sof + 5] = static_cast<char>(height >> 8), jpeg[sof + 6] = static_cast<char>(height & 0xFF);
    jpeg[sof + 7] = static_cast<char>(width >> 8), jpeg[sof + 8] = static_cast<char>(width & 0xFF);
    return jpeg;
}

// An 8x8 RGB JPEG at libjpeg's default quality, patched to declare width x height.
std::string jpeg_declaring(std::uint16_t width, std::uint16_t height) {
    return with_jpeg_size(test::encode_jpeg({8, 8, std::vector<std::uint8_t>(8 * 8 * 3, 128)}, 75), width, height);
}

io::rgb_image decode_image_bytes(const std::string& bytes, const io::image_limits& limits = {}) {
    return io::decode_image(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(), "test.img", limits);
}

}  // namespace

TEST_CASE("robustness.limits: the peak-memory probe sees a 64 MB allocation" * doctest::test_suite("unit")) {
    // Without this, every "peak stayed small" check below could pass vacuously.
    const auto grown = test::peak_growth([] {
        std::vector<char> block(64u << 20, 1);
        CHECK(block[12345] == 1);
    });
    CHECK(grown >= (60u << 20));
}

TEST_CASE("robustness.limits: a safetensors header length over 100 MB is refused from the length field" *
          doctest::test_suite("unit")) {
    check_refused_small(safetensors_bytes("{}", "", 200u << 20), {"mem.safetensors", "209715200 bytes", "exceeds the limit of 104857600"});
    check_refused_small(safetensors_bytes("{}", "", ~std::uint64_t{0}), {"18446744073709551615 bytes", "exceeds the limit"});
    // Under the limit but past the end of the file: refused before the header is read.
    check_refused_small(safetensors_bytes("{}", "", 90u << 20), {"94371840 bytes", "runs past the end", "truncated"});
}

TEST_CASE("robustness.limits: tensor sizes that overflow or exceed the file are refused at open" *
          doctest::test_suite("unit")) {
    const auto entry = [](const std::string& e) { return safetensors_bytes("{\"w\": " + e + "}", std::string(8, '\0')); };
    check_refused_small(entry(R"({"dtype": "F32", "shape": [4294967296, 4294967296, 4294967296], "data_offsets": [0, 8]})"),
                        {"tensor 'w'", "overflows"});
    check_refused_small(entry(R"({"dtype": "F64", "shape": [4611686018427387904], "data_offsets": [0, 8]})"),
                        {"tensor 'w'", "byte size", "overflows"});
    check_refused_small(entry(R"({"dtype": "F32", "shape": [1000000, 1000000], "data_offsets": [0, 4000000000000]})"),
                        {"tensor 'w'", "[0, 4000000000000]", "data section of 8 bytes"});
    check_refused_small(entry(R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 9223372036854775808]})"),
                        {"tensor 'w'", "run past the data section"});
}

TEST_CASE("robustness.limits: absurd shapes are refused at open" * doctest::test_suite("unit")) {
    const auto entry = [](const std::string& shape) {
        return safetensors_bytes("{\"w\": {\"dtype\": \"U8\", \"shape\": " + shape + ", \"data_offsets\": [0, 8]}}",
                                 std::string(8, '\0'));
    };
    std::string rank_1000 = "[";
    for (int i = 0; i < 1000; ++i) rank_1000 += i ? ",1" : "1";
    check_refused_small(entry(rank_1000 + "]"), {"tensor 'w'", "rank 1000 exceeds the limit of 8"});
    check_refused_small(entry("[18446744073709551616]"), {"tensor 'w'", "not a non-negative integer"});  // 2^64 parses as a float
    check_refused_small(entry("[1e300]"), {"tensor 'w'", "not a non-negative integer"});
    check_refused_small(entry("[8, -1]"), {"tensor 'w'", "shape entry -1"});
}

TEST_CASE("robustness.limits: JSON nested deeper than 1000 levels is refused while parsing" * doctest::test_suite("unit")) {
    CHECK_NOTHROW(io::parse_json(nested(io::max_json_depth), "ok.json"));
    const auto grown = test::peak_growth([] {
        test::check_throws<format_error>([] { io::parse_json(nested(1'000'000), "config.json"); },
                                         {"config.json", "nested deeper than 1000 levels"});
        test::check_throws<format_error>([] { io::parse_json("{\"a\": " + nested(5000) + "}", "config.json"); },
                                         {"config.json", "nested deeper than 1000"});
    });
    CHECK(test::stayed_small(grown));
    check_refused_small(safetensors_bytes("{\"__metadata__\": " + nested(100'000) + "}"),
                        {"mem.safetensors: safetensors header", "nested deeper than 1000"});
}

TEST_CASE("robustness.limits: an order-keeping JSON object over 32768 keys is refused while parsing" *
          doctest::test_suite("unit")) {
    // ordered_json looks each key up linearly: a million-key vocab.json would take minutes.
    const auto object = [](std::size_t n) {
        std::string text = "{\"vocab\": {";
        for (std::size_t i = 0; i < n; ++i) text += (i ? ",\"t" : "\"t") + std::to_string(i) + "\":" + std::to_string(i);
        return text + "}}";
    };
    CHECK(io::parse_ordered_json(object(io::max_ordered_json_keys), "vocab.json")["vocab"].size() == io::max_ordered_json_keys);
    test::check_throws<format_error>([&] { io::parse_ordered_json(object(io::max_ordered_json_keys + 1), "vocab.json"); },
                                     {"vocab.json", "more than 32768 keys"});
    CHECK(io::parse_json(object(100'000), "vocab.json")["vocab"].size() == 100'000);  // unordered objects have no such limit
}

TEST_CASE("robustness.limits: JSON parses in linear time: 40 000 OCR words, a header of 40 000 tensors" *
          doctest::test_suite("unit")) {
    // nlohmann's callback parser rescanned the enclosing container at each closing
    // object: 5 s for 100 000 of these words, 68 s for this header of 100 000 tensors
    // (in Release), growing with the square of their count. Linear, 4 times the entries
    // take about 4 times as long in any build, sanitized or not; the square would take 16
    // (11 s for 40 000 of those tensors).
    const auto words = [](std::size_t n) {
        std::string out = "{\"width\": 1000, \"height\": 1000, \"words\": [";
        for (std::size_t i = 0; i < n; ++i) out += (i ? ", " : "") + std::string("{\"text\": \"w\", \"box\": [1, 2, 3, 4]}");
        return out + "]}";
    };
    const auto header = [](std::size_t n) {
        std::string out = "{";
        for (std::size_t i = 0; i < n; ++i)
            out += (i ? ", \"t" : "\"t") + std::to_string(i) + "\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [" +
                   std::to_string(4 * i) + ", " + std::to_string(4 * i + 4) + "]}";
        return safetensors_bytes(out + "}", std::string(4 * n, '\0'));
    };
    const auto seconds = [](auto&& work) {  // the best of 3, against the noise of tests running beside this one
        double best = 1e30;
        for (int run = 0; run < 3; ++run) {
            const auto start = std::chrono::steady_clock::now();
            work();
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        }
        return best;
    };
    const auto parse_words = [&](std::size_t n) {
        const std::string text = words(n);
        return seconds([&] { CHECK(io::parse_json(text, "ocr.json")["words"].size() == n); });
    };
    const auto open_header = [&](std::size_t n) {
        const std::string file = header(n);
        return seconds([&] { CHECK(io::safetensors_file::from_bytes(file, "big.safetensors").size() == n); });
    };
    const std::size_t n = 10'000;
    CHECK(parse_words(4 * n) < 8 * parse_words(n));
    CHECK(open_header(4 * n) < 8 * open_header(n));
}

TEST_CASE("robustness.limits: JSON past its limits is refused at the value past them, before the rest is read" *
          doctest::test_suite("unit")) {
    io::json_limits limits;
    limits.max_array_elements = 3;
    limits.setting = "boxed_options::max_words";
    CHECK(io::parse_json("[[1, 2, 3], 4, 5]", "ok.json", limits).size() == 3);
    // The text breaks off after the fourth element: the limit is met before the end is reached.
    test::check_throws<format_error>([&] { io::parse_json("{\"words\": [1, 2, 3, 4, [", "ocr.json", limits); },
                                     {"ocr.json: more than 3 elements in one array; expected at most 3 (boxed_options::max_words)"});
    limits = {};
    limits.max_object_keys = 2;
    test::check_throws<format_error>([&] { io::parse_json("{\"a\": 1, \"b\": {\"c\": 1, \"d\": 2, \"e\": ", "config.json", limits); },
                                     {"config.json: more than 2 keys in one object; expected at most 2"});
}

TEST_CASE("robustness.limits: padding past 2^20 tokens, or to the missing model_max_length, is an input_error before allocating" *
          doctest::test_suite("unit")) {
    // A tokenizer_config.json without model_max_length (or with HF's 1e30) has no_max_length:
    // padding to it was a raw "vector::reserve", to 2^40 a bad_alloc.
    const auto grown = test::peak_growth([] {
        test::check_throws<input_error>([] { test::clip_tokenizer().encode("a photo", tokenizers::no_max_length); },
                                        {"encode: padding to max_length, but the tokenizer sets no model_max_length; expected a max_length to pad to"});
        test::check_throws<input_error>([] { test::clip_tokenizer().encode("a photo", std::size_t(1) << 40); },
                                        {"encode: padding to max_length 1099511627776; expected at most 1048576 (max_padded_length)"});
        tokenizers::boxed_options options;
        options.max_length = std::size_t(1) << 40;
        test::check_throws<input_error>([&] { tokenizers::encode_words(test::bert_tokenizer(), {"total"}, {{1, 2, 3, 4}}, options); },
                                        {"encode_words: padding to max_length 1099511627776; expected at most 1048576"});
    });
    CHECK(test::stayed_small(grown));
    CHECK(test::clip_tokenizer().encode("a photo", tokenizers::no_max_length, false).input_ids.size() == 4);  // no padding: no limit needed
    CHECK(test::clip_tokenizer().encode("a photo", tokenizers::max_padded_length).input_ids.size() == tokenizers::max_padded_length);
}

TEST_CASE("robustness.limits: text files over 100 MB are refused from their size, streams while reading" *
          doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("robust_text_limit");
    const fs::path big = sparse_file(dir / "config.json", 300u << 20);
    auto grown = test::peak_growth([&] {
        test::check_throws<input_error>([&] { io::read_json_file(big); },
                                        {big.string(), "too large", "at most 104857600 bytes", "got 314572800"});
    });
    CHECK(test::stayed_small(grown));
    // A device never ends; it is cut off at the limit.
    grown = test::peak_growth([&] {
        test::check_throws<input_error>([&] { io::read_text_file("/dev/zero", 1u << 20); },
                                        {"/dev/zero", "at most 1048576 bytes", "got more"});
    });
    CHECK(test::stayed_small(grown));
}

TEST_CASE("robustness.limits: images over the pixel limit are refused from their header" * doctest::test_suite("unit")) {
    auto grown = test::peak_growth([] {
        test::check_throws<input_error>([] { decode_image_bytes(test::png_header_only(20000, 20000)); },
                                        {"20000x20000", "400000000 pixels exceeds the limit of 100000000"});
        test::check_throws<input_error>([] { decode_image_bytes(jpeg_declaring(30000, 30000)); },
                                        {"30000x30000", "900000000 pixels exceeds the limit of 100000000"});
    });
    CHECK(test::stayed_small(grown));
    // The limit is the caller's: image_limits::max_pixels.
    const auto at_most = [](std::size_t pixels) {
        io::image_limits limits;
        limits.max_pixels = pixels;
        return limits;
    };
    test::check_throws<input_error>([&] { decode_image_bytes(test::png_header_only(100, 100), at_most(5000)); },
                                    {"10000 pixels exceeds the limit of 5000", "image_limits::max_pixels"});
    CHECK(decode_image_bytes(jpeg_declaring(8, 8), at_most(64)).pixels.size() == 8 * 8 * 3);
}

TEST_CASE("robustness.limits: an image header claiming more than its file could hold is refused before allocating" *
          doctest::test_suite("unit")) {
    // 10000 x 10000 RGB (300 MB decoded) in a few dozen bytes: before, the rows were
    // allocated and zero-filled, then the data ran out (PNG) or was made up as grey (JPEG).
    const std::string baseline = with_jpeg_size(gray_jpeg(8, 8, false), 10000, 10000);
    const std::string progressive = with_jpeg_size(gray_jpeg(8, 8, true), 10000, 10000);
    const auto grown = test::peak_growth([&] {
        test::check_throws<format_error>([] { decode_image_bytes(test::png_header_only(10000, 10000)); },
                                         {"test.img", "PNG header declares 10000x10000 pixels", "at least 290697 bytes",
                                          "the file has 57", "truncated"});
        test::check_throws<format_error>([&] { decode_image_bytes(baseline); },
                                         {"test.img", "JPEG header declares 10000x10000 pixels", "at least 195312 bytes"});
        test::check_throws<format_error>([&] { decode_image_bytes(progressive); },
                                         {"test.img", "JPEG header declares 10000x10000 pixels"});
    });
    CHECK(test::stayed_small(grown));
}

TEST_CASE("robustness.limits: a truncated image allocates what its data held, not what its header claims" *
          doctest::test_suite("unit")) {
    // Files big enough for their claim, cut to 5%: rows are decoded into a buffer that
    // grows, so the 64 MB of rows the headers declare are never allocated.
    const std::string png = stored_gray_png(8000, 8000);
    const std::string jpeg = gray_jpeg(8000, 8000, false);
    const auto grown = test::peak_growth([&] {
        test::check_throws<format_error>([&] { decode_image_bytes(png.substr(0, png.size() / 20)); },
                                         {"test.img", "invalid PNG", "truncated PNG data"});
        test::check_throws<format_error>([&] { decode_image_bytes(jpeg.substr(0, jpeg.size() / 20)); },
                                         {"test.img", "invalid JPEG", "truncated JPEG data"});
    });
    CHECK(test::stayed_small(grown));
    CHECK(decode_image_bytes(gray_jpeg(64, 48, false)).pixels.size() == 64 * 48 * 3);
    CHECK(decode_image_bytes(stored_gray_png(64, 48)).pixels.size() == 64 * 48 * 3);
}

TEST_CASE("robustness.limits: a progressive JPEG of 50 000 scans is refused after max_jpeg_scans" *
          doctest::test_suite("unit")) {
    // Its last scan (an AC refinement) repeated before EOI: libjpeg only warns about
    // such scans, and decodes the whole image once per scan.
    const std::string six_scans = gray_jpeg(8, 8, true);
    CHECK(decode_image_bytes(six_scans).pixels.size() == 8 * 8 * 3);
    const auto last_scan = six_scans.rfind("\xFF\xDA"), eoi = six_scans.rfind("\xFF\xD9");
    REQUIRE(last_scan < eoi);
    std::string many = six_scans.substr(0, eoi);
    for (int i = 0; i < 50000; ++i) many += six_scans.substr(last_scan, eoi - last_scan);
    many += "\xFF\xD9";
    const auto start = std::chrono::steady_clock::now();
    test::check_throws<input_error>([&] { decode_image_bytes(many); },
                                    {"test.img", "progressive JPEG of more than 1000 scans", "image_limits::max_jpeg_scans"});
    CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < 2.0);
    io::image_limits five;
    five.max_jpeg_scans = 5;
    test::check_throws<input_error>([&] { decode_image_bytes(six_scans, five); }, {"more than 5 scans"});
}

TEST_CASE("robustness.limits: audio over the configured length is refused from its header" * doctest::test_suite("unit")) {
    const std::string two_seconds = io::encode_wav(std::vector<float>(32000, 0.25f), 16000);
    const auto* data = reinterpret_cast<const unsigned char*>(two_seconds.data());
    io::wav_read_options one_second;
    one_second.max_duration_seconds = 1.0;
    test::check_throws<input_error>([&] { io::decode_wav(data, two_seconds.size(), "two.wav", one_second); },
                                    {"two.wav", "audio too long", "at most 1 s", "got 2 s"});
    CHECK(io::decode_wav(data, two_seconds.size(), "two.wav").samples.size() == 32000);

    // A data chunk declaring 4 GB in a file of a few bytes: refused before any sample is decoded.
    std::string huge = two_seconds.substr(0, 44) + "abcd";
    const auto data_size = huge.find("data") + 4;
    for (int i = 0; i < 4; ++i) huge[data_size + i] = '\xF0';
    const auto grown = test::peak_growth([&] {
        test::check_throws<format_error>(
            [&] { io::decode_wav(reinterpret_cast<const unsigned char*>(huge.data()), huge.size(), "huge.wav"); },
            {"huge.wav", "truncated data chunk", "declares 4042322160 bytes"});
    });
    CHECK(test::stayed_small(grown));
}

TEST_CASE("robustness.limits: texts and documents over the configured size are refused before tokenizing" *
          doctest::test_suite("unit")) {
    const std::string two_mb(2u << 20, 'a');
    const auto& clip = test::clip_tokenizer();  // loaded before measuring
    const auto& bert = test::bert_tokenizer();
    const auto grown = test::peak_growth([&] {
        test::check_throws<input_error>([&] { clip.encode(two_mb, 77); },
                                        {"clip_bpe_tokenizer", "text of 2097152 bytes", "at most 1048576", "set_max_input_bytes"});
        test::check_throws<input_error>([&] { bert.encode(two_mb, 512); },
                                        {"wordpiece_tokenizer", "text of 2097152 bytes", "at most 1048576"});
    });
    CHECK(test::stayed_small(grown));

    auto small = tokenizers::wordpiece_tokenizer::from_directory(test::data_path("layoutlm-tokenizer"));
    small.set_max_input_bytes(10);
    CHECK(small.tokenize("invoice").size() == 1);
    test::check_throws<input_error>([&] { small.tokenize("invoice total"); }, {"text of 13 bytes", "at most 10"});
    const std::vector<tokenizers::word_box> boxes(2, tokenizers::word_box{0, 0, 10, 10});
    test::check_throws<input_error>([&] { tokenizers::encode_words(small, {"invoice", "total"}, boxes); },
                                    {"layoutlm words: the document", "text of 12 bytes", "at most 10"});

    tokenizers::boxed_options options;
    options.max_words = 1;
    test::check_throws<input_error>([&] { tokenizers::encode_words(test::bert_tokenizer(), {"invoice", "total"}, boxes, options); },
                                    {"2 words", "at most 1", "max_words"});
}

TEST_CASE("robustness.limits: a 256 KB word tokenizes in linear-logarithmic time" * doctest::test_suite("unit")) {
    // HF's BPE loop rescans the word for every merge: 130 s for this word before the heap.
    std::string word;
    for (std::size_t i = 0; word.size() < (256u << 10); ++i) word += "photographcatsleepingonsofa"[i % 27];
    const auto start = std::chrono::steady_clock::now();
    const auto tokens = test::clip_tokenizer().tokenize(word);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(tokens.size() > 1000);
    CHECK(seconds < 10.0);
}

TEST_CASE("robustness.limits: image sizes in preprocessor_config.json and long thin images are bounded" *
          doctest::test_suite("unit")) {
    using preprocess::clip_image_processor_config;
    test::check_throws<config_error>([] { clip_image_processor_config::from_json({{"size", 1000000}}, "pp.json"); },
                                     {"pp.json", "\"size\"", "more than 100000000 pixels"});
    test::check_throws<config_error>([] { clip_image_processor_config::from_json({{"crop_size", 20000}}, "pp.json"); },
                                     {"pp.json", "\"crop_size\"", "20000x20000", "more than 100000000"});
    test::check_throws<config_error>([] { clip_image_processor_config::from_json({{"size", 1e30}}, "pp.json"); },
                                     {"pp.json", "\"size\"", "whole number", "1e+30"});
    // 1 x 20000 pixels resized to a shortest edge of 224 would be 224 x 4480000.
    const io::rgb_image thin{1, 20000, std::vector<std::uint8_t>(20000 * 3, 7)};
    const preprocess::clip_image_processor processor;
    const auto grown = test::peak_growth([&] {
        test::check_throws<input_error>([&] { processor.preprocess(thin); },
                                        {"1x20000 image", "shortest edge 224", "more than 100000000 pixels"});
    });
    CHECK(test::stayed_small(grown));
    // Before decoding: the processor's image_limits() check the resize from the header,
    // here one with no pixel data at all (1 x 60000 -> 224 x 13440000).
    test::check_throws<input_error>([&] { decode_image_bytes(test::png_header_only(60000, 1), processor.image_limits()); },
                                    {"image 'test.img'", "1x60000 image resized to shortest edge 224", "224x13440000",
                                     "more than 100000000 pixels"});
    test::check_throws<format_error>([&] { decode_image_bytes(test::png_header_only(60000, 1)); }, {"test.img", "truncated"});
    // Fixed sizes (SigLIP, LayoutLMv3) never exceed the limit, and neither does a normal photo.
    const auto siglip = preprocess::clip_image_processor(
        clip_image_processor_config::defaults_of("SiglipImageProcessor", "pp.json"));
    test::check_throws<format_error>([&] { decode_image_bytes(test::png_header_only(60000, 1), siglip.image_limits()); }, {"truncated"});
    CHECK(decode_image_bytes(stored_gray_png(640, 480), processor.image_limits()).width == 640);
}
