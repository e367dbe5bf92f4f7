// Document subcommands: tag-document, classify-document, answer, and the document side of
// `mmt tokenize` (WordPiece texts, or words with boxes as any document tokenizer takes them).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "commands.hpp"
#include "option_checks.hpp"
#include "results_json.hpp"
#include "mmt/core/finite.hpp"
#include "mmt/io/json.hpp"
#include "mmt/models/layoutlm/config.hpp"
#include "mmt/models/layoutlmv3/config.hpp"
#include "mmt/models/lilt/config.hpp"
#include "mmt/io/image.hpp"
#include "mmt/pipelines/document_pipeline.hpp"
#include "mmt/pipelines/document_tagging.hpp"
#include "mmt/pipelines/document_tokenizers.hpp"
#include "mmt/tokenizers/layoutlm_words.hpp"
#include "mmt/tokenizers/roberta_word_tokenizer.hpp"
#include "mmt/tokenizers/wordpiece.hpp"

namespace mmt::cli {

namespace {
// The word tokenizer of `dir` for --words-json: the one its config.json's model_type
// names (pipelines/document_tokenizers.hpp), or without a config.json the one its files
// make: vocab.txt WordPiece (LayoutLM), vocab.json + merges.txt LayoutLMv3's BPE.
std::shared_ptr<const tokenizers::word_tokenizer> words_tokenizer(const std::filesystem::path& dir) {
    if (std::filesystem::exists(dir / "config.json")) return pipelines::document_tokenizer_from_pretrained(dir);
    if (std::filesystem::exists(dir / "vocab.txt"))
        return std::make_shared<const tokenizers::wordpiece_tokenizer>(tokenizers::wordpiece_tokenizer::from_directory(dir));
    if (std::filesystem::exists(dir / "vocab.json") && std::filesystem::exists(dir / "merges.txt"))
        return std::make_shared<const tokenizers::roberta_word_tokenizer>(tokenizers::roberta_word_tokenizer::from_pretrained(dir));
    fail<io_error>("tokenize --words-json: '", dir.string(), "' has no config.json, vocab.txt (WordPiece) or vocab.json + merges.txt (LayoutLMv3)");
}

// The tokens a window may hold: the tokenizer's model_max_length, bounded by the
// model's positions when DIR's config.json names a document model.
std::size_t words_default_length(const std::filesystem::path& dir, const tokenizers::word_tokenizer& tokenizer) {
    std::size_t length = tokenizer.model_max_length();
    if (std::filesystem::exists(dir / "config.json")) {
        const io::json config = io::read_json_file(dir / "config.json");
        const std::string where = (dir / "config.json").string(), model_type = config.value("model_type", "");
        if (model_type == "layoutlm") length = std::min(length, layoutlm::config::from_json(config, where).max_position_embeddings);
        if (model_type == "layoutlmv3") {
            const auto c = layoutlmv3::config::from_json(config, where);  // RoBERTa's positions start after pad_token_id
            length = std::min(length, c.max_position_embeddings - std::size_t(c.pad_token_id) - 1);
        }
        if (model_type == "lilt") {
            const auto c = lilt::config::from_json(config, where);
            length = std::min(length, c.max_position_embeddings - std::size_t(c.pad_token_id) - 1);
        }
    }
    if (length == tokenizers::no_max_length)
        fail<input_error>("tokenize: '", dir.string(), "' sets no model_max_length; give --max-length");
    return length;
}

// {"words": [...], "boxes": [[x0, y0, x1, y1], ...]} with optional "max_length",
// "word_labels" (adds "labels") and "question" (a QA pair, truncating the words
// first), boxes on the 0..1000 grid.
io::ordered_json encode_words_file(const tokenizers::word_tokenizer& tokenizer, const std::filesystem::path& file,
                                   std::size_t default_length) {
    tokenizers::boxed_options options;
    const io::json j = io::read_json_file(file, pipelines::ocr_document::words_file_limits(options.max_words));
    const std::string where = file.string();
    if (!j.is_object()) fail<input_error>(where, ": expected {\"words\": [...], \"boxes\": [[x0, y0, x1, y1], ...], \"max_length\": N}");
    const auto get = [&](const char* key, auto& value) {
        auto it = j.find(key);
        if (it == j.end()) return false;
        try {
            value = it->get<std::decay_t<decltype(value)>>();
        } catch (const io::json::exception&) {
            fail<input_error>(where, ": \"", key, "\" has the wrong form (got ", it->dump(), ")");
        }
        return true;
    };
    // Numbers are range-checked before they are converted (nlohmann would wrap -1 and cast 1e300 undefinedly).
    const auto integers = [&](const io::json& value, const std::string& key) {
        if (!value.is_array()) fail<input_error>(where, ": key \"", key, "\" should be an array of integers, got ", value.type_name());
        std::vector<std::int64_t> out;
        for (std::size_t i = 0; i < value.size(); ++i)
            out.push_back(io::json_integer<std::int64_t, input_error>(value[i], key + "[" + std::to_string(i) + "]",
                                                                      std::numeric_limits<std::int64_t>::min(),
                                                                      std::numeric_limits<std::int64_t>::max(), where));
        return out;
    };
    std::vector<std::string> words;
    std::vector<tokenizers::word_box> boxes;
    std::vector<std::int64_t> word_labels;
    std::string question;
    if (!get("words", words) || !j.contains("boxes")) fail<input_error>(where, ": expected keys \"words\" and \"boxes\"");
    const io::json& box_list = j["boxes"];
    if (!box_list.is_array()) fail<input_error>(where, ": key \"boxes\" should be an array of [x0, y0, x1, y1], got ", box_list.type_name());
    for (std::size_t i = 0; i < box_list.size(); ++i) {
        const std::string key = "boxes[" + std::to_string(i) + "]";
        const auto box = integers(box_list[i], key);
        if (box.size() != 4) fail<input_error>(where, ": key \"", key, "\" should be [x0, y0, x1, y1], got ", box.size(), " numbers");
        boxes.push_back({box[0], box[1], box[2], box[3]});
    }
    options.max_length = default_length;
    if (j.contains("max_length"))
        options.max_length = io::json_integer<std::size_t, input_error>(j["max_length"], "max_length", 1, tokenizers::max_padded_length, where);
    const bool labelled = j.contains("word_labels"), asked = get("question", question);
    if (labelled) word_labels = integers(j["word_labels"], "word_labels");
    tokenizers::boxed_encoding e;
    if (asked) {
        if (labelled) fail<input_error>(where, ": \"word_labels\" with a \"question\": a QA pair has no word labels");
        e = tokenizers::encode_question(tokenizer, question, words, boxes, options);
    } else {
        e = tokenizers::encode_words(tokenizer, words, boxes, options, word_labels);
    }
    io::ordered_json out{{"input_ids", e.input_ids}, {"bbox", e.bbox}, {"attention_mask", e.attention_mask}};
    if (dynamic_cast<const tokenizers::wordpiece_tokenizer*>(&tokenizer)) out["token_type_ids"] = e.token_type_ids;  // BERT's; RoBERTa takes none
    if (labelled) out["labels"] = e.labels;
    return out;
}

// What every document command reads: the model, the OCR file, the optional page image,
// and how it prints and treats boxes.
struct document_input_options {
    std::filesystem::path model, document, image;
    bool json = false, clamp_boxes = false;

    void add_to(CLI::App* cmd) {
        cmd->add_option("--model", model, "Model directory: config.json, model.safetensors, the tokenizer files")->required();
        cmd->add_option("OCR", document, "OCR JSON: {\"width\": W, \"height\": H, \"words\": [{\"text\": ..., \"box\": [x0, y0, x1, y1]}, ...]} in pixels")
            ->required();
        cmd->add_option("--image", image, "The page as PNG or JPEG, for models that read it (LayoutLMv3)");
        cmd->add_flag("--json", json, "Print one JSON object instead of a table");
        cmd->add_flag("--clamp-boxes", clamp_boxes, "Pull boxes that leave the page onto it instead of failing");
    }
    pipelines::document_pipeline load() const { return pipelines::document_pipeline::from_pretrained(model, model_options()); }
    // The OCR JSON, with the page image (if given) made pixel_values by the model's own image processor.
    pipelines::ocr_document read(const pipelines::document_pipeline& pipeline) const {
        pipelines::ocr_document doc = pipelines::ocr_document::from_file(document);
        if (!image.empty()) pipeline.add_page(doc, io::read_image(image, pipeline.page_limits()), "--image '" + image.string() + "'");
        return doc;
    }
};

void add_tag_document(CLI::App& app) {
    struct options : document_input_options {
        bool average = false;
        std::optional<std::size_t> stride;
        std::size_t max_length = 0;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("tag-document", "Label every word of an OCR'd page (a token classification head: LayoutLM, LayoutLMv3, LiLT)");
    o->add_to(cmd);
    cmd->add_flag("--average", o->average, "Average the probabilities of a word's pieces (default: its first piece's)");
    cmd->add_option("--stride", o->stride, "Word pieces shared by consecutive windows (default: max length / 4)")
        ->check(in_range<std::size_t>(0));
    cmd->add_option("--max-length", o->max_length, "Tokens per window (default: the model's, at most 512)")->check(in_range<std::size_t>(3, std::size_t{1} << 20));
    cmd->callback([o] {
        const auto pipeline = o->load();
        pipelines::document_options options;
        options.clamp_boxes = o->clamp_boxes;
        options.stride = o->stride;
        options.max_length = o->max_length;
        if (o->average) options.aggregation = pipelines::subword_aggregation::average;
        const auto tags = pipeline.model().tag(o->read(pipeline), options);
        check_finite_scores(tags, "tag-document");
        if (o->json) {
            std::printf("%s\n", tags_json(tags).dump().c_str());
            return;
        }
        for (const auto& t : tags) std::printf("%4zu  %-20s %-12s %.4f\n", t.index, t.text.c_str(), t.label.c_str(), t.score);
    });
}

void add_classify_document(CLI::App& app) {
    struct options : document_input_options {
        std::string function = "auto";
        float threshold = 0.5f;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("classify-document",
                                   "Score each document class (a sequence classification head): every class best first, or with "
                                   "sigmoid scores (multi-label checkpoints) the classes at or above --threshold");
    o->add_to(cmd);
    cmd->add_option("--function", o->function,
                    "softmax, sigmoid or none (raw logits), as HF's function_to_apply; default: sigmoid when config.json's "
                    "problem_type is multi_label_classification, else softmax")
        ->capture_default_str();
    cmd->add_option("--threshold", o->threshold, "With sigmoid scores, the classes at or above it are the document's")->capture_default_str();
    cmd->callback([o] {
        using pipelines::score_function;
        const std::pair<const char*, score_function> functions[] = {
            {"auto", score_function::automatic}, {"softmax", score_function::softmax}, {"sigmoid", score_function::sigmoid}, {"none", score_function::none}};
        pipelines::document_options options;
        options.clamp_boxes = o->clamp_boxes;
        options.threshold = o->threshold;
        const auto* named = std::find_if(std::begin(functions), std::end(functions), [&](const auto& f) { return o->function == f.first; });
        if (named == std::end(functions))
            fail<input_error>("classify-document: --function \"", o->function, "\" is not one of auto, softmax, sigmoid, none");
        options.function = named->second;
        if (!(o->threshold >= 0.0f && o->threshold <= 1.0f))
            fail<input_error>("classify-document: --threshold ", o->threshold, " is outside [0, 1]");
        const auto pipeline = o->load();
        const auto result = pipeline.model().classify(o->read(pipeline), options);
        check_finite_scores(result.probabilities, "classify-document");
        const bool multi_label = result.function == score_function::sigmoid;
        if (o->json) {
            std::printf("%s\n", document_label_json(result, o->threshold).dump().c_str());
            return;
        }
        for (const auto& c : multi_label ? result.labels : result.probabilities) std::printf("%.4f  %s\n", c.score, c.label.c_str());
        if (multi_label && result.labels.empty())
            std::fprintf(stderr, "classify-document: no class scores %.2f or more (best: %s, %.4f)\n", double(o->threshold),
                         result.label.c_str(), double(result.score));
    });
}
void add_answer(CLI::App& app) {
    struct options : document_input_options {
        std::string question;
        std::optional<std::size_t> doc_stride;
        std::size_t max_length = 0, top_k = 1, max_answer_length = 15;
    };
    auto o = std::make_shared<options>();
    auto* cmd = app.add_subcommand("answer", "Answer a question from an OCR'd page (a question answering head: LayoutLM, LayoutLMv3, LiLT), "
                                             "as HF's document-question-answering pipeline");
    o->add_to(cmd);
    cmd->add_option("--question", o->question, "The question to answer from the page's words")->required();
    cmd->add_option("--top-k", o->top_k, "Answers to give, best first")->capture_default_str()->check(in_range<std::size_t>(1, 1000));
    cmd->add_option("--max-answer-length", o->max_answer_length, "Longest answer, in tokens")->capture_default_str()->check(in_range<std::size_t>(1, std::size_t{1} << 20));
    cmd->add_option("--max-length", o->max_length, "Tokens per window, question included (default: the model's, at most 512)")
        ->check(in_range<std::size_t>(4, std::size_t{1} << 20));
    cmd->add_option("--doc-stride", o->doc_stride, "Word pieces shared by consecutive windows (default: min(max length / 2, 256))")
        ->check(in_range<std::size_t>(0));
    cmd->callback([o] {
        const auto pipeline = o->load();
        pipelines::answer_options options;
        options.clamp_boxes = o->clamp_boxes;
        options.max_length = o->max_length;
        options.doc_stride = o->doc_stride;
        options.top_k = o->top_k;
        options.max_answer_len = o->max_answer_length;
        const auto answers = pipeline.model().answer(o->read(pipeline), o->question, options);
        check_finite_scores(answers, "answer");
        if (o->json) {
            io::ordered_json list = io::ordered_json::array();
            for (const auto& a : answers)
                list.push_back({{"answer", a.answer}, {"score", a.score}, {"start", a.start}, {"end", a.end}, {"box", a.box}});
            std::printf("%s\n", io::ordered_json{{"question", o->question}, {"answers", list}}.dump().c_str());
            return;
        }
        for (const auto& a : answers) std::printf("%.4f  %s  (words %zu..%zu)\n", double(a.score), a.answer.c_str(), a.start, a.end);
        if (answers.empty()) std::fprintf(stderr, "answer: no answer within the page's words\n");
    });
}
}  // namespace

void tokenize_wordpiece(const std::filesystem::path& model, std::size_t max_length, const std::vector<std::string>& texts) {
    const auto tokenizer = tokenizers::wordpiece_tokenizer::from_directory(model);
    const std::size_t length = max_length ? max_length : words_default_length(model, tokenizer);
    for (const auto& text : texts) {
        const auto e = tokenizer.encode(text, length, true);
        const io::ordered_json line = {{"input_ids", e.input_ids}, {"attention_mask", e.attention_mask}, {"token_type_ids", e.token_type_ids}};
        std::printf("%s\n", line.dump().c_str());
    }
}

void tokenize_words(const std::filesystem::path& model, std::size_t max_length, const std::filesystem::path& words_json) {
    const auto tokenizer = words_tokenizer(model);
    const std::size_t length = max_length ? max_length : words_default_length(model, *tokenizer);
    std::printf("%s\n", encode_words_file(*tokenizer, words_json, length).dump().c_str());
}

void add_layoutlm_commands(CLI::App& app) {
    add_tag_document(app);
    add_classify_document(app);
    add_answer(app);
}

}  // namespace mmt::cli
