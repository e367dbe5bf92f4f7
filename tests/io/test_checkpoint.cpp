// io::checkpoint: one model.safetensors or shards listed by model.safetensors.index.json.
#include <doctest/doctest.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "mmt/io/checkpoint.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {

const char* shard1 = "model-00001-of-00002.safetensors";
const char* shard2 = "model-00002-of-00002.safetensors";

tensor<1> filled(std::size_t n, float value) {
    tensor<1> t(std::array<std::size_t, 1>{n});
    t.fill(value);
    return t;
}

// Two shards: a (3 x 1.0) and b (2 x 2.0) in the first, c (4 x 3.0) in the second.
void write_shards(const fs::path& dir) {
    io::safetensors_writer first, second;
    first.add("a", filled(3, 1.0f));
    first.add("b", filled(2, 2.0f));
    second.add("c", filled(4, 3.0f));
    first.save(dir / shard1);
    second.save(dir / shard2);
}

void write_index(const fs::path& dir, const io::json& weight_map) {
    io::json index = {{"metadata", {{"total_size", 36}}}, {"weight_map", weight_map}};
    std::ofstream(dir / "model.safetensors.index.json") << index.dump(2);
}

io::json good_map() { return {{"a", shard1}, {"b", shard1}, {"c", shard2}}; }

void check_sharded(const io::checkpoint& ckpt) {
    CHECK(ckpt.names() == std::vector<std::string>{"a", "b", "c"});
    CHECK(ckpt.contains("c"));
    CHECK_FALSE(ckpt.contains("d"));
    CHECK(ckpt.info("c").shape == std::vector<std::size_t>{4});
    CHECK(ckpt.file_of("a").path().filename() == shard1);
    CHECK(ckpt.file_of("c").path().filename() == shard2);
    CHECK(ckpt.file_of("c").load<float>("c") == filled(4, 3.0f));
    CHECK(ckpt.file_of("b").load<float>("b") == filled(2, 2.0f));
    CHECK(ckpt.description().find("model.safetensors.index.json (2 shards)") != std::string::npos);
    test::check_throws<weight_error>([&] { ckpt.file_of("d"); }, {"'d'"});
}

}  // namespace

TEST_CASE("io.checkpoint: a sharded checkpoint opened by directory and by index" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("unit_checkpoint_sharded");
    write_shards(dir);
    write_index(dir, good_map());
    check_sharded(io::checkpoint::open(dir));
    check_sharded(io::checkpoint::open(dir / "model.safetensors.index.json"));
}

TEST_CASE("io.checkpoint: a single file, by directory or by path; the file wins over an index" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("unit_checkpoint_single");
    io::safetensors_writer w;
    w.add("x", filled(2, 5.0f));
    w.save(dir / "model.safetensors");
    write_index(dir, {{"y", "elsewhere.safetensors"}});  // would fail if it were read
    for (const auto& ckpt : {io::checkpoint::open(dir), io::checkpoint::open(dir / "model.safetensors")}) {
        CHECK(ckpt.names() == std::vector<std::string>{"x"});
        CHECK(ckpt.description() == (dir / "model.safetensors").string());
        CHECK(ckpt.file_of("x").load<float>("x") == filled(2, 5.0f));
    }
}

TEST_CASE("io.checkpoint: from_sources reads tensors opened elsewhere, the later source's on a shared name" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("unit_checkpoint_sources");
    write_shards(dir);
    io::safetensors_writer again;
    again.add("b", filled(5, 4.0f));  // also in shard1
    again.save(dir / "again.safetensors");
    const auto in_memory = [&](const char* file) {
        return std::make_shared<const io::safetensors_file>(io::safetensors_file::from_bytes(test::read_file(dir / file), file));
    };
    const auto ckpt = io::checkpoint::from_sources({in_memory(shard1), in_memory(shard2), in_memory("again.safetensors")}, "three buffers");
    CHECK(ckpt.names() == std::vector<std::string>{"a", "b", "c"});
    CHECK(ckpt.file_of("a").load<float>("a") == filled(3, 1.0f));
    CHECK(ckpt.file_of("b").load<float>("b") == filled(5, 4.0f));
    CHECK(ckpt.file_of("c").load<float>("c") == filled(4, 3.0f));
    CHECK(ckpt.description() == "three buffers");
    CHECK(ckpt.files().empty());
}

TEST_CASE("io.checkpoint: broken indexes are errors naming the index and the entry" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("unit_checkpoint_bad_index");
    const std::string index = (dir / "model.safetensors.index.json").string();
    write_shards(dir);

    write_index(dir, nullptr);
    test::check_throws<format_error>([&] { io::checkpoint::open(dir); }, {index, "weight_map"});
    std::ofstream(dir / "model.safetensors.index.json") << R"({"metadata": {}})";
    test::check_throws<format_error>([&] { io::checkpoint::open(dir); }, {index, "missing \"weight_map\""});
    std::ofstream(dir / "model.safetensors.index.json") << "{\"weight_map\": ";
    test::check_throws<format_error>([&] { io::checkpoint::open(dir); }, {index, "not valid JSON"});

    write_index(dir, {{"a", shard1}, {"z", "model-00003-of-00003.safetensors"}});
    test::check_throws<io_error>([&] { io::checkpoint::open(dir); }, {"model-00003-of-00003.safetensors", "cannot open"});

    write_index(dir, {{"a", shard1}, {"c", shard1}});  // c lives in the second shard
    test::check_throws<weight_error>([&] { io::checkpoint::open(dir); }, {index, "'c'", shard1, "does not hold it"});

    write_index(dir, {{"a", 7}});
    test::check_throws<format_error>([&] { io::checkpoint::open(dir); }, {index, "'a'", "not a file name"});

    for (const std::string shard : {"sub/model.safetensors", "../model.safetensors", "..", ""}) {
        CAPTURE(shard);
        write_index(dir, {{"a", shard}});
        test::check_throws<format_error>([&] { io::checkpoint::open(dir); }, {index, "'" + shard + "'", "beside the index"});
    }
}

TEST_CASE("io.checkpoint: a directory with neither file is an io_error naming it" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("unit_checkpoint_empty");
    std::ofstream(dir / "config.json") << "{}";
    test::check_throws<io_error>([&] { io::checkpoint::open(dir); },
                                 {dir.string(), "none of model.safetensors, model.safetensors.index.json, pytorch_model.bin"});
    test::check_throws<io_error>([&] { io::checkpoint::open(dir / "missing.safetensors"); }, {"missing.safetensors", "cannot open"});
}

TEST_CASE("io.checkpoint: a symbolic link whose target is gone is named with its target" * doctest::test_suite("unit")) {
    // An HF cache: snapshots/<rev>/model.safetensors -> ../../blobs/<hash>, the blob deleted.
    const fs::path dir = test::scratch_dir("unit_checkpoint_broken_link");
    fs::create_symlink("../../blobs/4d7a1f2c", dir / "model.safetensors");
    fs::create_symlink("../../blobs/9e0b3a5d", dir / "config.json");
    const std::string link = "'" + (dir / "model.safetensors").string() + "' is a symbolic link to '../../blobs/4d7a1f2c', which does not exist";
    test::check_throws<io_error>([&] { io::checkpoint::open(dir); }, {link, "download the file again"});
    test::check_throws<io_error>([&] { io::checkpoint::open(dir / "model.safetensors"); }, {link});
    test::check_throws<io_error>([&] { io::read_json_file(dir / "config.json"); }, {"config.json' is a symbolic link to '../../blobs/9e0b3a5d'"});
}
