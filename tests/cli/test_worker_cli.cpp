// mmt worker as a pipeline stage would run it: JSON lines in, one result line per
// request out, in order, good and bad requests mixed, and the results equal to the
// library's; plus base64 decoding, which its "bytes" requests use.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/io/base64.hpp"
#include "mmt/io/image.hpp"
#include "mmt/io/json.hpp"
#include "mmt/pipelines/document_tagging.hpp"
#include "mmt/pipelines/text_image_embedders.hpp"
#include "mmt/pipelines/transcription.hpp"
#include "support/data.hpp"
#include "support/demo_model.hpp"
#include "support/layoutlm_model.hpp"
#include "support/programs.hpp"
#include "support/run.hpp"
#include "support/throws.hpp"

using namespace mmt;
using namespace mmt::test;
namespace fs = std::filesystem;

namespace {

std::string worker_base64(const std::string& bytes) { return io::encode_base64(bytes.data(), bytes.size()); }

std::string worker_file_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// Runs the worker on `lines` and returns its output lines, parsed.
std::vector<io::json> run_worker(const std::string& args, const std::vector<io::json>& lines, const std::string& raw_extra = "") {
    const fs::path dir = scratch_dir("worker_requests");
    const fs::path input = dir / "requests.jsonl";
    {
        std::ofstream out(input);
        for (const auto& l : lines) out << l.dump() << "\n";
        out << raw_extra;
    }
    const auto r = run(tool() + " worker " + args + " < " + quote(input.string()));
    CAPTURE(r.output);
    REQUIRE(r.exit_code == 0);
    std::vector<io::json> got;
    std::istringstream s(r.output);
    for (std::string line; std::getline(s, line);) got.push_back(io::json::parse(line));
    return got;
}

}  // namespace

TEST_CASE("io.base64: encodes and decodes RFC 4648 and refuses what is not canonical base64" * doctest::test_suite("unit")) {
    for (const std::string& text : std::vector<std::string>{"", "f", "fo", "foo", "foob", "fooba", "foobar", std::string("\0\xff\x80 bytes", 9)}) {
        const auto bytes = io::decode_base64(worker_base64(text), "test");
        CHECK(std::string(bytes.begin(), bytes.end()) == text);
    }
    CHECK(worker_base64("foobar") == "Zm9vYmFy");
    CHECK(worker_base64("f") == "Zg==");
    CHECK(worker_base64("fo") == "Zm8=");
    test::check_throws<input_error>([] { io::decode_base64("Zm9", "req"); }, {"req", "multiple of 4"});
    test::check_throws<input_error>([] { io::decode_base64("Zm 9", "req"); }, {"character 2", "not base64"});
    test::check_throws<input_error>([] { io::decode_base64("Zh==", "req"); }, {"bits that make no byte"});
    test::check_throws<input_error>([] { io::decode_base64("Z=9v", "req"); }, {"character 1"});
}

TEST_CASE("cli.worker: embed answers every request in order, texts and images batched, bad ones with their error" * doctest::test_suite("unit")) {
    const auto model = clip_demo_model();
    const fs::path chelsea = data_path("clip-images/chelsea.png"), rocket = data_path("clip-images/rocket.jpg");
    const std::vector<io::json> requests = {
        {{"id", 1}, {"text", "a photo of a cat"}},
        {{"id", "two"}, {"path", chelsea.string()}},
        {{"id", 3}, {"bytes", worker_base64(worker_file_bytes(rocket))}},
        {{"id", 4}, {"path", "/no/such/image.png"}},
        {{"id", 5}, {"bytes", "not base64!"}},
        {{"text", "no id"}},
        {{"id", 7}, {"text", "a rocket"}},
        {{"id", 8}, {"bytes", worker_base64("not an image")}},
    };
    const auto embedder = pipelines::text_image_embedder_from_pretrained(model);
    const tensor<2> texts = embedder->embed_texts({"a photo of a cat", "a rocket"});
    const tensor<2> images = embedder->embed_images({io::read_image(chelsea), io::read_image(rocket)});
    for (const char* batch : {"1", "3"}) {
        CAPTURE(batch);
        const auto got = run_worker("--model " + quote(model.string()) + " --task embed --batch-size " + batch, requests, "{not json\n\n");
        REQUIRE(got.size() == requests.size() + 1);  // the blank line is skipped, the broken one answered
        const auto expect = [&](std::size_t line, const tensor<2>& e, std::size_t row) {
            const auto v = got[line]["embedding"].get<std::vector<float>>();
            REQUIRE(v.size() == e.shape(1));
            for (std::size_t k = 0; k < v.size(); ++k) CHECK(v[k] == doctest::Approx(e(row, k)).epsilon(1e-5));
        };
        CHECK(got[0]["id"] == 1);
        expect(0, texts, 0);
        CHECK(got[1]["id"] == "two");
        expect(1, images, 0);
        expect(2, images, 1);
        CHECK(got[3]["error"].get<std::string>().find("/no/such/image.png") != std::string::npos);
        CHECK(got[4]["error"].get<std::string>().find("request 5: \"bytes\"") != std::string::npos);
        CHECK(got[5]["id"].is_null());
        CHECK(got[5]["error"].get<std::string>().find("expected an \"id\"") != std::string::npos);
        CHECK(got[6]["id"] == 7);
        expect(6, texts, 1);
        CHECK(got[7]["id"] == 8);
        CHECK(got[7].contains("error"));
        CHECK(got[8]["id"].is_null());
        CHECK(got[8]["error"].get<std::string>().find("request 9") != std::string::npos);
        for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i].contains("error") != got[i].contains("embedding"));
    }
}

TEST_CASE("cli.worker: transcribe, classify-image and tag-document give the library's results" * doctest::test_suite("unit")) {
    const fs::path wav = data_path("wav2vec2-audio/speech_22050.wav");
    const auto speech = run_worker("--model " + quote(data_path("wav2vec2-tiny-ctc").string()) + " --task transcribe",
                                   {{{"id", "a"}, {"path", wav.string()}, {"timestamps", "word"}},
                                    {{"id", "b"}, {"bytes", worker_base64(worker_file_bytes(wav))}},
                                    {{"id", "c"}, {"path", wav.string()}, {"timestamps", "word"}, {"chunk_seconds", -1}}});
    REQUIRE(speech.size() == 3);
    pipelines::transcription_options words;
    words.chunk_length_s = 30;
    words.timestamps = pipelines::timestamp_level::word;
    const auto expected = pipelines::speech_recognizer::from_pretrained(data_path("wav2vec2-tiny-ctc")).transcribe_file(wav, words);
    CHECK(speech[0]["text"] == expected.text);
    REQUIRE(speech[0]["chunks"].size() == expected.chunks.size());
    CHECK(speech[1]["text"] == expected.text);
    CHECK(!speech[1].contains("chunks"));
    CHECK(speech[2]["error"].get<std::string>().find("chunk_seconds") != std::string::npos);

    const auto labels = run_worker("--model " + quote(clip_demo_model().string()) + " --task classify-image",
                                   {{{"id", 1}, {"path", data_path("clip-images/chelsea.png").string()}, {"labels", {"cat", "rocket"}}},
                                    {{"id", 2}, {"path", data_path("clip-images/chelsea.png").string()}}});
    REQUIRE(labels.size() == 2);
    REQUIRE(labels[0]["labels"].size() == 2);
    CHECK(labels[0]["labels"][0]["score"].get<float>() >= labels[0]["labels"][1]["score"].get<float>());
    CHECK(labels[1]["error"].get<std::string>().find("\"labels\"") != std::string::npos);

    const std::string invoice = (fs::path(MMT_EXAMPLES_SRC_DIR) / "layoutlm_tag_document" / "invoice_ocr.json").string();
    const auto tags = run_worker("--model " + quote(layoutlm_token_cls_model().string()) + " --task tag-document",
                                 {{{"id", 1}, {"path", invoice}},
                                  {{"id", 2}, {"document", io::read_json_file(invoice)}},
                                  {{"id", 3}, {"document", {{"width", 10}}}},
                                  {{"id", 4}, {"path", invoice}, {"image", data_path("clip-images/chelsea.png").string()}}});
    REQUIRE(tags.size() == 4);
    const auto want = pipelines::document_model::from_pretrained(layoutlm_token_cls_model()).tag(pipelines::ocr_document::from_file(invoice));
    REQUIRE(tags[0]["words"].size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) CHECK(tags[0]["words"][i]["label"] == want[i].label);
    CHECK(tags[1]["words"] == tags[0]["words"]);
    CHECK(tags[2]["error"].get<std::string>().find("request 3: \"document\"") != std::string::npos);
    CHECK(tags[3]["error"].get<std::string>().find("reads none") != std::string::npos);
}
