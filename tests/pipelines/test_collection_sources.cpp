// The inputs of a collection in their fixed order (pipelines/collection_sources.hpp),
// and how a run's inputs fall into shards and parts (embedding_index_writer.hpp).
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/pipelines/collection_sources.hpp"
#include "mmt/pipelines/embedding_index_writer.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/throws.hpp"

using namespace mmt;
namespace fs = std::filesystem;

namespace {
// Every input of a source as "id -> path", and " | text" for a text, checking that size() counted them.
std::vector<std::string> collection_inputs(pipelines::collection_source& source) {
    std::vector<std::string> out;
    while (auto input = source.next()) out.push_back(input->id + " -> " + input->path + (input->text.empty() ? "" : " | " + input->text));
    CHECK(source.size() == out.size());
    return out;
}
}  // namespace

TEST_CASE("pipelines.collection_sources: a folder's files in sorted relative-path order, compared by component" *
          doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("collection_folder");
    for (const char* f : {"b.png", "a.png", "A.png", "a/z.png", "a/b/c.jpg", "a-b/x.png", "empty/", ".hidden"}) {
        fs::create_directories((dir / f).parent_path());
        if (std::string(f).back() != '/') test::write_file(dir / f, "x");
    }
    fs::create_symlink(dir / "a", dir / "link-to-a");        // a linked folder is not followed
    fs::create_symlink(dir / "b.png", dir / "link-to-b.png");  // a linked file is an input
    fs::create_symlink(dir / "gone.png", dir / "broken.png");   // a link to nothing is not
    pipelines::image_folder folder(dir);
    CHECK(std::string(folder.modality()) == "image");
    const std::string root = dir.string() + "/";
    // "a" sorts before "a-b" and "a.png" as a name, whatever '/' is worth as a byte
    CHECK(collection_inputs(folder) == std::vector<std::string>{".hidden -> " + root + ".hidden", "A.png -> " + root + "A.png",
                                                                "a/b/c.jpg -> " + root + "a/b/c.jpg", "a/z.png -> " + root + "a/z.png",
                                                                "a-b/x.png -> " + root + "a-b/x.png", "a.png -> " + root + "a.png",
                                                                "b.png -> " + root + "b.png", "link-to-b.png -> " + root + "link-to-b.png"});
    test::check_throws<io_error>([&] { pipelines::image_folder(dir / "b.png"); }, {"b.png", "not a folder"});
}

TEST_CASE("pipelines.collection_sources: a JSONL manifest's images, paths relative to its folder; a bad line named at opening" *
          doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("collection_manifest");
    test::write_file(dir / "list.jsonl", "{\"id\": \"cat\", \"path\": \"img/cat.png\", \"label\": 3}\n"
                                         "\n"
                                         "{\"id\": \"dog\", \"path\": \"/data/dog.jpg\"}\r\n"
                                         "{\"id\": \"last\", \"path\": \"x.png\"}");
    pipelines::image_manifest manifest(dir / "list.jsonl");
    CHECK(collection_inputs(manifest) == std::vector<std::string>{"cat -> " + (dir / "img/cat.png").string(), "dog -> /data/dog.jpg",
                                                                  "last -> " + (dir / "x.png").string()});
    const std::string where = (dir / "bad.jsonl").string() + " line 2";
    test::write_file(dir / "bad.jsonl", "{\"id\": \"a\", \"path\": \"a.png\"}\n{\"id\": 7, \"path\": \"b.png\"}\n");
    test::check_throws<format_error>([&] { pipelines::image_manifest(dir / "bad.jsonl"); },
                                     {where, "expected an object with the strings \"id\" and \"path\"", "{\"id\":7"});
    test::write_file(dir / "bad.jsonl", "{\"id\": \"a\", \"path\": \"a.png\"}\n{\"id\": \"b\", \n");
    test::check_throws<format_error>([&] { pipelines::image_manifest(dir / "bad.jsonl"); }, {where, "not valid JSON"});
    test::check_throws<io_error>([&] { pipelines::image_manifest(dir / "absent.jsonl"); }, {"absent.jsonl"});
}

TEST_CASE("pipelines.collection_sources: a text file's lines, blank ones included, named by line number" * doctest::test_suite("unit")) {
    const fs::path file = test::scratch_dir("collection_texts") / "texts.txt";
    test::write_file(file, "a cat\r\n\nthe last line");
    pipelines::text_lines texts(file);
    CHECK(std::string(texts.modality()) == "text");
    const std::string path = file.string();
    CHECK(collection_inputs(texts) == std::vector<std::string>{"1 -> " + path + " | a cat", "2 -> " + path, "3 -> " + path + " | the last line"});
}

TEST_CASE("pipelines.collection_layout: the N parts hold every shard once, in order, each a contiguous run" * doctest::test_suite("unit")) {
    for (std::size_t inputs = 0; inputs <= 40; ++inputs)
        for (std::size_t per_shard = 1; per_shard <= 7; ++per_shard)
            for (std::size_t n = 1; n <= 6; ++n) {
                std::size_t next_shard = 0, next_input = 0;
                for (std::size_t k = 1; k <= n; ++k) {
                    const pipelines::collection_layout layout{inputs, per_shard, {k, n}};
                    INFO(inputs, " inputs, ", per_shard, " per shard, part ", k, "/", n);
                    CHECK(layout.first_shard() == next_shard);
                    CHECK(layout.begin() == next_input);
                    for (std::size_t s = layout.first_shard(); s < layout.end_shard(); ++s) {
                        CHECK(layout.shard_begin(s) == s * per_shard);
                        CHECK(layout.shard_end(s) > layout.shard_begin(s));
                        CHECK(layout.shard_end(s) - layout.shard_begin(s) <= per_shard);
                    }
                    next_shard = layout.end_shard();
                    next_input = layout.end();
                }
                CHECK(next_shard == (inputs + per_shard - 1) / per_shard);
                CHECK(next_input == inputs);
            }
}

TEST_CASE("pipelines.collection_layout: K/N is read with 1 <= K <= N" * doctest::test_suite("unit")) {
    const auto part = pipelines::parse_collection_part("2/3");
    CHECK(part.index == 2);
    CHECK(part.count == 3);
    for (const char* bad : {"0/3", "4/3", "1/0", "3", "a/b", "", "1/", "/2", "-1/2", "1/3/4", "1 /3", "9999999999/9999999999"})
        test::check_throws<input_error>([&] { pipelines::parse_collection_part(bad); },
                                        {std::string("\"") + bad + "\"", "expected K/N with 1 <= K <= N"});
}
