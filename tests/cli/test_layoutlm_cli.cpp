// The mmt tool's LayoutLM side, run as a user would: tokenize (WordPiece texts and
// words + boxes), tag-document, classify-document, and random-model + forward for
// every LayoutLM architecture.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/pipelines/document_tagging.hpp"
#include "support/check_close.hpp"
#include "support/data.hpp"
#include "support/demo_model.hpp"
#include "support/files.hpp"
#include "support/layoutlm_model.hpp"
#include "support/programs.hpp"
#include "support/tolerances.hpp"
#include "support/tool_forward.hpp"

using namespace mmt;
using namespace mmt::test;
namespace fs = std::filesystem;

namespace {

const std::string invoice_json = (fs::path(MMT_EXAMPLES_SRC_DIR) / "layoutlm_tag_document" / "invoice_ocr.json").string();

fs::path write_json(const fs::path& dir, const std::string& name, const io::json& j) {
    std::ofstream(dir / name) << j.dump();
    return dir / name;
}

// A random checkpoint of layoutlm-tiny-token-cls's config, `edit`ed, with its tokenizer files, in scratch folder `name`/model.
fs::path random_layoutlm_model(const std::string& name, const std::function<void(io::json&)>& edit) {
    const auto dir = scratch_dir(name);
    io::json config = io::read_json_file(layoutlm_token_cls_model() / "config.json");
    edit(config);
    write_json(dir, "config.json", config);
    REQUIRE(run(tool() + " random-model --config " + quote((dir / "config.json").string()) + " --out " + quote((dir / "model").string())).exit_code == 0);
    for (const char* f : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"})
        fs::copy_file(layoutlm_token_cls_model() / f, dir / "model" / f);
    return dir / "model";
}

// A failure is exactly one line on stderr, a non-zero exit and names what went wrong.
void check_one_line_error(const std::string& command, const std::vector<std::string>& parts) {
    const auto r = run(command, true);
    CAPTURE(command);
    CAPTURE(r.output);
    CHECK(r.exit_code != 0);
    CHECK(count_lines(r.output) == 1);
    CHECK(r.output.rfind("mmt: error: ", 0) == 0);
    for (const auto& part : parts) CHECK_MESSAGE(r.output.find(part) != std::string::npos, "lacks \"" << part << "\"");
}

}  // namespace

TEST_CASE("cli.layoutlm: tokenize, tag-document, classify-document and answer answer --help" * doctest::test_suite("unit")) {
    for (const char* sub : {"tokenize", "tag-document", "classify-document", "answer"}) {
        const auto r = run(tool() + " " + sub + " --help");
        INFO(sub);
        CHECK(r.exit_code == 0);
        CHECK(r.output.find("Usage:") != std::string::npos);
    }
    CHECK(run(tool() + " tokenize --help").output.find("--words-json") != std::string::npos);
    CHECK(run(tool() + " tag-document --help").output.find("--clamp-boxes") != std::string::npos);
}

TEST_CASE("cli.layoutlm: tokenize --words-json equals HF on every boxed fixture case" * doctest::test_suite("unit")) {
    const auto dir = scratch_dir("cli_layoutlm_words");
    const auto cases = io::read_json_file(data_path("layoutlm-tokenizer/boxed_cases.json"))["cases"];
    std::size_t exact = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        const auto file = write_json(dir, "case" + std::to_string(i) + ".json",
                                     {{"words", c["words"]}, {"boxes", c["boxes"]}, {"max_length", c["max_length"]}});
        const auto r = run(tool() + " tokenize --model " + quote(data_path("layoutlm-tokenizer").string()) + " --words-json " + quote(file.string()));
        REQUIRE(r.exit_code == 0);
        REQUIRE(count_lines(r.output) == 1);
        CHECK(r.output.rfind("{\"input_ids\":", 0) == 0);
        const auto got = io::json::parse(r.output);
        const std::vector<std::string> keys = {"input_ids", "bbox", "attention_mask", "token_type_ids"};
        std::size_t at = 0;
        for (const auto& key : keys) {  // in this order
            const auto pos = r.output.find("\"" + key + "\":");
            CHECK(pos != std::string::npos);
            CHECK(pos >= at);
            at = pos;
        }
        CHECK(got.size() == 4);
        bool same = true;
        for (const auto& key : keys) {
            CHECK(got[key] == c[key]);
            same = same && got[key] == c[key];
        }
        exact += same;
    }
    MESSAGE("mmt tokenize --words-json: ", exact, " of ", cases.size(), " boxed fixture cases exact");
    CHECK(exact == cases.size());
}

TEST_CASE("cli.layoutlmv3: tokenize --words-json equals HF on every layoutlmv3-tokenizer case, labels and question pairs included" *
          doctest::test_suite("unit")) {
    const auto dir = scratch_dir("cli_layoutlmv3_words");
    const auto cases = io::read_json_file(data_path("layoutlmv3-tokenizer/cases.json"))["cases"];
    std::size_t exact = 0;
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        CAPTURE(i);
        io::json input{{"words", c["words"]}, {"boxes", c["boxes"]}, {"max_length", c["max_length"]}};
        for (const char* key : {"word_labels", "question"})
            if (c.contains(key)) input[key] = c[key];
        const auto file = write_json(dir, "case" + std::to_string(i) + ".json", input);
        const auto r = run(tool() + " tokenize --model " + quote(data_path("layoutlmv3-tokenizer").string()) + " --words-json " + quote(file.string()));
        REQUIRE(r.exit_code == 0);
        const auto got = io::json::parse(r.output);
        bool same = got.size() == (c.contains("labels") ? 4u : 3u);  // RoBERTa's tokenizer returns no token_type_ids
        for (const char* key : {"input_ids", "bbox", "attention_mask", "labels"})
            if (c.contains(key)) {
                CHECK(got[key] == c[key]);
                same = same && got[key] == c[key];
            }
        exact += same;
    }
    MESSAGE("mmt tokenize --words-json (LayoutLMv3): ", exact, " of ", cases.size(), " fixture cases exact");
    CHECK(exact == cases.size());

    // WordPiece makes BERT's pair: [CLS] total ? [SEP] total [SEP], the words' part of token type 1.
    const auto pair = write_json(dir, "pair.json", {{"words", {"total"}}, {"boxes", {{1, 2, 3, 4}}}, {"question", "total?"}, {"max_length", 6}});
    const auto bert = run(tool() + " tokenize --model " + quote(data_path("layoutlm-tokenizer").string()) + " --words-json " + quote(pair.string()));
    REQUIRE(bert.exit_code == 0);
    const auto got = io::json::parse(bert.output);
    CHECK(got["input_ids"] == io::json{2, 16, 99, 3, 16, 3});
    CHECK(got["token_type_ids"] == io::json{0, 0, 0, 0, 1, 1});
    CHECK(got["bbox"] == io::json{{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}, {1000, 1000, 1000, 1000}, {1, 2, 3, 4}, {1000, 1000, 1000, 1000}});
}

TEST_CASE("cli.layoutlm: numbers of a --words-json file out of range are one-line errors naming the key, the range and the value" *
          doctest::test_suite("unit")) {
    // Converted unchecked, -1 wrapped to the largest size_t, 1e8 padded to 10^8 ids, 2^40
    // was a bad_alloc and a box of 1e300 became -9223372036854775808 (an undefined cast).
    const auto dir = scratch_dir("cli_words_numbers");
    const std::string tokenize = tool() + " tokenize --model " + quote(data_path("layoutlm-tokenizer").string()) + " --words-json ";
    const auto file = [&](const char* name, const std::string& text) {
        std::ofstream(dir / name) << text;
        return quote((dir / name).string());
    };
    const std::string words = R"("words": ["total"], "boxes": [[1, 2, 3, 4]])";
    for (const auto& [value, shown] : std::vector<std::pair<std::string, std::string>>{
             {"-1", "-1"}, {"1e8", "100000000.0"}, {"1099511627776", "1099511627776"}, {"0", "0"}})
        check_one_line_error(tokenize + file("length.json", "{" + words + ", \"max_length\": " + value + "}"),
                             {"length.json: key \"max_length\" should be an integer in 1..1048576, got " + shown});
    check_one_line_error(tokenize + file("box.json", R"({"words": ["total"], "boxes": [[1, 2, 1e300, 4]]})"),
                         {"box.json: key \"boxes[0][2]\" should be an integer in -9223372036854775808..9223372036854775807, got 1e+300"});
    check_one_line_error(tokenize + file("labels.json", "{" + words + R"(, "word_labels": [2.5]})"),
                         {"labels.json: key \"word_labels[0]\" should be an integer", "got 2.5"});
    const auto r = run(tokenize + file("ok.json", "{" + words + R"(, "max_length": 8})"));
    CHECK(r.exit_code == 0);
    CHECK(io::json::parse(r.output)["input_ids"].size() == 8);
}

TEST_CASE("cli.layoutlm: tokenize TEXT with a WordPiece vocab.txt equals HF's ids" * doctest::test_suite("unit")) {
    const auto cases = io::read_json_file(data_path("layoutlm-tokenizer/cases.json"))["cases"];
    for (std::size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        std::string text;
        for (const auto& w : c["words"]) text += (text.empty() ? "" : " ") + w.get<std::string>();
        const std::size_t n = c["input_ids"].size();
        const auto r = run(tool() + " tokenize --model " + quote(data_path("layoutlm-tokenizer").string()) + " --max-length " +
                           std::to_string(n + 2) + " " + quote(text));
        CAPTURE(text);
        REQUIRE(r.exit_code == 0);
        const auto got = io::json::parse(r.output);
        CHECK(r.output.rfind("{\"input_ids\":", 0) == 0);
        std::vector<std::int64_t> ids = c["input_ids"].get<std::vector<std::int64_t>>();
        ids.resize(n + 2, 0);  // padded with [PAD] = 0
        CHECK(got["input_ids"].get<std::vector<std::int64_t>>() == ids);
        std::vector<std::int64_t> mask(n, 1);
        mask.resize(n + 2, 0);
        CHECK(got["attention_mask"].get<std::vector<std::int64_t>>() == mask);
        CHECK(got["token_type_ids"].get<std::vector<std::int64_t>>() == std::vector<std::int64_t>(n + 2, 0));
    }
}

TEST_CASE("cli.layoutlm: tag-document labels every word, as the library does" * doctest::test_suite("unit")) {
    const std::string model = quote(layoutlm_token_cls_model().string());
    const auto table = run(tool() + " tag-document --model " + model + " " + quote(invoice_json));
    REQUIRE(table.exit_code == 0);
    CHECK(count_lines(table.output) == 35);
    CHECK(table.output.find("  ACME  ") != std::string::npos);

    const auto json = run(tool() + " tag-document --model " + model + " " + quote(invoice_json) + " --json");
    REQUIRE(json.exit_code == 0);
    CHECK(count_lines(json.output) == 1);
    const auto words = io::json::parse(json.output)["words"];
    REQUIRE(words.size() == 35);
    const auto expected = pipelines::document_model::from_pretrained(layoutlm_token_cls_model()).tag(pipelines::ocr_document::from_file(invoice_json));
    for (std::size_t i = 0; i < 35; ++i) {
        CAPTURE(i);
        CHECK(words[i]["index"] == i);
        CHECK(words[i]["text"] == expected[i].text);
        CHECK(words[i]["label"] == expected[i].label);
        CHECK(words[i]["score"].get<double>() == doctest::Approx(expected[i].score).epsilon(1e-6));
        CHECK(words[i]["box"] == io::json(expected[i].box));
        // The table shows the same label on the word's line.
        const auto line_start = table.output.find(std::to_string(i) + "  " + expected[i].text);
        REQUIRE(line_start != std::string::npos);
        CHECK(table.output.substr(line_start, table.output.find('\n', line_start) - line_start).find(expected[i].label) != std::string::npos);
    }

    const auto strided = run(tool() + " tag-document --model " + model + " " + quote(invoice_json) + " --stride 8 --max-length 24 --average");
    CHECK(strided.exit_code == 0);
    CHECK(count_lines(strided.output) == 35);
}

TEST_CASE("cli.layoutlm: --clamp-boxes pulls a box back onto the page, without it the word is named" * doctest::test_suite("unit")) {
    const auto dir = scratch_dir("cli_layoutlm_clamp");
    io::json doc = io::read_json_file(invoice_json);
    doc["words"][4]["box"] = {700, 90, 900, 108};  // past the right edge of an 850-pixel page
    const auto file = write_json(dir, "off_page.json", doc);
    const std::string command = tool() + " tag-document --model " + quote(layoutlm_token_cls_model().string()) + " " + quote(file.string());
    check_one_line_error(command, {"word 4 (\"Harbour\")", "x1 = 1058", "--clamp-boxes"});
    const auto clamped = run(command + " --clamp-boxes --json");
    REQUIRE(clamped.exit_code == 0);
    CHECK(io::json::parse(clamped.output)["words"][4]["box"] == io::json({823, 81, 1000, 98}));
}

TEST_CASE("cli.layoutlm: bad documents and models are one-line errors" * doctest::test_suite("unit")) {
    const auto dir = scratch_dir("cli_layoutlm_errors");
    const std::string model = quote(layoutlm_token_cls_model().string());
    const std::string tag = tool() + " tag-document --model " + model + " ";

    io::json doc = io::read_json_file(invoice_json);
    doc["words"][7]["box"] = {600, 60, 550, 78};
    check_one_line_error(tag + quote(write_json(dir, "inverted.json", doc).string()), {"word 7 (\"INVOICE\")", "x1 < x0"});
    doc = io::read_json_file(invoice_json);
    doc["width"] = 0;
    check_one_line_error(tag + quote(write_json(dir, "no_width.json", doc).string()), {"page size 0 x 1100"});
    doc["width"] = 850;
    doc["words"] = io::json::array();
    check_one_line_error(tag + quote(write_json(dir, "empty.json", doc).string()), {"no words"});
    doc["words"] = {{{"text", "a"}, {"box", {1, 2, 3}}}};
    check_one_line_error(tag + quote(write_json(dir, "short_box.json", doc).string()), {"word 0 (\"a\")", "box"});
    check_one_line_error(tag + quote(invoice_json) + " --stride 62", {"stride 62", "max_length 64"});
    check_one_line_error(tag + quote((dir / "missing.json").string()), {"cannot open", "missing.json"});
    check_one_line_error(tool() + " classify-document --model " + model + " " + quote(invoice_json),
                         {"LayoutLMForSequenceClassification", "this one is LayoutLMForTokenClassification"});
    check_one_line_error(tool() + " tag-document --model " + quote(data_path("layoutlm-tiny-token-cls").string()) + " " + quote(invoice_json),
                         {"vocab.txt"});
    const auto words = write_json(dir, "words.json", {{"words", {"a", "b"}}, {"boxes", {{1, 2, 3, 4}}}});
    check_one_line_error(tool() + " tokenize --model " + quote(data_path("layoutlm-tokenizer").string()) + " --words-json " + quote(words.string()),
                         {"2 words but 1 boxes"});
    check_one_line_error(tool() + " tokenize --model " + quote(data_path("layoutlm-tokenizer").string()), {"TEXT", "--words-json"});
}

TEST_CASE("cli.layoutlm: classify-document prints every class, best first" * doctest::test_suite("unit")) {
    const auto dir = random_layoutlm_model("cli_layoutlm_classify", [](io::json& config) {
        config["architectures"] = {"LayoutLMForSequenceClassification"};
        config["id2label"] = {{"0", "invoice_json"}, {"1", "letter"}, {"2", "form"}};
        config.erase("label2id");
    });
    const auto r = run(tool() + " classify-document --model " + quote(dir.string()) + " " + quote(invoice_json));
    REQUIRE(r.exit_code == 0);
    REQUIRE(count_lines(r.output) == 3);
    for (const char* label : {"  invoice_json\n", "  letter\n", "  form\n"}) CHECK(r.output.find(label) != std::string::npos);
    const auto j = run(tool() + " classify-document --model " + quote(dir.string()) + " " + quote(invoice_json) + " --json");
    REQUIRE(j.exit_code == 0);
    const auto parsed = io::json::parse(j.output);
    double sum = 0;
    for (const auto& [label, p] : parsed["probabilities"].items()) sum += p.get<double>();
    CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
    CHECK(parsed["probabilities"][parsed["label"].get<std::string>()] == parsed["score"]);
}

TEST_CASE("cli.documents: random-model and forward work for every LayoutLM, LayoutLMv3 and LiLT architecture" * doctest::test_suite("unit")) {
    const std::vector<std::string> logits = {"logits"}, spans = {"start_logits", "end_logits"};
    const struct {
        const char* fixture;  // its config.json and reference.safetensors' inputs
        const char* arch;
        std::vector<std::string> outputs;
    } cases[] = {
        {"layoutlm-tiny-base", "LayoutLMModel", {"last_hidden_state", "pooler_output"}},
        {"layoutlm-tiny-base", "LayoutLMForTokenClassification", logits},
        {"layoutlm-tiny-base", "LayoutLMForSequenceClassification", logits},
        {"layoutlm-tiny-base", "LayoutLMForMaskedLM", logits},
        {"layoutlm-tiny-base", "LayoutLMForQuestionAnswering", spans},
        {"layoutlmv3-tiny-token-cls", "LayoutLMv3ForSequenceClassification", logits},
        {"layoutlmv3-tiny-token-cls", "LayoutLMv3ForQuestionAnswering", spans},
        {"lilt-tiny-token-cls", "LiltForSequenceClassification", logits},
        {"lilt-tiny-token-cls", "LiltForQuestionAnswering", spans},
    };
    for (const auto& c : cases) {
        const std::string arch = c.arch;
        CAPTURE(arch);
        const auto dir = scratch_dir("cli_documents_random_" + arch);
        io::json config = io::read_json_file(data_path(c.fixture) / "config.json");
        config["architectures"] = {arch};
        if (c.outputs == spans) config["num_labels"] = 2, config.erase("id2label"), config.erase("label2id");
        write_json(dir, "config.json", config);
        const auto made = run(tool() + " random-model --config " + quote((dir / "config.json").string()) + " --out " + quote((dir / "m").string()) +
                              " --dtype bf16");
        REQUIRE(made.exit_code == 0);
        const auto r = run(tool() + " forward --model " + quote((dir / "m").string()) + " --inputs " +
                           quote((data_path(c.fixture) / "reference.safetensors").string()) + " --out " + quote((dir / "o.safetensors").string()));
        REQUIRE(r.exit_code == 0);
        const io::safetensors_file out(dir / "o.safetensors");
        CHECK(out.size() == c.outputs.size());
        for (const auto& name : c.outputs) CHECK(out.contains("output." + name));
        const io::safetensors_file inputs(data_path(c.fixture) / "reference.safetensors");
        const auto& ids = inputs.info("input.input_ids").shape;  // [batch, seq_len]
        const auto& first = out.info("output." + c.outputs[0]).shape;
        CHECK(first[0] == ids[0]);
        if (c.outputs == spans) CHECK(first[1] >= ids[1]);  // LayoutLMv3 adds its visual tokens
    }
}

TEST_CASE("cli.documents: answer gives the pipeline's spans, best first, and its errors are one line" * doctest::test_suite("unit")) {
    const auto dir = random_layoutlm_model("cli_documents_answer", [](io::json& config) {
        config["architectures"] = {"LayoutLMForQuestionAnswering"};
        config.erase("id2label");
        config.erase("label2id");
    });
    const std::string model = quote(dir.string());
    const std::string answer = tool() + " answer --model " + model + " " + quote(invoice_json) + " --question " + quote("What is the total?");

    const auto r = run(answer + " --top-k 3 --max-length 32 --json");
    REQUIRE(r.exit_code == 0);
    const auto got = io::json::parse(r.output)["answers"];
    pipelines::answer_options options;
    options.top_k = 3;
    options.max_length = 32;
    const auto want = pipelines::document_model::from_pretrained(dir).answer(
        pipelines::ocr_document::from_file(invoice_json), "What is the total?", options);
    REQUIRE(got.size() == want.size());
    REQUIRE(!want.empty());
    for (std::size_t i = 0; i < want.size(); ++i) {
        CHECK(got[i]["answer"] == want[i].answer);
        CHECK(got[i]["start"] == want[i].start);
        CHECK(got[i]["end"] == want[i].end);
        CHECK(got[i]["score"].get<float>() == want[i].score);
        CHECK(got[i]["box"] == io::json(want[i].box));
    }
    const auto table = run(answer + " --top-k 2");
    REQUIRE(table.exit_code == 0);
    CHECK(count_lines(table.output) <= 2);

    check_one_line_error(answer + " --max-length 12", {"the question has", "tokens", "doc_stride"});
    check_one_line_error(tool() + " answer --model " + model + " " + quote(invoice_json) + " --question \"  \"", {"has no tokens"});
    check_one_line_error(tool() + " answer --model " + quote(layoutlm_token_cls_model().string()) + " " + quote(invoice_json) + " --question why",
                         {"needs a LayoutLMForQuestionAnswering checkpoint", "this one is LayoutLMForTokenClassification"});
    check_one_line_error(answer + " --top-k 0", {"--top-k"});
}

TEST_CASE("cli.layoutlm: mmt forward reproduces both fixtures' outputs" * doctest::test_suite("parity")) {
    CHECK(check_tool_forward(data_path("layoutlm-tiny-token-cls"), "layoutlm_cli_forward_token_cls") == 1);
    CHECK(check_tool_forward(data_path("layoutlm-tiny-base"), "layoutlm_cli_forward_base") == 2);
}

TEST_CASE("cli.layoutlm: classify-document on a multi-label checkpoint lists the classes at or above --threshold" *
          doctest::test_suite("unit")) {
    const std::string model = quote(random_layoutlm_model("cli_layoutlm_multi_label", [](io::json& config) {
                                         config["architectures"] = {"LayoutLMForSequenceClassification"};
                                         config["id2label"] = {{"0", "invoice"}, {"1", "receipt"}, {"2", "letter"}};
                                         config["problem_type"] = "multi_label_classification";
                                         config.erase("label2id");
                                     }).string());
    const std::string classify = tool() + " classify-document --model " + model + " " + quote(invoice_json);

    const auto all = io::json::parse(run(classify + " --json --threshold 0").output);
    CHECK(all["function"] == "sigmoid");
    CHECK(all["labels"].size() == 3);
    // A threshold between the scores keeps exactly the classes above it, in the table too.
    std::vector<double> scores;
    for (const auto& [label, p] : all["probabilities"].items()) scores.push_back(p.get<double>());
    std::sort(scores.begin(), scores.end());
    const double middle = (scores[0] + scores[1]) / 2;
    const auto some = run(classify + " --threshold " + std::to_string(middle));
    REQUIRE(some.exit_code == 0);
    CHECK(count_lines(some.output) == 2);
    const auto softmax = io::json::parse(run(classify + " --json --function softmax").output);
    CHECK(softmax["function"] == "softmax");
    CHECK(softmax["labels"].size() == 1);

    check_one_line_error(classify + " --threshold 1.5", {"--threshold 1.5 is outside [0, 1]"});
    check_one_line_error(classify + " --function tanh", {"--function \"tanh\"", "auto, softmax, sigmoid, none"});
}

TEST_CASE("cli.layoutlmv3: tag-document with --image gives each word HF's label and probability for the page" *
          doctest::test_suite("parity")) {
    // layoutlmv3-tiny-token-cls with its tokenizer and image processor; the fixture's first
    // document (boxes already on the 0..1000 grid, so a 1000 x 1000 page) and its page, chelsea.png.
    const auto model = assembled_model("cli_layoutlmv3_tagger", "layoutlmv3-tiny-token-cls", {"layoutlmv3-tokenizer", "layoutlmv3-images"});
    const io::safetensors_file ref(data_path("layoutlmv3-tiny-token-cls/reference.safetensors"));
    const auto words = io::parse_json(ref.metadata().at("words"), "words")[0];
    const auto boxes = io::parse_json(ref.metadata().at("boxes"), "boxes")[0];
    io::json ocr{{"width", 1000}, {"height", 1000}, {"words", io::json::array()}};
    for (std::size_t i = 0; i < words.size(); ++i) ocr["words"].push_back({{"text", words[i]}, {"box", boxes[i]}});
    const auto dir = scratch_dir("cli_layoutlmv3_tag");
    const auto ocr_file = write_json(dir, "page.json", ocr);
    const std::string page = quote(data_path("clip-images/chelsea.png").string());
    // HF ran the document truncated to 20 tokens: windows of 20 make the same first window,
    // which alone holds words 0..3 (word 4 goes on into the next).
    const auto r = run(tool() + " tag-document --model " + quote(model.string()) + " " + quote(ocr_file.string()) + " --image " + page +
                       " --max-length 20 --json");
    REQUIRE(r.exit_code == 0);
    const auto tagged = io::json::parse(r.output)["words"];
    REQUIRE(tagged.size() == words.size());

    // HF's logits for that window: each word's label is the argmax at its first piece.
    const auto doc = pipelines::document_model::from_pretrained(model);
    pipelines::document_options twenty;
    twenty.max_length = 20;
    const auto window = doc.windows(pipelines::ocr_document::from_json(ocr, "page.json"), twenty);
    REQUIRE(window.size() > 1);
    const auto input_ids = ref.load<std::int64_t, 2>("input.input_ids");  // [2, 20]
    CHECK(window[0].input_ids == std::vector<std::int64_t>(&input_ids(0, 0), &input_ids(0, 0) + 20));
    const auto logits = ref.load<float, 3>("output.logits");  // [2, 20, 7]
    const auto config = io::read_json_file(model / "config.json");
    for (std::size_t w = 0; w < 4; ++w) {
        CAPTURE(w);
        const auto first = std::size_t(std::find(window[0].word_ids.begin(), window[0].word_ids.end(), std::int64_t(w)) - window[0].word_ids.begin());
        std::vector<double> p(7);
        double total = 0;
        for (std::size_t k = 0; k < 7; ++k) total += p[k] = std::exp(double(logits(0, first, k)));
        const auto best = std::size_t(std::max_element(p.begin(), p.end()) - p.begin());
        CHECK(tagged[w]["label"] == config["id2label"][std::to_string(best)]);
        CHECK(tagged[w]["score"].get<double>() == doctest::Approx(p[best] / total).epsilon(1e-4));
    }

    // Without the page v3 runs on the text alone; a page the model cannot patch, or a page for LiLT, is one line.
    REQUIRE(run(tool() + " tag-document --model " + quote(model.string()) + " " + quote(ocr_file.string())).exit_code == 0);
    const auto small = assembled_model("cli_layoutlmv3_small_page", "layoutlmv3-tiny-token-cls", {"layoutlmv3-tokenizer"});
    write_file(small / "preprocessor_config.json", R"({"image_processor_type": "LayoutLMv3ImageProcessor", "size": {"height": 24, "width": 24}})");
    check_one_line_error(tool() + " tag-document --model " + quote(small.string()) + " " + quote(ocr_file.string()) + " --image " + page,
                         {"pixel_values has shape [1, 3, 24, 24]", "[batch >= 1, 3, 32, 32]"});
    const auto no_processor = assembled_model("cli_layoutlmv3_no_processor", "layoutlmv3-tiny-token-cls", {"layoutlmv3-tokenizer"});
    check_one_line_error(tool() + " tag-document --model " + quote(no_processor.string()) + " " + quote(ocr_file.string()) + " --image " + page,
                         {"--image '", "no preprocessor_config.json and reads none"});
    const auto lilt = assembled_model("cli_lilt_tagger", "lilt-tiny-token-cls", {"layoutlmv3-tokenizer", "layoutlmv3-images"});
    check_one_line_error(tool() + " tag-document --model " + quote(lilt.string()) + " " + quote(ocr_file.string()) + " --image " + page,
                         {"LiLT reads no page image"});
    const auto r2 = run(tool() + " tag-document --model " + quote(lilt.string()) + " " + quote(ocr_file.string()) + " --json");
    REQUIRE(r2.exit_code == 0);
    CHECK(io::json::parse(r2.output)["words"].size() == words.size());
}

TEST_CASE("cli.messages: control bytes from an OCR word reach the terminal escaped" * doctest::test_suite("unit")) {
    const auto dir = scratch_dir("cli_messages_escaped");
    // A window title escape and a C1 CSI (as UTF-8) in a word whose box is upside down.
    std::ofstream(dir / "hostile.json") << R"({"width": 100, "height": 100, "words": [{"text": "\u001b]0;pwned\u0007 \u009b2J", "box": [5, 5, 1, 1]}]})";
    const auto r = run(tool() + " tag-document --model " + quote(layoutlm_token_cls_model().string()) + " " + quote((dir / "hostile.json").string()), true);
    CAPTURE(r.output);
    CHECK(r.exit_code != 0);
    CHECK(count_lines(r.output) == 1);
    CHECK(r.output.find("\\x1b]0;pwned\\x07 \\u009b2J") != std::string::npos);
    for (const char c : r.output) CHECK((static_cast<unsigned char>(c) >= 0x20 || c == '\n'));
    CHECK(r.output.find("\xc2\x9b") == std::string::npos);
}
