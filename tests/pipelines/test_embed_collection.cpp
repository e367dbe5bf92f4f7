// pipelines::embed_collection: a collection into an embedding index whose rows are
// the embedder's own embeddings, every input in the manifest in order, failures
// with their error; a resumed run writes the bytes of an uninterrupted one.
#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/io/image.hpp"
#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/pipelines/clip_embedder.hpp"
#include "mmt/pipelines/embed_collection.hpp"
#include "mmt/pipelines/embedding_index.hpp"
#include "mmt/pipelines/embedding_index_format.hpp"
#include "mmt/pipelines/text_image_embedders.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/demo_model.hpp"
#include "support/files.hpp"
#include "support/image_collection.hpp"
#include "support/throws.hpp"
#include "support/tolerances.hpp"

using namespace mmt;
namespace fs = std::filesystem;
namespace format = mmt::pipelines::index_format;

namespace {

const pipelines::clip_embedder& collection_embedder() {
    static const auto embedder = pipelines::clip_embedder::from_pretrained(test::clip_demo_model_32px());
    return embedder;
}

std::vector<io::json> manifest_lines(const fs::path& index) {
    std::vector<io::json> lines;
    std::ifstream in(index / format::manifest_file);
    for (std::string line; std::getline(in, line);) lines.push_back(io::parse_json(line, "manifest"));
    return lines;
}

// Every file of a folder by name, with its bytes.
std::map<std::string, std::string> folder_bytes(const fs::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::directory_iterator(dir)) files[entry.path().filename().string()] = test::read_file(entry.path());
    return files;
}

pipelines::collection_progress embed_folder(const fs::path& images, const fs::path& out, pipelines::collection_options options) {
    pipelines::image_folder source(images);
    return pipelines::embed_collection(collection_embedder(), source, "clip-demo-32px", out, options);
}

// 30 images, every 7th bad; 8 inputs per shard (4 shards, the last of 6), forward passes of 3.
pipelines::collection_options small_run() {
    pipelines::collection_options options;
    options.batch_size = 3;
    options.inputs_per_shard = 8;
    options.decode_threads = 2;
    return options;
}

const test::image_collection_spec thirty_images{30, 8, 48, 8, 48, 7};

}  // namespace

TEST_CASE("pipelines.embed_collection: shards hold embed_images' rows, the manifest every input in order with failures' errors" *
          doctest::test_suite("unit")) {
    const fs::path images = test::scratch_dir("collection_images"), out = test::scratch_dir("collection_index") / "index";
    const auto files = test::write_image_collection(images, thirty_images);
    std::vector<pipelines::collection_progress> reports;
    pipelines::collection_options options = small_run();
    options.on_progress = [&](const pipelines::collection_progress& p) { reports.push_back(p); };
    const auto done = embed_folder(images, out, options);

    const auto bad = std::size_t(std::count_if(files.begin(), files.end(), [](const auto& f) { return !f.image; }));
    CHECK(done.total == 30);
    CHECK(done.done == 30);
    CHECK(done.failed == bad);
    CHECK(done.kept == 0);
    REQUIRE(!reports.empty());
    CHECK(reports.front().done == 0);
    CHECK(reports.back().done == 30);
    for (std::size_t i = 1; i < reports.size(); ++i) CHECK(reports[i].done >= reports[i - 1].done);

    const auto lines = manifest_lines(out);
    REQUIRE(lines.size() == files.size());
    std::vector<io::rgb_image> decoded;
    std::vector<float> rows;  // [embedded, dim] from the shards, in manifest order
    for (std::size_t i = 0; i < lines.size(); ++i) {
        INFO(lines[i].dump());
        CHECK(lines[i]["id"] == files[i].id);
        CHECK(lines[i]["path"] == (images / files[i].id).string());
        if (!files[i].image) {
            CHECK(lines[i]["error"].get<std::string>().find((images / files[i].id).string()) != std::string::npos);
            CHECK(!lines[i].contains("shard"));
            continue;
        }
        REQUIRE(lines[i].contains("shard"));
        CHECK(lines[i]["shard"] == i / 8);
        const io::safetensors_file shard(out / format::shard_file(lines[i]["shard"].get<std::size_t>()));
        const tensor<2> embeddings = shard.load<float, 2>(format::embeddings_tensor);
        const auto row = lines[i]["row"].get<std::size_t>();
        rows.insert(rows.end(), &embeddings(row, 0), &embeddings(row, 0) + embeddings.shape(1));
        decoded.push_back(io::read_image(images / files[i].id));
    }
    const tensor<2> expected = collection_embedder().embed_images(decoded);  // [embedded, dim]
    tensor<2> got = tensor<2>::from_shape({decoded.size(), expected.shape(1)});
    REQUIRE(rows.size() == got.size());
    std::copy(rows.begin(), rows.end(), got.begin());
    test::check_close(got, expected, test::tol::model_abs, "shard rows against embed_images");

    for (std::size_t s = 0; s < 4; ++s) {
        const io::safetensors_file shard(out / format::shard_file(s));
        CHECK(shard.metadata().at(format::model_key) == "clip-demo-32px");
        CHECK(shard.metadata().at(format::dim_key) == std::to_string(expected.shape(1)));
        CHECK(shard.metadata().at(format::modality_key) == "image");
    }
    CHECK_FALSE(fs::exists(out / format::shard_file(4)));
}

TEST_CASE("pipelines.embed_collection: a text that is not UTF-8 fails alone, the others are embed_texts' rows" *
          doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("collection_text_index");
    const std::vector<std::string> texts{"a cat", "bad \xff\xfe bytes", "", "a dog on a sofa"};
    std::string file;
    for (const auto& t : texts) file += t + "\n";
    test::write_file(dir / "texts.txt", file);
    pipelines::text_lines source(dir / "texts.txt");
    const auto done = pipelines::embed_collection(collection_embedder(), source, "clip-demo-32px", dir / "index", {});
    CHECK(done.failed == 1);
    const auto lines = manifest_lines(dir / "index");
    REQUIRE(lines.size() == 4);
    CHECK(lines[1]["id"] == "2");
    CHECK(lines[1]["error"].get<std::string>().find("invalid UTF-8") != std::string::npos);
    const tensor<2> embeddings = io::safetensors_file(dir / "index" / format::shard_file(0)).load<float, 2>(format::embeddings_tensor);
    CHECK(lines[3]["row"] == 2);
    test::check_close(embeddings, collection_embedder().embed_texts({texts[0], texts[2], texts[3]}), test::tol::model_abs,
                      "text rows against embed_texts");
    CHECK(io::safetensors_file(dir / "index" / format::shard_file(0)).metadata().at(format::modality_key) == "text");
}

TEST_CASE("pipelines.embed_collection: resumed after a torn manifest line and a lost shard, the index is byte for byte the full run's" *
          doctest::test_suite("unit")) {
    const fs::path images = test::scratch_dir("collection_resume_images"), dir = test::scratch_dir("collection_resume");
    test::write_image_collection(images, thirty_images);
    embed_folder(images, dir / "full", small_run());
    const auto full = folder_bytes(dir / "full");
    CHECK(full.size() == 6);  // 4 shards, the manifest and the run's settings

    // Killed while appending shard 2's lines, shard 3 not yet written: the manifest
    // ends inside line 20; shard 2 and the lines after shard 1's are done again.
    fs::copy(dir / "full", dir / "killed");
    const std::string manifest = full.at(format::manifest_file);
    std::size_t cut = 0;
    for (int line = 0; line < 19; ++line) cut = manifest.find('\n', cut) + 1;
    test::write_file(dir / "killed" / format::manifest_file, manifest.substr(0, cut + 10));
    fs::remove(dir / "killed" / format::shard_file(3));
    pipelines::collection_options resume = small_run();
    resume.resume = true;
    const auto done = embed_folder(images, dir / "killed", resume);
    CHECK(done.kept == 16);  // shards 0 and 1
    CHECK(done.done == 30);
    CHECK(folder_bytes(dir / "killed") == full);

    SUBCASE("resuming a finished run changes nothing") {
        CHECK(embed_folder(images, dir / "killed", resume).kept == 30);
        CHECK(folder_bytes(dir / "killed") == full);
    }
    SUBCASE("a shard file lost under complete lines is done again") {
        fs::remove(dir / "killed" / format::shard_file(1));
        CHECK(embed_folder(images, dir / "killed", resume).kept == 8);
        CHECK(folder_bytes(dir / "killed") == full);
    }
}

TEST_CASE("pipelines.embed_collection: a folder in use, other settings or a changed collection are refused" * doctest::test_suite("unit")) {
    const fs::path images = test::scratch_dir("collection_refused_images"), dir = test::scratch_dir("collection_refused");
    const auto files = test::write_image_collection(images, thirty_images);
    embed_folder(images, dir / "index", small_run());
    const std::string index = (dir / "index").string();
    test::check_throws<input_error>([&] { embed_folder(images, dir / "index", small_run()); },
                                    {index, "is not empty", "--resume"});
    pipelines::collection_options resume = small_run();
    resume.resume = true;
    resume.inputs_per_shard = 5;
    test::check_throws<input_error>([&] { embed_folder(images, dir / "index", resume); },
                                    {"cannot resume in '" + index + "'", "inputs_per_shard 8, this one 5"});
    resume.inputs_per_shard = 8;
    fs::rename(images / files[0].id, images / "d0" / "renamed.png");  // as many inputs, another first one
    test::check_throws<input_error>([&] { embed_folder(images, dir / "index", resume); },
                                    {"input 0 was \"" + files[0].id + "\" and is now \"" + files[1].id + "\"", "collection changed"});
    fs::create_directories(dir / "other");
    test::write_file(dir / "other" / "notes.txt", "mine");
    test::check_throws<input_error>([&] { embed_folder(images, dir / "other", resume); }, {"holds no embed-collection.json"});
}

TEST_CASE("pipelines.embed_collection: embedding_index opens what it wrote, a shard of failures included, and finds each image" *
          doctest::test_suite("unit")) {
    const fs::path images = test::scratch_dir("collection_searched_images"), out = test::scratch_dir("collection_searched") / "index";
    test::image_collection_spec spec;
    spec.count = 8;
    test::write_image_collection(images, spec);
    for (const char* name : {"zz/a.txt", "zz/b.txt", "zz/c.txt"}) {  // the last shard, none of them an image
        fs::create_directories((images / name).parent_path());
        test::write_file(images / name, "text");
    }
    pipelines::collection_options options = small_run();
    options.inputs_per_shard = 4;
    embed_folder(images, out, options);
    CHECK(io::safetensors_file(out / format::shard_file(2)).load<float, 2>(format::embeddings_tensor).shape(0) == 0);

    const pipelines::embedding_index index(out);
    CHECK(index.size() == 8);
    CHECK(index.failed() == 3);
    const auto lines = manifest_lines(out);
    std::vector<io::rgb_image> decoded;
    for (std::size_t i = 0; i < 8; ++i) decoded.push_back(io::read_image(lines[i]["path"].get<std::string>()));
    const auto hits = index.search(collection_embedder().embed_images(decoded), 1);
    for (std::size_t i = 0; i < 8; ++i) CHECK(hits[i].at(0).id == lines[i]["id"]);
}

TEST_CASE("pipelines.text_image_embedder: preprocess_image then embed_pixels is embed_images, for CLIP, SigLIP and Chinese-CLIP" *
          doctest::test_suite("unit")) {
    const auto image = io::read_image(test::data_path("clip-images/chelsea.png"));
    for (const auto& dir : {test::clip_demo_model(), test::siglip_tiny_model(), test::chinese_clip_tiny_model()}) {
        const auto embedder = pipelines::text_image_embedder_from_pretrained(dir);
        const tensor<3> pixels = embedder->preprocess_image(image);  // [3, height, width]
        const tensor<4> batch = xt::expand_dims(pixels, 0);
        test::check_close(embedder->embed_pixels(batch), embedder->embed_images({image}), 0.0, dir.filename().string());
    }
}

TEST_CASE("pipelines.embed_collection: an image whose resize would pass the pixel limit fails from its header, naming the file" *
          doctest::test_suite("unit")) {
    // 200000 x 1 resized to the demo model's shortest edge of 32 is 204.8 million pixels;
    // the file holds its header only, so the error shows the image was never decoded.
    const fs::path dir = test::scratch_dir("collection_thin_image");
    fs::create_directories(dir / "images");
    test::write_file(dir / "images" / "thin.png", test::png_header_only(200000, 1));
    const auto done = embed_folder(dir / "images", dir / "index", {});
    CHECK(done.failed == 1);
    const auto lines = manifest_lines(dir / "index");
    REQUIRE(lines.size() == 1);
    const std::string error = lines[0]["error"].get<std::string>();
    INFO(error);
    CHECK(error.find((dir / "images" / "thin.png").string()) != std::string::npos);
    CHECK(error.find("a 1x200000 image resized to shortest edge 32 would be 32x6400000") != std::string::npos);
}
