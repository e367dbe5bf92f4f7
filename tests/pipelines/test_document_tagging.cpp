// The document pipeline on the tiny token-classification fixture: box
// normalisation and every bad-input error, a long document windowed and merged
// back into one label per word, windowed = unwindowed when the document fits,
// subword averaging, and the sequence-classification and masked-LM results.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mmt/io/json.hpp"
#include "mmt/io/safetensors.hpp"
#include "mmt/models/random_model.hpp"
#include "mmt/ops/softmax.hpp"
#include "mmt/pipelines/document_tagging.hpp"
#include "support/data.hpp"
#include "support/files.hpp"
#include "support/layoutlm_model.hpp"
#include "support/throws.hpp"

using namespace mmt;
namespace fs = std::filesystem;
using pipelines::ocr_document;

namespace {

const pipelines::document_model& tagger() {
    static const auto model = pipelines::document_model::from_pretrained(test::layoutlm_token_cls_model());
    return model;
}

ocr_document invoice() {
    return ocr_document::from_file(fs::path(MMT_EXAMPLES_SRC_DIR) / "layoutlm_tag_document" / "invoice_ocr.json");
}

// Its first 20 words, 43 word pieces: one window of the tiny model's 64 positions.
ocr_document invoice_head() {
    ocr_document doc = invoice();
    doc.words.resize(20);
    doc.boxes.resize(20);
    return doc;
}

// `n` words in lines of 12 on pages of 850 x 1100 pixels stacked into one tall page.
ocr_document synthetic(std::size_t n) {
    static const char* vocabulary[] = {"Invoice", "Number:", "12345", "Date:", "2019-12-31", "Total", "amount", "due",
                                       "$1,234.00", "tax", "Company", "name", "address", "phone", "email@www.com", "resume"};
    ocr_document doc;
    doc.width = 850;
    doc.height = 1100.0 * double(n / 480 + 1);
    for (std::size_t i = 0; i < n; ++i) {
        const double x = 40 + double(i % 12) * 65, y = 40 + double(i / 12) * 22;
        doc.words.push_back(vocabulary[(i * 7) % 16]);
        doc.boxes.push_back({x, y, x + 60, y + 18});
    }
    return doc;
}

// The model's probabilities [seq_len, num_labels] for one encoding, computed directly.
tensor<2> token_probabilities(const tokenizers::boxed_encoding& e) {
    const std::size_t n = e.input_ids.size();
    layoutlm::model_inputs in{int_tensor<2>({1, n}), int_tensor<3>({1, n, 4}), int_tensor<2>({1, n}), int_tensor<2>({1, n})};
    for (std::size_t s = 0; s < n; ++s) {
        in.input_ids(0, s) = e.input_ids[s];
        for (std::size_t k = 0; k < 4; ++k) in.bbox(0, s, k) = e.bbox[s][k];
        in.attention_mask(0, s) = e.attention_mask[s];
        in.token_type_ids(0, s) = e.token_type_ids[s];
    }
    tensor<3> logits = tagger().model().token_logits(in);
    const std::size_t labels = logits.shape(2);
    ops::softmax(logits.data(), n, labels);
    return xt::reshape_view(logits, {n, labels});
}

}  // namespace

TEST_CASE("pipelines.document: pixel boxes are normalised as int(1000 * x / size)" * doctest::test_suite("unit")) {
    ocr_document doc{850, 1100, {"a", "b"}, {{60, 60, 108, 78}, {0, 0, 850, 1100}}};
    const auto boxes = pipelines::normalize_boxes(doc, false);
    CHECK(boxes[0] == tokenizers::word_box{70, 54, 127, 70});  // 70.58.., 54.54.., 127.05.., 70.90..
    CHECK(boxes[1] == tokenizers::word_box{0, 0, 1000, 1000});
    const auto e = invoice();
    CHECK(e.words.size() == 35);
    CHECK(e.width == 850);
    CHECK(e.boxes[0] == std::array<double, 4>{60, 60, 108, 78});
}

TEST_CASE("pipelines.document: every bad input is an input_error naming the word" * doctest::test_suite("unit")) {
    const ocr_document good{850, 1100, {"Invoice", "Total", "$92.34"}, {{60, 60, 108, 78}, {450, 480, 505, 498}, {600, 480, 670, 498}}};
    auto with = [&](auto edit) {
        ocr_document d = good;
        edit(d);
        return d;
    };
    SUBCASE("a box off the page after normalisation, unless clamped") {
        const auto off = with([](ocr_document& d) { d.boxes[2][2] = 900; });
        test::check_throws<input_error>([&] { tagger().tag(off); },
                                        {"word 2 (\"$92.34\")", "normalises to x1 = 1058", "outside 0..1000", "clamp"});
        test::check_throws<input_error>([&] { tagger().tag(with([](ocr_document& d) { d.boxes[0][1] = -3; })); },
                                        {"word 0 (\"Invoice\")", "y0 = -2"});
        pipelines::document_options clamp;
        clamp.clamp_boxes = true;
        const auto tags = tagger().tag(off, clamp);
        CHECK(tags[2].box == tokenizers::word_box{705, 436, 1000, 452});
    }
    SUBCASE("x1 < x0 or y1 < y0") {
        test::check_throws<input_error>([&] { tagger().tag(with([](ocr_document& d) { d.boxes[1] = {505, 480, 450, 498}; })); },
                                        {"word 1 (\"Total\")", "x1 < x0"});
        pipelines::document_options clamp;
        clamp.clamp_boxes = true;  // clamping never repairs an inverted box
        test::check_throws<input_error>([&] { tagger().tag(with([](ocr_document& d) { d.boxes[2] = {600, 498, 670, 480}; }), clamp); },
                                        {"word 2 (\"$92.34\")", "y1 < y0"});
    }
    SUBCASE("words and boxes of different lengths") {
        test::check_throws<input_error>([&] { tagger().tag(with([](ocr_document& d) { d.boxes.pop_back(); })); },
                                        {"3 words but 2 boxes"});
    }
    SUBCASE("an empty document") {
        test::check_throws<input_error>([&] { tagger().tag(ocr_document{850, 1100, {}, {}}); }, {"no words"});
    }
    SUBCASE("a page size of 0") {
        test::check_throws<input_error>([&] { tagger().tag(with([](ocr_document& d) { d.width = 0; })); }, {"page size 0 x 1100"});
        test::check_throws<input_error>([&] { tagger().tag(with([](ocr_document& d) { d.height = -5; })); }, {"page size 850 x -5"});
    }
    SUBCASE("a coordinate that is not a number") {
        test::check_throws<input_error>([&] { tagger().tag(with([](ocr_document& d) { d.boxes[1][3] = std::nan(""); })); },
                                        {"word 1 (\"Total\")", "y1 = nan"});
    }
    SUBCASE("OCR JSON without what it needs") {
        const auto parse = [](const char* text) { return ocr_document::from_json(io::json::parse(text), "ocr.json"); };
        test::check_throws<input_error>([&] { parse(R"({"height": 10, "words": []})"); }, {"ocr.json", "\"width\""});
        test::check_throws<input_error>([&] { parse(R"({"width": 10, "height": 10})"); }, {"ocr.json", "\"words\""});
        test::check_throws<input_error>([&] { parse(R"({"width": 10, "height": 10, "words": [{"text": "a", "box": [1, 2, 3, 4]}, {"box": [1, 2, 3, 4]}]})"); },
                                        {"ocr.json: word 1", "\"text\""});
        test::check_throws<input_error>([&] { parse(R"({"width": 10, "height": 10, "words": [{"text": "a", "box": [1, 2, 3]}]})"); },
                                        {"ocr.json: word 0 (\"a\")", "[1,2,3]"});
    }
}

TEST_CASE("pipelines.document: an OCR file of more words than max_words is refused while it is parsed" * doctest::test_suite("unit")) {
    // The file breaks off after the fourth word: the limit is met before its end is read.
    const fs::path file = test::scratch_dir("ocr_word_limit") / "ocr.json";
    test::write_file(file, R"({"width": 10, "height": 10, "words": [{"text": "a", "box": [1, 2, 3, 4]}, {"text": "b", "box": [1, 2, 3, 4]},)"
                           R"( {"text": "c", "box": [1, 2, 3, 4]}, {"text": "d", "box": [1, 2, 3, 4]}, {"text": "e", "box": [1, )");
    test::check_throws<format_error>([&] { ocr_document::from_file(file, 3); },
                                     {"ocr.json: more than 3 elements in one array; expected at most 3 (boxed_options::max_words)"});
}

TEST_CASE("pipelines.document: a label id missing from id2label is an error naming the word" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("layoutlm_missing_label");
    for (const auto& entry : fs::directory_iterator(test::layoutlm_token_cls_model())) fs::copy_file(entry.path(), dir / entry.path().filename());
    io::json config = io::read_json_file(dir / "config.json");
    config["id2label"].erase("6");
    config["id2label"]["9"] = "LABEL_9";  // still 7 labels, but no id 6
    std::ofstream(dir / "config.json", std::ios::trunc) << config.dump(2);
    io::safetensors_writer writer;
    {
        const io::safetensors_file f(dir / "model.safetensors");
        for (const auto& n : f.names()) {
            dyn_tensor<float> t = f.load<float>(n);
            if (n == "classifier.bias") t(6) = 100.0f;  // every token predicts label id 6
            writer.add(n, t);
        }
    }
    writer.save(dir / "model.safetensors");
    const auto model = pipelines::document_model::from_pretrained(dir);
    test::check_throws<config_error>([&] { model.tag(invoice()); },
                                     {"word 0 (\"ACME\")", "label id 6", "id2label", "0, 1, 2, 3, 4, 5, 9"});
}

TEST_CASE("pipelines.document: a tokenizer with more ids than the model's embeddings is refused" * doctest::test_suite("unit")) {
    test::check_throws<config_error>(
        [] {
            pipelines::document_model(layoutlm::pretrained_model::from_pretrained(test::data_path("layoutlm-tiny-token-cls")),
                                      tokenizers::wordpiece_tokenizer::from_directory(test::data_path("layoutlm-tokenizer")));
        },
        {"121 tokens", "99 rows"});
}

TEST_CASE("pipelines.document: a 1,500-word document gets exactly one label per word" * doctest::test_suite("unit")) {
    const ocr_document doc = synthetic(1500);
    const auto windows = tagger().windows(doc);
    CHECK(tagger().max_length({}) == 64);  // the model's positions bound the tokenizer's 512
    CHECK(tagger().stride({}) == 16);
    CHECK(windows.size() > 50);
    const auto tags = tagger().tag(doc);
    REQUIRE(tags.size() == 1500);
    std::size_t windows_used = 0;
    for (std::size_t i = 0; i < tags.size(); ++i) {
        CHECK(tags[i].index == i);
        CHECK(tags[i].text == doc.words[i]);
        CHECK(tags[i].label == tagger().model().config.id2label.at(tags[i].label_id));
        CHECK(tags[i].score > 0.0f);
        CHECK(tags[i].score <= 1.0f);
        windows_used = std::max(windows_used, tags[i].window + 1);
    }
    CHECK(windows_used == windows.size());

    // Each answer is its window's own prediction at the word's first piece, and that
    // window leaves the piece at least as much context as any other window holding it.
    std::vector<std::vector<std::size_t>> first_position(windows.size(), std::vector<std::size_t>(doc.words.size(), 0));
    for (std::size_t k = 0; k < windows.size(); ++k)
        for (std::size_t s = windows[k].word_ids.size(); s-- > 1;)
            if (windows[k].word_ids[s] >= 0 && windows[k].word_ids[s - 1] != windows[k].word_ids[s])
                first_position[k][std::size_t(windows[k].word_ids[s])] = s;
    for (std::size_t i = 0; i < tags.size(); i += 37) {
        CAPTURE(i);
        const std::size_t k = tags[i].window;
        const std::size_t s = first_position[k][i];
        REQUIRE(s > 0);
        const tensor<2> p = token_probabilities(windows[k]);
        const auto row = xt::eval(xt::row(p, std::ptrdiff_t(s)));
        CHECK(tags[i].label_id == std::int64_t(std::max_element(row.begin(), row.end()) - row.begin()));
        CHECK(tags[i].score == doctest::Approx(*std::max_element(row.begin(), row.end())).epsilon(1e-6));
        const auto context = [&](std::size_t w, std::size_t pos) {
            const std::size_t n = windows[w].input_ids.size();
            const std::size_t left = w == 0 ? 1000000 : pos - 1, right = w + 1 == windows.size() ? 1000000 : n - 2 - pos;
            return std::min(left, right);
        };
        // A later window that opens on the word may hold only its tail; its context there is 0 anyway.
        for (std::size_t w = 0; w < windows.size(); ++w)
            if (first_position[w][i] > 1 || (w == 0 && first_position[w][i] == 1))
                CHECK(context(k, s) >= context(w, first_position[w][i]));
    }
}

TEST_CASE("pipelines.document: windowed results equal unwindowed ones when the document fits" * doctest::test_suite("unit")) {
    const ocr_document doc = invoice_head();
    REQUIRE(tagger().windows(doc).size() == 1);
    const auto tags = tagger().tag(doc);

    // Unwindowed: one sequence padded to max_length, as HF's LayoutLM examples feed it.
    tokenizers::boxed_options options;
    options.max_length = 64;
    const auto e = tokenizers::encode_words(tagger().tokenizer(), doc.words, pipelines::normalize_boxes(doc, false), options);
    const tensor<2> p = token_probabilities(e);
    std::vector<bool> seen(doc.words.size(), false);
    std::size_t compared = 0;
    for (std::size_t s = 0; s < e.word_ids.size(); ++s) {
        if (e.word_ids[s] < 0 || seen[std::size_t(e.word_ids[s])]) continue;
        const std::size_t w = std::size_t(e.word_ids[s]);
        seen[w] = true;
        const auto row = xt::eval(xt::row(p, std::ptrdiff_t(s)));
        CHECK(tags[w].label_id == std::int64_t(std::max_element(row.begin(), row.end()) - row.begin()));
        CHECK(std::fabs(tags[w].score - *std::max_element(row.begin(), row.end())) < 1e-5);
        ++compared;
    }
    CHECK(compared == doc.words.size());

    // The same document cut into windows of 16 still labels every word once.
    pipelines::document_options small;
    small.max_length = 16;
    small.stride = 4;
    CHECK(tagger().windows(doc, small).size() > 3);
    CHECK(tagger().tag(doc, small).size() == doc.words.size());
}

TEST_CASE("pipelines.document: averaging over subwords takes the mean of the pieces' probabilities" * doctest::test_suite("unit")) {
    const ocr_document doc = invoice_head();
    pipelines::document_options average;
    average.aggregation = pipelines::subword_aggregation::average;
    const auto tags = tagger().tag(doc, average);
    const auto first = tagger().tag(doc);
    const auto e = tagger().windows(doc)[0];
    const tensor<2> p = token_probabilities(e);
    std::size_t multi_piece = 0;
    for (std::size_t w = 0; w < doc.words.size(); ++w) {
        std::vector<double> mean(p.shape(1), 0.0);
        std::size_t pieces = 0;
        for (std::size_t s = 0; s < e.word_ids.size(); ++s)
            if (e.word_ids[s] == std::int64_t(w)) {
                for (std::size_t k = 0; k < p.shape(1); ++k) mean[k] += p(s, k);
                ++pieces;
            }
        for (auto& v : mean) v /= double(pieces);
        const auto best = std::size_t(std::max_element(mean.begin(), mean.end()) - mean.begin());
        CHECK(tags[w].label_id == std::int64_t(best));
        CHECK(tags[w].score == doctest::Approx(mean[best]).epsilon(1e-5));
        if (pieces == 1) CHECK(tags[w].score == first[w].score);
        multi_piece += pieces > 1;
    }
    CHECK(multi_piece >= 5);
}

TEST_CASE("pipelines.document: sequence classification and masked LM on random checkpoints" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("layoutlm_pipeline_heads");
    auto make = [&](const char* arch) {
        io::json config = io::read_json_file(test::layoutlm_token_cls_model() / "config.json");
        config["architectures"] = {arch};
        if (std::string(arch) == "LayoutLMForSequenceClassification")
            config["id2label"] = {{"0", "invoice"}, {"1", "letter"}, {"2", "form"}};
        else
            config.erase("id2label");
        config.erase("label2id");
        const fs::path config_path = dir / (std::string(arch) + ".json");
        std::ofstream(config_path) << config.dump(2);
        const fs::path out = dir / arch;
        write_random_model(config_path, out, dtype::f32, 3);
        for (const char* f : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"})
            fs::copy_file(test::layoutlm_token_cls_model() / f, out / f);
        return pipelines::document_model::from_pretrained(out);
    };

    const auto classifier = make("LayoutLMForSequenceClassification");
    const auto result = classifier.classify(invoice());
    REQUIRE(result.probabilities.size() == 3);
    float sum = 0;
    for (const auto& c : result.probabilities) sum += c.score;
    CHECK(sum == doctest::Approx(1.0f).epsilon(1e-5));
    CHECK(result.label == result.probabilities[0].label);
    CHECK(result.score >= result.probabilities[2].score);
    pipelines::document_options small;
    small.max_length = 16;
    CHECK(classifier.classify(invoice(), small).probabilities.size() == 3);  // the mean over windows
    test::check_throws<input_error>([&] { classifier.tag(invoice()); }, {"LayoutLMForTokenClassification", "this one is LayoutLMForSequenceClassification"});

    const auto mlm = make("LayoutLMForMaskedLM");
    ocr_document doc = invoice();
    doc.words[20] = "[MASK]";
    doc.words[33] = "[MASK]";
    const auto fills = mlm.fill_mask(doc, 3);
    REQUIRE(fills.size() == 2);
    CHECK(fills[0].word == 20);
    CHECK(fills[1].word == 33);
    REQUIRE(fills[0].candidates.size() == 3);
    CHECK(fills[0].candidates[0].score >= fills[0].candidates[1].score);
    CHECK(fills[0].candidates[0].token == mlm.tokenizer().decode({fills[0].candidates[0].id}, false));
    test::check_throws<input_error>([&] { mlm.fill_mask(invoice()); }, {"no word \"[MASK]\""});
}

TEST_CASE("pipelines.document: a multi_label_classification checkpoint scores each label by its own sigmoid" * doctest::test_suite("unit")) {
    const fs::path dir = test::scratch_dir("layoutlm_pipeline_multi_label");
    io::json config = io::read_json_file(test::layoutlm_token_cls_model() / "config.json");
    config["architectures"] = {"LayoutLMForSequenceClassification"};
    config["id2label"] = {{"0", "invoice"}, {"1", "receipt"}, {"2", "letter"}, {"3", "form"}};
    config["problem_type"] = "multi_label_classification";
    config.erase("label2id");
    std::ofstream(dir / "config.json") << config.dump(2);
    write_random_model(dir / "config.json", dir / "model", dtype::f32, 5);
    for (const char* f : {"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"})
        fs::copy_file(test::layoutlm_token_cls_model() / f, dir / "model" / f);
    const auto classifier = pipelines::document_model::from_pretrained(dir / "model");

    pipelines::document_options raw;
    raw.function = pipelines::score_function::none;
    const auto logits = classifier.classify(invoice(), raw);  // one window: the head's logits, best first
    CHECK(logits.function == pipelines::score_function::none);
    const auto sigmoid_of = [&](const std::string& label) {
        for (const auto& c : logits.probabilities)
            if (c.label == label) return 1.0f / (1.0f + std::exp(-c.score));
        FAIL("no label ", label);
        return 0.0f;
    };
    for (const float threshold : {0.0f, 0.5f, 1.0f}) {
        CAPTURE(threshold);
        pipelines::document_options o;
        o.threshold = threshold;
        const auto result = classifier.classify(invoice(), o);  // automatic: sigmoid, from problem_type
        CHECK(result.function == pipelines::score_function::sigmoid);
        REQUIRE(result.probabilities.size() == 4);
        std::size_t at_or_above = 0;
        for (const auto& c : result.probabilities) {
            CHECK(c.score == doctest::Approx(sigmoid_of(c.label)).epsilon(1e-6));
            at_or_above += c.score >= threshold;
        }
        CHECK(result.labels.size() == at_or_above);
        for (const auto& c : result.labels) CHECK(c.score >= threshold);
    }
    pipelines::document_options softmax;
    softmax.function = pipelines::score_function::softmax;
    const auto single = classifier.classify(invoice(), softmax);
    float sum = 0;
    for (const auto& c : single.probabilities) sum += c.score;
    CHECK(sum == doctest::Approx(1.0f).epsilon(1e-5));
    REQUIRE(single.labels.size() == 1);
    CHECK(single.labels[0].label == single.label);
    pipelines::document_options bad;
    bad.threshold = 1.5f;
    test::check_throws<input_error>([&] { classifier.classify(invoice(), bad); }, {"threshold 1.5 is outside [0, 1]"});

    config["problem_type"] = "multi_label";
    std::ofstream(dir / "model" / "config.json", std::ios::trunc) << config.dump(2);
    test::check_throws<config_error>([&] { pipelines::document_model::from_pretrained(dir / "model"); },
                                     {"\"problem_type\" is \"multi_label\"", "multi_label_classification"});
}

// HF's LayoutLM processors drop OCR words that are empty after strip() (apply_tesseract),
// and its tokenizers give a word the user passes empty no tokens, so no prediction. An
// empty word used to fail the whole document ("has no word pieces").
TEST_CASE("pipelines.document: a word without text gets no tag, and the other words keep their index and their tags" *
          doctest::test_suite("unit")) {
    ocr_document with_empty = invoice_head(), without = invoice_head();
    with_empty.words[1] = " \t";
    with_empty.words[4] = "";
    for (std::size_t gone : {4, 1}) {
        without.words.erase(without.words.begin() + std::ptrdiff_t(gone));
        without.boxes.erase(without.boxes.begin() + std::ptrdiff_t(gone));
    }
    const auto tags = tagger().tag(with_empty);
    const auto expected = tagger().tag(without);  // the same tokens: an empty word has none
    REQUIRE(tags.size() == with_empty.words.size() - 2);
    REQUIRE(expected.size() == tags.size());
    for (std::size_t i = 0; i < tags.size(); ++i) {
        CAPTURE(i);
        CHECK(tags[i].index == i + (i >= 1) + (i >= 3));  // words 1 and 4 are left out
        CHECK(tags[i].text == with_empty.words[tags[i].index]);
        CHECK(tags[i].label == expected[i].label);
        CHECK(tags[i].score == expected[i].score);
    }
}
