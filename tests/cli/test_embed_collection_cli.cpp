// mmt embed-collection as a user runs it: thousands of images, some damaged, in
// bounded memory; killed and resumed; split into parts; bad arguments.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/io/json.hpp"
#include "mmt/pipelines/embedding_index_format.hpp"
#include "support/data.hpp"
#include "support/demo_model.hpp"
#include "support/files.hpp"
#include "support/image_collection.hpp"
#include "support/peak_memory.hpp"
#include "support/programs.hpp"

using namespace mmt;
using namespace mmt::test;
namespace fs = std::filesystem;
namespace format = mmt::pipelines::index_format;

namespace {

// `mmt embed-collection` on the 32-pixel demo model with `arguments`.
std::string embed_collection_command(const std::string& arguments) {
    return tool() + " --threads 1 embed-collection --model " + quote(clip_demo_model_32px().string()) + " " + arguments;
}

std::string collection_images_and_out(const fs::path& images, const fs::path& out) {
    return "--images " + quote(images.string()) + " --out " + quote(out.string());
}

std::map<std::string, std::string> collection_files(const fs::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::directory_iterator(dir)) files[entry.path().filename().string()] = read_file(entry.path());
    return files;
}

}  // namespace

TEST_CASE("cli.embed_collection: 2000 images, some damaged or not images, in model size + 200 MB; each failure in the manifest" *
          doctest::test_suite("unit")) {
    const fs::path images = scratch_dir("cli_collection_2000"), out = scratch_dir("cli_collection_2000_index") / "index";
    const auto files = write_image_collection(images, {2000, 8, 64, 8, 64, 50});
    const finished_process result = wait_for(spawn(embed_collection_command(collection_images_and_out(images, out) + " --quiet")));
    CHECK(result.exit_code == 2);  // finished, with failures

    const double model_bytes = double(fs::file_size(clip_demo_model_32px() / "model.safetensors"));
    MESSAGE("embed-collection of 2000 images: peak RSS ", double(result.peak_rss) * 1e-6, " MB, model ", model_bytes * 1e-6, " MB");
    if (peak_is_measurable) CHECK(double(result.peak_rss) <= model_bytes + 200e6);

    std::ifstream manifest(out / format::manifest_file);
    std::size_t i = 0, failed = 0;
    for (std::string line; std::getline(manifest, line); ++i) {
        REQUIRE(i < files.size());
        const io::json entry = io::parse_json(line, "manifest");
        INFO(line);
        CHECK(entry["id"] == files[i].id);
        CHECK(entry.contains("error") == !files[i].image);
        CHECK(entry.contains("row") == files[i].image);
        if (!files[i].image) {
            ++failed;
            CHECK(entry["error"].get<std::string>().find((images / files[i].id).string()) != std::string::npos);
        }
    }
    CHECK(i == 2000);
    CHECK(failed == 40);
}

TEST_CASE("cli.embed_collection: killed with SIGKILL and resumed, the shards and manifest of an uninterrupted run" *
          doctest::test_suite("unit")) {
    const fs::path images = scratch_dir("cli_collection_killed"), dir = scratch_dir("cli_collection_killed_index");
    write_image_collection(images, {2000, 8, 64, 8, 64, 50});
    const std::string options = " --inputs-per-shard 50 --batch-size 4 --quiet";
    REQUIRE(run(embed_collection_command(collection_images_and_out(images, dir / "full") + options)).exit_code == 2);

    const pid_t pid = spawn(embed_collection_command(collection_images_and_out(images, dir / "killed") + options));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(dir / "killed" / format::shard_file(2)) && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ::kill(pid, SIGKILL);
    CHECK(wait_for(pid).exit_code == -1);  // killed, not finished
    const std::size_t lines_when_killed = count_lines(read_file(dir / "killed" / format::manifest_file));
    MESSAGE("killed with ", lines_when_killed, " of 2000 manifest lines written");
    REQUIRE(lines_when_killed < 2000);

    CHECK(run(embed_collection_command(collection_images_and_out(images, dir / "killed") + options + " --resume")).exit_code == 2);
    CHECK(collection_files(dir / "killed") == collection_files(dir / "full"));
}

TEST_CASE("cli.embed_collection: --shard 1/3, 2/3 and 3/3 together are the full run" * doctest::test_suite("unit")) {
    const fs::path images = scratch_dir("cli_collection_parts"), dir = scratch_dir("cli_collection_parts_index");
    write_image_collection(images, {100, 8, 64, 8, 64, 9});
    const std::string options = " --inputs-per-shard 9 --batch-size 4 --quiet";  // 12 shards: parts of 4, 4 and 4
    REQUIRE(run(embed_collection_command(collection_images_and_out(images, dir / "full") + options)).exit_code == 2);
    std::map<std::string, std::string> shards;
    std::string manifest;
    for (const char* part : {"1/3", "2/3", "3/3"}) {
        const fs::path out = dir / ("part" + std::string(1, part[0]));
        REQUIRE(run(embed_collection_command(collection_images_and_out(images, out) + options + " --shard " + part)).exit_code == 2);
        for (auto& [name, bytes] : collection_files(out)) {
            if (name == format::manifest_file) manifest += bytes;
            else if (name != "embed-collection.json") CHECK(shards.emplace(name, bytes).second);  // no shard twice
        }
    }
    auto full = collection_files(dir / "full");
    CHECK(manifest == full.at(format::manifest_file));
    full.erase(format::manifest_file);
    full.erase("embed-collection.json");
    CHECK(shards.size() == 12);
    CHECK(shards == full);
}

TEST_CASE("cli.embed_collection: texts; a summary on stderr, nothing with --quiet, a progress bar on a terminal; exit 0" *
          doctest::test_suite("unit")) {
    const fs::path dir = scratch_dir("cli_collection_texts");
    write_file(dir / "texts.txt", "a cat\na dog\na photo of a rocket\n");
    const std::string texts = "--texts " + quote((dir / "texts.txt").string()) + " --out ";
    const auto plain = run(embed_collection_command(texts + quote((dir / "plain").string())), true);
    CHECK(plain.exit_code == 0);
    CHECK(plain.output == "mmt embed-collection: 3 of 3 texts embedded into " + (dir / "plain").string() + "\n");

    const auto quiet = run(embed_collection_command(texts + quote((dir / "quiet").string()) + " --quiet"), true);
    CHECK(quiet.exit_code == 0);
    CHECK(quiet.output.empty());
    CHECK(collection_files(dir / "quiet") == collection_files(dir / "plain"));

    // script(1) gives the command a terminal
    const auto terminal = run("script -qec " + quote(embed_collection_command(texts + quote((dir / "terminal").string()))) + " /dev/null");
    INFO(terminal.output);
    CHECK(terminal.exit_code == 0);
    CHECK(terminal.output.find("\r[##############################] 3/3") != std::string::npos);
    CHECK(terminal.output.find(" texts/s  ETA 0:00") != std::string::npos);
}

TEST_CASE("cli.embed_collection: bad arguments are one clear error line" * doctest::test_suite("unit")) {
    const fs::path dir = scratch_dir("cli_collection_errors");
    write_file(dir / "texts.txt", "a cat\n");
    const std::string texts = "--texts " + quote((dir / "texts.txt").string());
    REQUIRE(run(embed_collection_command(texts + " --out " + quote((dir / "index").string()) + " --quiet")).exit_code == 0);
    const fs::path other_model = dir / "other-model";
    fs::copy(clip_demo_model_32px(), other_model);

    const std::string index = quote((dir / "index").string()), fresh = quote((dir / "fresh").string());
    const struct {
        std::string arguments, message;
    } cases[] = {
        {texts + " --out " + fresh + " --shard 4/3", "collection part \"4/3\": expected K/N with 1 <= K <= N"},
        {texts + " --out " + fresh + " --shard 0/3", "collection part \"0/3\""},
        {texts + " --out " + fresh + " --shard 2", "collection part \"2\""},
        {"--out " + fresh, "give the inputs with --images DIR, --manifest FILE.jsonl or --texts FILE"},
        {texts + " --images " + quote(dir.string()) + " --out " + fresh, "--images excludes --texts"},
        {texts + " --out " + fresh + " --batch-size 0", "--batch-size"},
        {texts + " --out " + index, "output folder '" + (dir / "index").string() + "' is not empty"},
        {texts + " --out " + quote(dir.string()) + " --resume", "holds no embed-collection.json"},
        {"--images " + quote((dir / "texts.txt").string()) + " --out " + fresh, "not a folder"},
    };
    for (const auto& c : cases) {
        const auto r = run(embed_collection_command(c.arguments), true);
        INFO(c.arguments, "\n", r.output);
        CHECK(r.exit_code != 0);
        CHECK(r.exit_code != 2);  // that one says some inputs failed
        CHECK(count_lines(r.output) == 1);
        CHECK(r.output.find("mmt: error: ") == 0);
        CHECK(r.output.find(c.message) != std::string::npos);
    }
    const auto r = run(tool() + " embed-collection --model " + quote(other_model.string()) + " " + texts + " --out " + index + " --resume", true);
    CHECK(r.exit_code == 1);
    CHECK(r.output.find("cannot resume in '" + (dir / "index").string() + "': the run there has model \"mmt_test_") != std::string::npos);
    CHECK(r.output.find(", this one \"other-model\"") != std::string::npos);
    CHECK_FALSE(fs::exists(dir / "fresh"));
}
