// safetensors_writer -> safetensors_file round trips, and the reader's validation:
// every malformed file is rejected with an error naming the file and the tensor.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mmt/core/dtype.hpp"
#include "mmt/io/safetensors.hpp"
#include "support/data.hpp"
#include "support/throws.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {

// Writes "8-byte little-endian header length + header + data"; `length` replaces the true length.
void write_raw(const fs::path& path, const std::string& header, const std::string& data = "",
               std::optional<std::uint64_t> length = std::nullopt) {
    const std::uint64_t n = length.value_or(header.size());
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(char((n >> (8 * i)) & 0xff));
    std::ofstream(path, std::ios::binary) << bytes << header << data;
}

std::string f16_bytes(const std::vector<float>& values, std::uint16_t (*encode)(float)) {
    std::string bytes;
    for (float v : values) {
        const std::uint16_t h = encode(v);
        bytes.push_back(char(h & 0xff));
        bytes.push_back(char(h >> 8));
    }
    return bytes;
}

// A file holding one tensor "w" described by `entry` (JSON text), followed by `data_bytes` zero bytes.
fs::path one_tensor(const fs::path& dir, const std::string& entry, std::size_t data_bytes) {
    const fs::path path = dir / "bad.safetensors";
    write_raw(path, "{\"w\": " + entry + "}", std::string(data_bytes, '\0'));
    return path;
}

}  // namespace

TEST_CASE("io.safetensors: writer and reader round trip" * doctest::test_suite("unit")) {
    const fs::path path = test::scratch_dir("unit_safetensors_round_trip") / "t.safetensors";
    dyn_tensor<float> f32(std::vector<std::size_t>{2, 3});
    for (std::size_t i = 0; i < f32.size(); ++i) f32.flat(i) = 0.25f * float(i) - 1.0f;
    int_tensor<1> i64(std::array<std::size_t, 1>{3});
    i64(0) = -7;
    i64(1) = std::int64_t(1) << 40;
    i64(2) = 0;
    const std::vector<float> halves{1.0f, -2.5f, 65504.0f, std::ldexp(1.0f, -24)};
    const std::vector<float> bf16s{1.0f, -3.0f, 3.0e38f, std::ldexp(1.0f, -126)};
    dyn_tensor<float> scalar(std::vector<std::size_t>{});
    scalar() = 4.5f;
    dyn_tensor<float> empty(std::vector<std::size_t>{0, 3});

    io::safetensors_writer writer;
    // Inserted out of alphabetical order: the data section keeps this order.
    writer.add("zeta.f32", f32);
    writer.add("alpha.i64", i64);
    writer.add_raw("mid.f16", dtype::f16, {2, 2}, f16_bytes(halves, float_to_half));
    writer.add_raw("beta.bf16", dtype::bf16, {4}, f16_bytes(bf16s, float_to_bf16));
    writer.add("scalar", scalar);
    writer.add("yy.empty", empty);
    writer.set_metadata("format", "pt");
    writer.set_metadata("note", "unit test");
    writer.save(path);
    {  // the header is padded so that the data section starts 8-byte aligned
        std::ifstream in(path, std::ios::binary);
        unsigned char len[8] = {};
        in.read(reinterpret_cast<char*>(len), 8);
        std::uint64_t header_len = 0;
        for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len[i];
        CHECK((8 + header_len) % 8 == 0);
    }

    const io::safetensors_file f(path);
    CHECK(f.names() == std::vector<std::string>{"zeta.f32", "alpha.i64", "mid.f16", "beta.bf16", "scalar", "yy.empty"});
    CHECK(f.size() == 6);
    CHECK(f.contains("mid.f16"));
    CHECK_FALSE(f.contains("mid"));
    CHECK(f.metadata() == std::map<std::string, std::string>{{"format", "pt"}, {"note", "unit test"}});

    const io::tensor_info& info = f.info("alpha.i64");
    CHECK(info.dtype == dtype::i64);
    CHECK(info.shape == std::vector<std::size_t>{3});
    CHECK(info.begin == 24);  // after zeta.f32's 6 floats
    CHECK(info.nbytes == 24);
    CHECK(f.info("yy.empty").numel() == 0);

    CHECK(f.load<float>("zeta.f32") == f32);
    CHECK(f.load<float, 2>("zeta.f32") == f32);
    CHECK(f.load<std::int64_t, 1>("alpha.i64") == i64);

    const auto mid = f.load<float, 2>("mid.f16");  // F16 converted to float
    for (std::size_t i = 0; i < halves.size(); ++i) CHECK(mid.flat(i) == halves[i]);
    const auto beta = f.load<float>("beta.bf16");
    REQUIRE(beta.shape() == std::vector<std::size_t>{4});
    CHECK(beta(0) == 1.0f);
    CHECK(beta(1) == -3.0f);
    CHECK(beta(2) == bf16_to_float(float_to_bf16(3.0e38f)));
    CHECK(beta(3) == std::ldexp(1.0f, -126));

    const auto s0 = f.load<float, 0>("scalar");
    CHECK(s0() == 4.5f);
    CHECK(f.load<float>("scalar").dimension() == 0);
    const auto e = f.load<float>("yy.empty");
    CHECK(e.shape() == std::vector<std::size_t>{0, 3});
    CHECK(e.size() == 0);
}

// Loads read a weight a block of rows at a time (io::packed_source): a block is
// the elements it names, converted from the stored dtype, and no other.
TEST_CASE("io.safetensors: a block of a tensor's elements is read and converted alone" * doctest::test_suite("unit")) {
    const fs::path path = test::scratch_dir("unit_safetensors_block") / "t.safetensors";
    const std::vector<float> halves{1.0f, -2.5f, 65504.0f, 0.5f, 3.0f, -0.25f};
    dyn_tensor<float> f32(std::vector<std::size_t>{3, 2});
    for (std::size_t i = 0; i < f32.size(); ++i) f32.flat(i) = float(i) + 0.5f;
    io::safetensors_writer writer;
    writer.add("a.f32", f32);
    writer.add_raw("b.f16", dtype::f16, {3, 2}, f16_bytes(halves, float_to_half));
    writer.save(path);

    const io::safetensors_file f(path);
    std::vector<float> block(2, -1.0f);
    f.convert_into(f.info("b.f16"), 2, 2, block.data());  // row 1
    CHECK(block == std::vector<float>{65504.0f, 0.5f});
    f.convert_into(f.info("a.f32"), 4, 2, block.data());  // row 2
    CHECK(block == std::vector<float>{4.5f, 5.5f});
    test::check_throws<error>([&] { f.convert_into(f.info("a.f32"), 5, 2, block.data()); }, {path.string(), "'a.f32'", "[5, 7)", "6"});
}

TEST_CASE("io.safetensors: wrong rank, wrong dtype and unknown names are errors naming the tensor" * doctest::test_suite("unit")) {
    const fs::path path = test::scratch_dir("unit_safetensors_load_errors") / "t.safetensors";
    io::safetensors_writer writer;
    writer.add("ids", int_tensor<2>({2, 3}));  // rank 2: braces give the shape
    writer.add("w", tensor<1>(std::array<std::size_t, 1>{5}));
    writer.save(path);
    const io::safetensors_file f(path);
    test::check_throws<shape_error>([&] { f.load<float, 2>("w"); }, {path.string(), "'w'", "rank 1", "[5]", "expected rank 2"});
    test::check_throws<weight_error>([&] { f.load<float>("ids"); }, {path.string(), "'ids'", "I64", "float32"});
    test::check_throws<weight_error>([&] { f.load<std::uint8_t>("w"); }, {path.string(), "'w'", "F32", "uint8"});
    test::check_throws<weight_error>([&] { f.info("nope"); }, {path.string(), "'nope'"});
}

TEST_CASE("io.safetensors: the writer rejects a byte count that does not fit the shape, and duplicates" * doctest::test_suite("unit")) {
    io::safetensors_writer writer;
    test::check_throws<shape_error>([&] { writer.add_raw("h", dtype::f16, {3}, std::string(4, '\0')); },
                                    {"'h'", "4 bytes", "[3]", "F16", "needs 6"});
    writer.add("x", tensor<1>(std::array<std::size_t, 1>{2}));
    test::check_throws<input_error>([&] { writer.add("x", tensor<1>(std::array<std::size_t, 1>{2})); }, {"'x'", "twice"});
}

// The writer renamed a temporary file onto its path: onto /dev/full, as root, that
// replaced the device with a file and the "full disk" wrote fine. A FIFO shows the same
// without touching /dev: it must stay a FIFO and carry the file.
TEST_CASE("io.safetensors: the writer writes a path that is no regular file in place, never renaming over it" *
          doctest::test_suite("unit")) {
    const fs::path fifo = test::scratch_dir("unit_safetensors_fifo") / "out.safetensors";
    fs::remove(fifo);
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    const int reader = ::open(fifo.c_str(), O_RDWR | O_NONBLOCK);  // a reader, so that opening for writing does not block
    REQUIRE(reader >= 0);
    io::safetensors_writer writer;
    writer.add("x", tensor<1>(std::array<std::size_t, 1>{4}));
    writer.save(fifo);
    CHECK(fs::is_fifo(fifo));
    std::string bytes(4096, '\0');
    const ssize_t n = ::read(reader, bytes.data(), bytes.size());
    ::close(reader);
    REQUIRE(n > 0);
    bytes.resize(std::size_t(n));
    CHECK(io::safetensors_file::from_bytes(bytes, "fifo").load<float, 1>("x").shape(0) == 4);
    if (fs::is_character_file("/dev/full")) {  // a full disk: the write's error, named. Through a link, so
        const fs::path full = fifo.parent_path() / "full";  // that a regression renames over the link, not the device
        fs::remove(full);
        fs::create_symlink("/dev/full", full);
        test::check_throws<io_error>([&] { writer.save(full); }, {"cannot write '", "full': No space left on device"});
        CHECK(fs::is_symlink(full));
    }
}

TEST_CASE("io.safetensors: a missing file is an io_error naming it" * doctest::test_suite("unit")) {
    const fs::path path = test::scratch_dir("unit_safetensors_missing") / "absent.safetensors";
    test::check_throws<io_error>([&] { io::safetensors_file f(path); }, {path.string(), "cannot open"});
}

TEST_CASE("io.safetensors: a broken framing is a format_error naming the file" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("unit_safetensors_framing");
    const fs::path path = dir / "bad.safetensors";

    std::ofstream(path, std::ios::binary) << "abc";
    test::check_throws<format_error>([&] { io::safetensors_file f(path); }, {path.string(), "3 bytes", "at least 8"});

    std::ofstream(path, std::ios::binary | std::ios::trunc).close();
    test::check_throws<format_error>([&] { io::safetensors_file f(path); }, {path.string(), "0 bytes"});

    write_raw(path, "{}", "", 100);  // says 100 bytes of header, holds 2
    test::check_throws<format_error>([&] { io::safetensors_file f(path); }, {path.string(), "100 bytes", "past the end", "truncated"});

    write_raw(path, "{\"__metadata__\": {\"k\": \"" + std::string(100, 'v') + "\"}}");
    test::check_throws<format_error>([&] { io::safetensors_file f(path, io::safetensors_limits{64, 8}); },
                                     {path.string(), "exceeds the limit of 64"});
    CHECK(io::safetensors_file(path).metadata().size() == 1);  // fine under the default limit

    write_raw(path, "{not json");
    test::check_throws<format_error>([&] { io::safetensors_file f(path); }, {path.string(), "not valid JSON"});

    write_raw(path, "[1, 2]");
    test::check_throws<format_error>([&] { io::safetensors_file f(path); }, {path.string(), "array", "expected an object"});

    write_raw(path, "{\"__metadata__\": [1]}");
    test::check_throws<format_error>([&] { io::safetensors_file f(path); }, {path.string(), "__metadata__", "expected an object"});

    write_raw(path, "{\"__metadata__\": {\"format\": \"pt\", \"step\": 3}}");
    test::check_throws<format_error>([&] { io::safetensors_file f(path); }, {path.string(), "__metadata__", "'step'", "not a string"});
}

TEST_CASE("io.safetensors: a malformed tensor entry is a format_error naming the file and the tensor" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("unit_safetensors_entries");
    const fs::path good = one_tensor(dir, R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})", 8);
    CHECK(io::safetensors_file(good).info("w").nbytes == 8);

    struct bad_case {
        std::string entry;
        std::size_t data_bytes;
        std::vector<std::string> message;
    };
    const std::vector<bad_case> cases{
        {R"([1, 2])", 8, {"entry is array"}},
        {R"({"shape": [2], "data_offsets": [0, 8]})", 8, {"missing \"dtype\""}},
        {R"({"dtype": 4, "shape": [2], "data_offsets": [0, 8]})", 8, {"missing \"dtype\""}},
        {R"({"dtype": "F17", "shape": [2], "data_offsets": [0, 8]})", 8, {"unknown dtype \"F17\""}},
        {R"({"dtype": "F32", "data_offsets": [0, 8]})", 8, {"missing \"shape\""}},
        {R"({"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]})", 8, {"shape entry -2", "not a non-negative integer"}},
        {R"({"dtype": "F32", "shape": [1.5], "data_offsets": [0, 8]})", 8, {"shape entry 1.5", "not a non-negative integer"}},
        {R"({"dtype": "F32", "shape": ["2"], "data_offsets": [0, 8]})", 8, {"not a non-negative integer"}},
        {R"({"dtype": "F32", "shape": [1, 1, 1, 1, 1, 1, 1, 1, 2], "data_offsets": [0, 8]})", 8, {"rank 9", "limit of 8"}},
        {R"({"dtype": "F32", "shape": [2]})", 8, {"data_offsets"}},
        {R"({"dtype": "F32", "shape": [2], "data_offsets": [0]})", 8, {"data_offsets", "[begin, end]"}},
        {R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 16]})", 16, {"data_offsets", "[begin, end]"}},
        {R"({"dtype": "F32", "shape": [2], "data_offsets": ["0", "8"]})", 8, {"data_offsets", "[begin, end]"}},
        {R"({"dtype": "F32", "shape": [2], "data_offsets": [-8, 0]})", 8, {"data_offsets", "[begin, end]"}},
        {R"({"dtype": "F32", "shape": [0], "data_offsets": [8, 4]})", 8, {"[8, 4]", "begin after end"}},
        {R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})", 7, {"[0, 8]", "data section of 7 bytes", "truncated"}},
        {R"({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]})", 8, {"holds 4 bytes", "F32", "needs 8"}},
        {R"({"dtype": "BF16", "shape": [3, 2], "data_offsets": [0, 24]})", 24, {"holds 24 bytes", "BF16", "needs 12"}},
        {R"({"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]})", 8, {"overflows"}},
    };
    for (const auto& c : cases) {
        CAPTURE(c.entry);
        const fs::path path = one_tensor(dir, c.entry, c.data_bytes);
        test::check_throws<format_error>([&] { io::safetensors_file f(path); }, {path.string(), "tensor 'w'"});
        for (const auto& part : c.message) test::check_throws<format_error>([&] { io::safetensors_file f(path); }, {part});
    }
}

TEST_CASE("io.safetensors: repeated names, gaps and bytes after the last tensor are refused, as by the reference implementation" *
          doctest::test_suite("unit")) {
    const fs::path path = test::scratch_dir("unit_safetensors_tiling") / "model.safetensors";
    const std::string a = R"("a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]})";
    write_raw(path, "{" + a + ", " + a + "}", std::string(8, '\0'));
    test::check_throws<format_error>([&] { io::safetensors_file f(path); },
                                     {path.string() + ": safetensors header: key \"a\" appears twice in one object; expected each key once"});
    write_raw(path, "{" + a + R"(, "b": {"dtype": "F32", "shape": [1], "data_offsets": [12, 16]}})", std::string(16, '\0'));
    test::check_throws<format_error>([&] { io::safetensors_file f(path); },
                                     {path.string() + ": tensor 'b' starts at byte 12 of the data section; expected byte 8 (where tensor 'a' ends)"});
    write_raw(path, R"({"b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", std::string(8, '\0'));
    test::check_throws<format_error>([&] { io::safetensors_file f(path); }, {"expected byte 0 (where the data section starts)"});
    write_raw(path, "{" + a + "}", std::string(12, '\0'));
    test::check_throws<format_error>([&] { io::safetensors_file f(path); },
                                     {path.string() + ": 4 bytes after the last tensor (the tensors end at byte 8 of a data section of 12 bytes); "
                                                      "expected the file to end with the last tensor"});
    write_raw(path, "{}", "x");
    test::check_throws<format_error>([&] { io::safetensors_file f(path); }, {"1 byte after the last tensor"});
    write_raw(path, "{" + a + "}", std::string(8, '\0'));
    CHECK(io::safetensors_file(path).size() == 1);
}

TEST_CASE("io.safetensors: a Git LFS pointer or an HTML page saved as weights or a config says so" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("unit_safetensors_stand_in");
    const fs::path path = dir / "model.safetensors", config = dir / "config.json";
    std::ofstream(path, std::ios::binary) << "version https://git-lfs.github.com/spec/v1\n"
                                             "oid sha256:4d7a1f2c9e0b3a5d6c8e7f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c\nsize 605247071\n";
    test::check_throws<format_error>([&] { io::safetensors_file f(path); },
                                     {path.string() + ": this is a Git LFS pointer, not a safetensors file: download the real file"});
    std::ofstream(path, std::ios::binary) << "\n  <!DOCTYPE html>\n<html lang=\"en\"><head><title>Sign in</title></head></html>\n";
    test::check_throws<format_error>([&] { io::safetensors_file f(path); },
                                     {path.string() + ": this is an HTML page, not a safetensors file: download the real file"});
    std::ofstream(config, std::ios::binary) << "<html><body>404</body></html>";
    test::check_throws<format_error>([&] { io::read_json_file(config); }, {config.string() + ": this is an HTML page, not JSON"});
}

TEST_CASE("io.safetensors: overlapping tensors are a format_error naming both" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("unit_safetensors_overlap");
    const fs::path path = dir / "overlap.safetensors";
    write_raw(path,
              R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
              std::string(12, '\0'));
    test::check_throws<format_error>([&] { io::safetensors_file f(path); }, {path.string(), "'a'", "'b'", "overlaps"});

    // An empty tensor inside another is out of place too (the reference implementation refuses it).
    write_raw(path,
              R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                  "e": {"dtype": "F32", "shape": [0], "data_offsets": [4, 4]},
                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
              std::string(16, '\0'));
    test::check_throws<format_error>([&] { io::safetensors_file f(path); },
                                     {path.string() + ": tensor 'e' (bytes 4..4) overlaps tensor 'a' (bytes 0..8)"});

    // Touching is not overlapping; an empty tensor may sit where one tensor ends and the next begins.
    write_raw(path,
              R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                  "e": {"dtype": "I64", "shape": [0, 5], "data_offsets": [8, 8]},
                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}})",
              std::string(16, '\0'));
    CHECK(io::safetensors_file(path).names() == std::vector<std::string>{"a", "b", "e"});
}
