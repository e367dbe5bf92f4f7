// Document question answering: the (question, words) windows as HF's fast tokenizers
// make them (BERT's and RoBERTa's pairs, only the words cut, doc_stride overlap), the
// answer spans mapped back to words, boxes and scores through a made-up answerer
// whose logits are known, and the pipeline (document_pipeline with LayoutLMv3's page) on random LayoutLM, LayoutLMv3 and LiLT
// question-answering checkpoints, LayoutLM with WordPiece's and RoBERTa's vocabulary.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/image.hpp"
#include "mmt/io/json.hpp"
#include "mmt/models/interfaces/document_question_answerer.hpp"
#include "mmt/models/random_model.hpp"
#include "mmt/pipelines/document_pipeline.hpp"
#include "mmt/pipelines/document_tagging.hpp"
#include "mmt/preprocess/image.hpp"
#include "mmt/tokenizers/layoutlm_words.hpp"
#include "mmt/tokenizers/roberta_word_tokenizer.hpp"
#include "mmt/tokenizers/wordpiece.hpp"
#include "support/data.hpp"
#include "support/layoutlm_model.hpp"
#include "support/throws.hpp"
#include "support/word_tokenizers.hpp"

using namespace mmt;
namespace fs = std::filesystem;
namespace tk = mmt::tokenizers;

namespace {

using qa_ids = std::vector<std::int64_t>;

// A made-up QA head over letter_word_tokenizer's ids: start logit 10 on every 'k'
// (id 20), end logit 10 on every 'l' (id 21), 0 elsewhere; two extra positions after
// the text, as LayoutLMv3's visual tokens, with logits that would win were they read.
class qa_letter_answerer final : public interfaces::document_question_answerer {
public:
    const char* architecture() const override { return "LetterForQuestionAnswering"; }
    std::size_t max_tokens() const override { return 64; }
    std::size_t vocab_size() const override { return 36; }
    std::size_t num_labels() const override { return 2; }
    const std::string& label_of(std::int64_t, const std::string&) const override { return none_; }
    const std::string& problem_type() const override { return none_; }
    span_logits question_answering_logits(const interfaces::document_inputs& in) const override {
        const std::size_t n = in.input_ids.shape(1);
        span_logits out{tensor<2>({1, n + 2}), tensor<2>({1, n + 2})};
        for (std::size_t s = 0; s < n; ++s) {
            out.start_logits(0, s) = in.input_ids(0, s) == 20 ? 10.0f : 0.0f;
            out.end_logits(0, s) = in.input_ids(0, s) == 21 ? 10.0f : 0.0f;
        }
        for (std::size_t s = n; s < n + 2; ++s) out.start_logits(0, s) = out.end_logits(0, s) = 50.0f;
        return out;
    }

private:
    std::string none_;
};

// A random checkpoint of `config_dir`'s config.json with `architecture` (and `changes`),
// plus the tokenizer (and image processor) files of `tokenizer_dir`.
fs::path qa_checkpoint(const std::string& name, const fs::path& config_dir, const std::string& architecture, const fs::path& tokenizer_dir,
                       const io::json& changes = io::json::object()) {
    const fs::path dir = test::scratch_dir("document_answer_" + name);
    io::json config = io::read_json_file(config_dir / "config.json");
    config["architectures"] = {architecture};
    config.erase("id2label");
    config.erase("label2id");
    config["num_labels"] = 2;
    config.update(changes);
    std::ofstream(dir / "config.json") << config.dump(2);
    const fs::path out = dir / "model";
    write_random_model(dir / "config.json", out, dtype::f32, 5);
    for (const auto& f : fs::directory_iterator(tokenizer_dir)) {
        const auto file = f.path().filename().string();
        if (file != "config.json" && file != "cases.json" && f.path().extension() != ".safetensors") fs::copy_file(f.path(), out / file);
    }
    return out;
}

// The invoice's first words, on a 1000 x 1000 page.
pipelines::ocr_document qa_page() {
    return {1000, 1000, {"Invoice", "number", "12345", "Total", "due", "$", "1,234.00", "Date", "2019"},
            {{10, 10, 90, 30}, {100, 10, 190, 30}, {200, 10, 290, 30}, {10, 50, 90, 70}, {100, 50, 150, 70},
             {160, 50, 170, 70}, {180, 50, 290, 70}, {10, 90, 90, 110}, {100, 90, 190, 110}}};
}

}  // namespace

TEST_CASE("tokenizers.question_windows: BERT's pair, only the words cut, doc_stride pieces shared" * doctest::test_suite("unit")) {
    const auto bert = tk::wordpiece_tokenizer::from_directory(test::data_path("layoutlm-tokenizer"));
    const std::vector<std::string> words = {"total", "total", "total", "total", "total", "total", "total"};
    std::vector<tk::word_box> boxes;
    for (std::int64_t i = 0; i < 7; ++i) boxes.push_back({i, i, i + 1, i + 1});
    tk::boxed_options options;
    options.max_length = 9;  // [CLS] total ? [SEP] + 4 pieces + [SEP]
    options.pad_to_max_length = false;
    const auto ws = tk::encode_question_windows(bert, "total?", words, boxes, 1, options);
    REQUIRE(ws.size() == 2);  // pieces 0..3, then 3..6
    CHECK(ws[0].input_ids == qa_ids{2, 16, 99, 3, 16, 16, 16, 16, 3});
    CHECK(ws[0].token_type_ids == qa_ids{0, 0, 0, 0, 1, 1, 1, 1, 1});
    CHECK(ws[0].word_ids == qa_ids{-1, -1, -1, -1, 0, 1, 2, 3, -1});
    CHECK(ws[1].word_ids == qa_ids{-1, -1, -1, -1, 3, 4, 5, 6, -1});
    CHECK(ws[1].bbox[0] == tk::word_box{0, 0, 0, 0});
    CHECK(ws[1].bbox[2] == tk::word_box{0, 0, 0, 0});  // the question's pieces, boxed as padding
    CHECK(ws[1].bbox[3] == tk::word_box{1000, 1000, 1000, 1000});
    CHECK(ws[1].bbox[4] == boxes[3]);
    CHECK(ws[1].bbox[8] == tk::word_box{1000, 1000, 1000, 1000});

    // A document that fits is one window, encode_question's pair.
    options.max_length = 64;
    const auto one = tk::encode_question_windows(bert, "total?", words, boxes, 8, options);
    REQUIRE(one.size() == 1);
    CHECK(one[0].input_ids == tk::encode_question(bert, "total?", words, boxes, options).input_ids);

    options.max_length = 9;
    test::check_throws<input_error>([&] { tk::encode_question_windows(bert, "total?", words, boxes, 4, options); },
                                    {"the question has 2 tokens", "leaves 4 of the window's 9", "more than doc_stride = 4"});
    test::check_throws<input_error>([&] { tk::encode_question_windows(bert, " ", words, boxes, 1, options); }, {"has no tokens"});
}

TEST_CASE("tokenizers.question_windows: RoBERTa's pair as LayoutLMv3 and as a LayoutLM with RoBERTa's vocabulary" *
          doctest::test_suite("unit")) {
    const auto dir = test::data_path("layoutlmv3-tokenizer");
    const auto v3 = tk::roberta_word_tokenizer::from_pretrained(dir);
    const auto v1 = tk::roberta_word_tokenizer::from_pretrained(dir, tk::roberta_words_convention::layoutlm);
    const std::vector<std::string> words = {"Total", "Due"};
    const std::vector<tk::word_box> boxes = {{1, 1, 2, 2}, {3, 3, 4, 4}};
    tk::boxed_options options;
    options.max_length = 32;
    options.pad_to_max_length = false;
    // One window equals the pair HF's LayoutLMv3Tokenizer makes (checked on the fixture's cases).
    const auto ws = tk::encode_question_windows(v3, "total?", words, boxes, 4, options);
    REQUIRE(ws.size() == 1);
    const auto pair = tk::encode_question(v3, "total?", words, boxes, options);
    CHECK(ws[0].input_ids == pair.input_ids);
    CHECK(ws[0].bbox == pair.bbox);
    CHECK(ws[0].token_type_ids == qa_ids(pair.input_ids.size(), 0));

    // The LayoutLM convention: the same ids, </s> boxed at 1000s, the question taken as words.
    const auto w1 = tk::encode_question_windows(v1, "total?", words, boxes, 4, options);
    CHECK(w1[0].input_ids == pair.input_ids);
    CHECK(w1[0].bbox[5] == tk::word_box{1000, 1000, 1000, 1000});
    CHECK(w1[0].bbox[6] == tk::word_box{1000, 1000, 1000, 1000});
    CHECK(w1[0].bbox[0] == tk::word_box{0, 0, 0, 0});
    qa_ids split = v1.encode_word("total", true);
    for (const auto id : v1.encode_word("due", false)) split.push_back(id);
    CHECK(v1.question_ids("total\tdue") == split);
    CHECK(v3.question_ids("total\tdue") != split);  // the text: the tab is a piece, "due" has no space before it

    const auto no_prefix = test::scratch_dir("roberta_words_no_prefix");
    for (const char* f : {"vocab.json", "merges.txt"}) fs::copy_file(dir / f, no_prefix / f);
    std::ofstream(no_prefix / "tokenizer_config.json") << R"({"add_prefix_space": false})";
    test::check_throws<config_error>([&] { tk::roberta_word_tokenizer::from_pretrained(no_prefix, tk::roberta_words_convention::layoutlm); },
                                     {"tokenizer_config.json", "add_prefix_space", "expected true"});
}

TEST_CASE("pipelines.document_answer: spans map back to words, boxes and HF's scores, best first over the windows" *
          doctest::test_suite("unit")) {
    const pipelines::document_model model(std::make_shared<const qa_letter_answerer>(), std::make_shared<const test::letter_word_tokenizer>());
    // Pieces: [7 a b] [k] [c d] [l] [e f] [g h]; the question "q" takes CLS q SEP SEP ... SEP: 7 pieces a window of 12.
    const pipelines::ocr_document page{100, 100, {"ab", "k", "cd", "l", "ef", "gh"},
                                       {{1, 1, 5, 5}, {10, 2, 20, 8}, {22, 1, 30, 9}, {31, 3, 40, 7}, {50, 1, 60, 9}, {70, 1, 80, 9}}};
    pipelines::answer_options options;
    options.max_length = 12;
    options.doc_stride = 2;
    options.top_k = 3;
    const auto answers = model.answer(page, "q", options);
    REQUIRE(!answers.empty());
    CHECK(answers.size() <= 3);
    CHECK(answers[0].answer == "k cd l");
    CHECK(answers[0].start == 1);
    CHECK(answers[0].end == 3);
    CHECK(answers[0].window == 0);
    CHECK(answers[0].box == std::array<double, 4>{10, 1, 40, 9});
    // HF's score: each softmax over CLS and the window's 7 pieces (the rest at -10000), CLS then 0.
    const double p = std::exp(10.0) / (std::exp(10.0) + 7.0);
    CHECK(answers[0].score == doctest::Approx(p * p).epsilon(1e-6));
    for (std::size_t i = 1; i < answers.size(); ++i) CHECK(answers[i - 1].score >= answers[i].score);

    // Windows advancing 2 pieces: k..l lies in windows 0 and 1 with the same context size,
    // so it is read twice with one score, and both come back (HF does not merge them).
    pipelines::answer_options overlapping = options;
    overlapping.doc_stride = 5;
    const auto twice = model.answer(page, "q", overlapping);
    REQUIRE(twice.size() >= 2);
    CHECK(twice[0].answer == "k cd l");
    CHECK(twice[1].answer == "k cd l");
    CHECK(twice[0].window == 0);
    CHECK(twice[1].window == 1);
    CHECK(twice[1].score == twice[0].score);

    // Longer than max_answer_len tokens (k c d l is 4) is never an answer.
    options.max_answer_len = 3;
    for (const auto& a : model.answer(page, "q", options)) CHECK(a.answer != "k cd l");

    options.max_answer_len = 15;
    test::check_throws<input_error>([&] { model.answer(page, "", options); }, {"has no tokens"});
    test::check_throws<input_error>([&] { model.answer(page, "qqqqqqq", options); }, {"the question has 7 tokens", "window's 12"});
    options.top_k = 0;
    test::check_throws<input_error>([&] { model.answer(page, "q", options); }, {"top_k is 0"});
}

TEST_CASE("pipelines.document_answer: LayoutLM (WordPiece and RoBERTa vocabularies), LayoutLMv3 with its page, and LiLT answer" *
          doctest::test_suite("unit")) {
    const auto page = qa_page();
    const auto check_answers = [](const pipelines::document_model& model, const pipelines::ocr_document& doc, std::size_t max_length) {
        pipelines::answer_options options;
        options.top_k = 2;
        options.max_length = max_length;
        if (max_length) options.doc_stride = 2;
        const auto answers = model.answer(doc, "What is the total?", options);
        REQUIRE(!answers.empty());
        CHECK(answers.size() <= 2);
        for (const auto& a : answers) {
            CHECK(a.start <= a.end);
            CHECK(a.end < doc.words.size());
            std::string text;
            for (std::size_t w = a.start; w <= a.end; ++w) text += (w == a.start ? "" : " ") + doc.words[w];
            CHECK(a.answer == text);
            CHECK(a.score > 0.0f);
            CHECK(a.score <= 1.0f);
        }
    };
    const auto v3_files = test::scratch_dir("document_answer_v3_files");
    for (const char* folder : {"layoutlmv3-tokenizer", "layoutlmv3-images"})
        for (const auto& f : fs::directory_iterator(test::data_path(folder)))
            if (f.path().filename() != "reference.safetensors") fs::copy_file(f.path(), v3_files / f.path().filename());

    const auto v1 = pipelines::document_model::from_pretrained(
        qa_checkpoint("layoutlm", test::layoutlm_token_cls_model(), "LayoutLMForQuestionAnswering", test::layoutlm_token_cls_model()));
    check_answers(v1, page, 0);
    check_answers(v1, page, 16);  // several windows

    const auto roberta = pipelines::document_model::from_pretrained(qa_checkpoint(
        "layoutlm_roberta", test::layoutlm_token_cls_model(), "LayoutLMForQuestionAnswering", v3_files, {{"vocab_size", 561}, {"pad_token_id", 1}}));
    CHECK(roberta.tokenizer().pair().separators == 2);
    CHECK(roberta.tokenizer().boxes().sep_token_box == tk::word_box{1000, 1000, 1000, 1000});
    check_answers(roberta, page, 0);

    // LayoutLMv3 through document_pipeline: its page made pixel_values by the checkpoint's own processor.
    const auto v3 = pipelines::document_pipeline::from_pretrained(
        qa_checkpoint("layoutlmv3", test::data_path("layoutlmv3-tiny-token-cls"), "LayoutLMv3ForQuestionAnswering", v3_files));
    check_answers(v3.model(), page, 0);
    REQUIRE(v3.reads_page_image());
    CHECK(v3.page_limits().check_size);  // a page the processor could not resize is refused from its header
    const auto chelsea = test::data_path("clip-images/chelsea.png");
    auto with_page = page;
    v3.add_page(with_page, io::read_image(chelsea, v3.page_limits()), "chelsea.png");
    const tensor<4> expected = preprocess::clip_image_processor::from_pretrained(v3_files).preprocess(std::vector<io::rgb_image>{io::read_image(chelsea)});
    CHECK(with_page.pixel_values == expected);
    check_answers(v3.model(), with_page, 0);
    check_answers(v3.model(), with_page, 20);

    check_answers(pipelines::document_model::from_pretrained(
                      qa_checkpoint("lilt", test::data_path("lilt-tiny-token-cls"), "LiltForQuestionAnswering", v3_files)),
                  page, 0);

    const auto v1_pipeline = pipelines::document_pipeline::from_pretrained(test::layoutlm_token_cls_model());
    CHECK(!v1_pipeline.reads_page_image());
    test::check_throws<input_error>([&] { v1_pipeline.add_page(with_page, io::read_image(chelsea), "page.png"); },
                                    {"page.png: a page image", "no preprocessor_config.json and reads none"});

    const auto tagger = pipelines::document_model::from_pretrained(test::layoutlm_token_cls_model());
    test::check_throws<input_error>([&] { tagger.answer(page, "What is the total?"); },
                                    {"needs a LayoutLMForQuestionAnswering checkpoint", "this one is LayoutLMForTokenClassification"});
}
