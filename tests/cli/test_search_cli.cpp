// mmt search run as a user would, over an index folder in embed-collection's
// layout, built here from the demo model's own image embeddings (mmt embed), and
// over image files as before: the same hits both ways, each image first for
// itself, and one readable line for every wrong combination.
#include <filesystem>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/pipelines/embedding_index_format.hpp"
#include "support/data.hpp"
#include "support/demo_model.hpp"
#include "support/embedding_index.hpp"
#include "support/files.hpp"
#include "support/programs.hpp"

using namespace mmt;
using namespace mmt::test;

namespace {

const std::vector<std::string> searched_images{"astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg"};

std::string searched_image(const std::string& name) { return data_path("clip-images/" + name).string(); }

std::string search_command() { return tool() + " search --model " + quote(clip_demo_model().string()); }

// The demo model's embeddings of the four images, from `mmt embed`.
const tensor<2>& searched_embeddings() {
    static const tensor<2> embeds = [] {
        const auto file = scratch_dir("cli_search_embed") / "e.safetensors";
        std::string command = tool() + " embed --model " + quote(clip_demo_model().string()) + " --out " + quote(file.string()) + " --image";
        for (const auto& name : searched_images) command += " " + quote(searched_image(name));
        REQUIRE(run(command).exit_code == 0);
        return io::safetensors_file(file).load<float, 2>("image_embeds");
    }();
    return embeds;
}

// An index of them in shards of 3 and 1, embedded by `model`.
std::filesystem::path searched_index(const std::string& name, const std::string& model) {
    const auto dir = scratch_dir(name);
    std::vector<index_input> inputs;
    for (const auto& image : searched_images) inputs.push_back({image, searched_image(image)});
    const tensor<2>& all = searched_embeddings();
    write_index(dir, {xt::view(all, xt::range(0, 3)), xt::view(all, xt::range(3, 4))}, model, inputs);
    return dir;
}

const std::filesystem::path& demo_index() {
    static const auto dir = searched_index("cli_search_index", pipelines::index_format::model_name(clip_demo_model()));
    return dir;
}

}  // namespace

TEST_CASE("cli.search: --index finds each image first for itself, and gives the hits of searching the files, in one JSON document" *
          doctest::test_suite("unit")) {
    const std::string queries = " --query 'a photo of a cat' --image " + quote(searched_image("rocket.jpg")) + " --image " +
                                quote(searched_image("chelsea.png")) + " --top-k 2 --json";
    const auto indexed = run(search_command() + " --index " + quote(demo_index().string()) + queries);
    REQUIRE(indexed.exit_code == 0);
    const auto results = io::json::parse(indexed.output)["results"];
    REQUIRE(results.size() == 3);
    CHECK(results[0]["modality"] == "text");
    CHECK(results[0]["query"] == "a photo of a cat");
    CHECK(results[2]["modality"] == "image");
    CHECK(results[2]["query"] == searched_image("chelsea.png"));
    for (const auto& [q, best] : {std::pair{1, "rocket.jpg"}, std::pair{2, "chelsea.png"}}) {
        const auto hits = results[q]["hits"];
        REQUIRE(hits.size() == 2);
        CHECK(hits[0]["rank"] == 1);
        CHECK(hits[1]["rank"] == 2);
        CHECK(hits[0]["id"] == best);
        CHECK(hits[0]["path"] == searched_image(best));
        CHECK(hits[0]["score"].get<double>() == doctest::Approx(1.0).epsilon(1e-5));
        CHECK(hits[1]["score"].get<double>() < hits[0]["score"].get<double>());
    }

    std::string files;
    for (const auto& name : searched_images) files += " " + quote(searched_image(name));
    const auto direct = run(search_command() + queries + files);
    REQUIRE(direct.exit_code == 0);
    const auto expected = io::json::parse(direct.output)["results"];
    REQUIRE(expected.size() == 3);
    for (std::size_t q = 0; q < 3; ++q)
        for (std::size_t h = 0; h < 2; ++h) {
            INFO("query ", q, ", hit ", h);
            CHECK(results[q]["hits"][h]["path"] == expected[q]["hits"][h]["path"]);
            CHECK(results[q]["hits"][h]["score"].get<double>() == doctest::Approx(expected[q]["hits"][h]["score"].get<double>()).epsilon(1e-5));
        }
}

TEST_CASE("cli.search: text output, one query as before and several under their names" * doctest::test_suite("unit")) {
    const std::string index = " --index " + quote(demo_index().string());
    const auto one = run(search_command() + index + " --image " + quote(searched_image("coffee.png")));
    REQUIRE(one.exit_code == 0);
    CHECK(count_lines(one.output) == 4);  // every row: the default of 10 is more
    CHECK(one.output.rfind("1. 1.0000  " + searched_image("coffee.png") + "\n", 0) == 0);

    const auto two = run(search_command() + index + " --query cat --query dog --top-k 1");
    REQUIRE(two.exit_code == 0);
    CHECK(count_lines(two.output) == 5);
    CHECK(two.output.rfind("text: cat\n1. ", 0) == 0);
    CHECK(two.output.find("\n\ntext: dog\n1. ") != std::string::npos);

    // Image files as before, with an image as the query.
    const auto files = run(search_command() + " --image " + quote(searched_image("chelsea.png")) + " --top-k 1 " +
                           quote(searched_image("rocket.jpg")) + " " + quote(searched_image("chelsea.png")));
    REQUIRE(files.exit_code == 0);
    CHECK(files.output == "1. 1.0000  " + searched_image("chelsea.png") + "\n");
}

TEST_CASE("cli.search: another model's index, files with --index, no query are one line and a non-zero exit" * doctest::test_suite("unit")) {
    const auto other = searched_index("cli_search_other", "someone/else");
    const struct {
        std::string arguments, message;
    } cases[] = {
        {" --query cat --index " + quote(other.string()), "holds embeddings of model 'someone/else', not of"},
        {" --query cat --index " + quote(demo_index().string()) + " " + quote(searched_image("chelsea.png")), "not both"},
        {" --query cat", "nothing to search in"},
        {" --index " + quote(demo_index().string()), "nothing to search for"},
        {" --query cat --top-k 0 --index " + quote(demo_index().string()), "--top-k"},
    };
    for (const auto& c : cases) {
        const auto r = run(search_command() + c.arguments, true);
        INFO(c.arguments, ": ", r.output);
        CHECK(r.exit_code != 0);
        CHECK(count_lines(r.output) == 1);
        CHECK(r.output.find(c.message) != std::string::npos);
    }
}
