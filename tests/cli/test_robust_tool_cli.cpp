// The tool's edges from docs/robustness.md's second round: option bounds, bounded
// batches and NaN outputs, each a one-line error or a bounded run.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "mmt/io/image.hpp"
#include "support/data.hpp"
#include "support/demo_model.hpp"
#include "support/files.hpp"
#include "support/image_collection.hpp"
#include "support/layoutlm_model.hpp"
#include "support/peak_memory.hpp"
#include "support/programs.hpp"
#include "support/run.hpp"

using namespace mmt;
using namespace mmt::test;
namespace fs = std::filesystem;

namespace {
// One line on stderr, a non-zero exit, and every part in it.
void check_tool_refuses(const std::string& command, const std::vector<std::string>& parts) {
    const auto r = run(command, true);
    CAPTURE(command);
    CAPTURE(r.output);
    CHECK(r.exit_code > 0);
    CHECK(count_lines(r.output) == 1);
    CHECK(r.output.rfind("mmt: error: ", 0) == 0);
    for (const auto& part : parts) CHECK_MESSAGE(r.output.find(part) != std::string::npos, "lacks \"" << part << "\"");
}

// A copy of `model`'s whole folder whose tensor `name` is all NaN.
fs::path with_nan_tensor(const fs::path& model, const std::string& folder, const std::string& name) {
    const fs::path dir = scratch_dir(folder);
    fs::copy(model, dir, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    bool found = false;
    rewrite_checkpoint(dir, [&](const std::string& n, dyn_tensor<float>& t) {
        if (n == name) std::fill(t.begin(), t.end(), std::numeric_limits<float>::quiet_NaN()), found = true;
        return true;
    });
    REQUIRE(found);
    return dir;
}
}  // namespace

// CLI11's PositiveNumber printed DBL_MAX with std::to_string, 309 digits.
TEST_CASE("cli.options: a numeric option out of range is one line with its real bounds" * doctest::test_suite("unit")) {
    const std::string model = quote(clip_demo_model().string());
    check_tool_refuses(tool() + " --threads 0 inspect x", {"--threads: expected an integer >= 1, got \"0\""});
    check_tool_refuses(tool() + " --threads 1e400 inspect x", {"--threads: expected an integer >= 1, got \"1e400\""});
    check_tool_refuses(tool() + " search --model " + model + " --query a --top-k -1 x.png", {"--top-k: expected an integer >= 1, got \"-1\""});
    check_tool_refuses(tool() + " tag-document --model x o.json --stride -1", {"--stride: expected an integer >= 0, got \"-1\""});
    check_tool_refuses(tool() + " transcribe --model x a.wav --chunk-seconds nan", {"--chunk-seconds: expected a number >= 0, got \"nan\""});
    check_tool_refuses(tool() + " transcribe --model x a.wav --format srt --max-cue-seconds 0",
                       {"--max-cue-seconds: expected a number > 0, got \"0\""});
    check_tool_refuses(tool() + " answer --model x o.json --question q --top-k 1001", {"--top-k: expected an integer in 1..1000, got \"1001\""});
    const auto r = run(tool() + " --threads 0 inspect x", true);
    CHECK(r.output.size() < 120);
}

// embed decoded every image before the first forward pass: 40 images of 2000 x 2000
// (12 MB each decoded) peaked at 518 MB.
TEST_CASE("cli.embed: images are decoded a group at a time, so 40 large images cost one" * doctest::test_suite("unit")) {
    const fs::path dir = scratch_dir("cli_embed_bounded");
    io::rgb_image image{2000, 2000, std::vector<std::uint8_t>(std::size_t{2000} * 2000 * 3, 128)};
    write_file(dir / "large.png", encode_png(image));
    std::string images;
    for (int i = 0; i < 40; ++i) images += " " + quote((dir / "large.png").string());
    const std::size_t peak = peak_rss_of(tool() + " --threads 1 embed --model " + quote(clip_demo_model().string()) + " --image" + images +
                                         " --out " + quote((dir / "e.safetensors").string()));
    REQUIRE(peak > 0);  // it ran and succeeded
    MESSAGE("mmt embed of 40 images of 2000 x 2000: peak RSS ", double(peak) * 1e-6, " MB");
    if (peak_is_measurable) CHECK(peak < std::size_t{200} << 20);
}

// Weights that hold NaN gave NaN embeddings and scores with exit 0.
TEST_CASE("cli.numeric: NaN weights are a one-line error naming the output, not NaN results" * doctest::test_suite("unit")) {
    const fs::path clip = with_nan_tensor(clip_demo_model(), "cli_nan_clip", "visual_projection.weight");
    const std::string cat = quote(data_path("clip-images/chelsea.png").string());
    check_tool_refuses(tool() + " embed --model " + quote(clip.string()) + " --image " + cat + " --out " +
                           quote((clip / "e.safetensors").string()),
                       {"embed: image_embeds: value 0 of 32 is NaN", "weights hold NaN"});
    check_tool_refuses(tool() + " classify-image --model " + quote(clip.string()) + " " + cat + " --labels cat,dog",
                       {"classify-image: the score of result 0 of 2 is NaN"});
    check_tool_refuses(tool() + " search --model " + quote(clip.string()) + " --query cat " + cat, {"search: the images' embeddings"});
    const fs::path tagger = with_nan_tensor(layoutlm_token_cls_model(), "cli_nan_layoutlm", "classifier.weight");
    const std::string invoice = (fs::path(MMT_EXAMPLES_SRC_DIR) / "layoutlm_tag_document" / "invoice_ocr.json").string();
    check_tool_refuses(tool() + " tag-document --model " + quote(tagger.string()) + " " + quote(invoice),
                       {"tag-document: the score of result 0 of", "is NaN"});
}
