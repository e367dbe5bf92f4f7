// Document understanding with a layout model (LayoutLM, LayoutLMv3, LiLT) from OCR
// output: words with pixel boxes and the page size in, a label per word (token
// classification), a label for the document (sequence classification), the answer to
// a question (extractive question answering) or the tokens behind [MASK] words
// (masked LM) out. Boxes are normalised to LayoutLM's 0..1000 grid as HF's LayoutLM examples do
// (int(1000 * x / width)); documents longer than one sequence are cut into
// overlapping windows and the predictions merged back, so every word gets exactly
// one answer.
//
// Which window answers for a word seen by several: the one where the word's first
// word piece has the most context on its nearer side, i.e. is furthest from a cut
// (the start and end of the document are not cuts); ties go to the earlier window.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/json.hpp"
#include "mmt/models/auto_model.hpp"
#include "mmt/models/interfaces/document_input.hpp"
#include "mmt/models/interfaces/document_question_answerer.hpp"
#include "mmt/models/interfaces/document_sequence_classifier.hpp"
#include "mmt/models/interfaces/document_token_tagger.hpp"
#include "mmt/models/layoutlm/heads.hpp"
#include "mmt/ops/softmax.hpp"
#include "mmt/pipelines/answer_spans.hpp"
#include "mmt/pipelines/document_tokenizers.hpp"
#include "mmt/pipelines/ocr_document.hpp"
#include "mmt/tokenizers/layoutlm_words.hpp"
#include "mmt/tokenizers/word_tokenizer.hpp"

namespace mmt::pipelines {

// How a word made of several word pieces gets its label.
enum class subword_aggregation {
    first,    // the first piece's prediction (how LayoutLM token classifiers are trained)
    average,  // the mean of the pieces' probabilities, then the best label (HF's "average")
};

// How classification turns logits into scores, as HF's text-classification pipeline's
// function_to_apply: automatic is sigmoid for a multi_label_classification checkpoint
// (or a single output), softmax otherwise.
enum class score_function { automatic, softmax, sigmoid, none };

struct document_options {
    bool clamp_boxes = false;
    // Tokens per window, CLS and SEP included; 0: the tokenizer's model_max_length
    // bounded by the model's max_position_embeddings.
    std::size_t max_length = 0;
    // Word pieces consecutive windows share; default max_length / 4.
    std::optional<std::size_t> stride;
    subword_aggregation aggregation = subword_aggregation::first;
    score_function function = score_function::automatic;  // classification
    float threshold = 0.5f;  // classification with sigmoid scores: the labels at or above it are the document's
};

// Extractive question answering, HF's document-question-answering pipeline's
// arguments and defaults.
struct answer_options {
    bool clamp_boxes = false;
    // Tokens per window (HF's max_seq_len); 0: as document_options::max_length.
    std::size_t max_length = 0;
    // Word pieces consecutive windows share; default min(max_length / 2, 256).
    std::optional<std::size_t> doc_stride;
    std::size_t top_k = 1;
    std::size_t max_answer_len = 15;  // tokens
};

struct document_answer {
    std::string answer;              // the words start..end, joined by spaces
    float score = 0;                 // start probability x end probability in its window
    std::size_t start = 0, end = 0;  // the first and last word, indices into the document's words
    std::array<double, 4> box{};     // the answer's words' boxes together (x0, y0, x1, y1), in the document's pixels
    std::size_t window = 0;          // the window it was read in
};

struct word_label {
    std::size_t index = 0;         // into the document's words
    std::string text;
    tokenizers::word_box box{};    // on the 0..1000 grid
    std::int64_t label_id = 0;
    std::string label;             // id2label[label_id]
    float score = 0;               // its probability
    std::size_t window = 0;        // the window whose prediction it is
};

struct class_score {
    std::string label;
    std::int64_t label_id = 0;
    float score = 0;
};

struct document_label {
    std::string label;  // the best label
    std::int64_t label_id = 0;
    float score = 0;
    std::vector<class_score> probabilities;  // every label's score, best first
    score_function function = score_function::softmax;  // what made the scores (never automatic)
    // The document's labels: with sigmoid scores every label at or above the threshold (a
    // page may be an invoice and a receipt at once, or neither), else the best one.
    std::vector<class_score> labels;
};

struct token_score {
    std::string token;
    std::int64_t id = 0;
    float score = 0;
};

struct mask_fill {
    std::size_t word = 0;                  // the [MASK] word's index
    std::vector<token_score> candidates;   // best first
};

// A layout model (any interfaces::document_input: LayoutLM, LayoutLMv3, LiLT) and its
// word tokenizer (any tokenizers::word_tokenizer). Tagging needs an
// interfaces::document_token_tagger, classification an
// interfaces::document_sequence_classifier, answer an
// interfaces::document_question_answerer; fill_mask is LayoutLM's masked LM.
// Loaded once, then const.
class document_model {
public:
    // config.json, model.safetensors (any family auto_model loads) and the tokenizer
    // files of the model_type's entry in document_tokenizers (LayoutLM: vocab.txt
    // + tokenizer_config.json, special_tokens_map.json).
    static document_model from_pretrained(const std::filesystem::path& dir, mmt::load_options options = {}) {
        const auto model = std::make_shared<const auto_model>(auto_model::from_pretrained(dir, options));
        const auto* layout = model->as<interfaces::document_input>();
        if (!layout) fail<config_error>("document model: '", dir.string(), "' holds a ", model->architecture(), ", not a layout model");
        return {std::shared_ptr<const interfaces::document_input>(model, layout), document_tokenizer_from_pretrained(dir)};
    }

    // config_error when the tokenizer can produce ids the word embeddings lack.
    document_model(std::shared_ptr<const interfaces::document_input> model, std::shared_ptr<const tokenizers::word_tokenizer> tokenizer)
        : model_(std::move(model)), tokenizer_(std::move(tokenizer)) {
        if (tokenizer_->vocab_size() > model_->vocab_size())
            fail<config_error>("document model: the tokenizer's vocabulary has ", tokenizer_->vocab_size(),
                               " tokens but the model's word embeddings only ", model_->vocab_size(),
                               " rows (vocab_size); expected the tokenizer files of this checkpoint");
    }

    // A model and a tokenizer held by value, e.g. a layoutlm::pretrained_model and a wordpiece_tokenizer.
    template <class Model, class Tokenizer,
              std::enable_if_t<std::is_base_of_v<interfaces::document_input, Model> && std::is_base_of_v<tokenizers::word_tokenizer, Tokenizer>,
                               int> = 0>
    document_model(Model model, Tokenizer tokenizer)
        : document_model(std::make_shared<const Model>(std::move(model)), std::make_shared<const Tokenizer>(std::move(tokenizer))) {}

    // The model as its own class, for what the interfaces do not cover; input_error when it is another.
    template <class Model = layoutlm::pretrained_model>
    const Model& model() const { return as<Model>("the class asked for"); }
    const tokenizers::word_tokenizer& tokenizer() const { return *tokenizer_; }

    std::size_t max_length(const document_options& o) const { return window_length(o.max_length); }
    std::size_t stride(const document_options& o) const { return o.stride ? *o.stride : max_length(o) / 4; }

    // The document as model inputs: windows of at most max_length tokens, unpadded.
    std::vector<tokenizers::boxed_encoding> windows(const ocr_document& doc, const document_options& o = {}) const {
        return encode(doc, normalize_boxes(doc, o.clamp_boxes), o);
    }

    // LayoutLMForTokenClassification: one label per word.
    std::vector<word_label> tag(const ocr_document& doc, const document_options& o = {}) const {
        const auto boxes = normalize_boxes(doc, o.clamp_boxes);
        const auto ws = encode(doc, boxes, o);
        const auto layout = piece_layout(ws, doc.words.size(), stride(o));
        const auto& tagger = as<interfaces::document_token_tagger>("a token classification head");
        const std::size_t labels = model_->num_labels();
        std::vector<tensor<3>> probs;  // per window: [1, seq_len, num_labels]
        for (const auto& w : ws) {
            probs.push_back(tagger.token_class_logits(inputs_of(w, doc)));
            ops::softmax(probs.back().data(), probs.back().shape(1), labels);
        }
        std::vector<word_label> out;  // words without pieces have no tag; the others keep their index in the document
        for (std::size_t word = 0; word < doc.words.size(); ++word) {
            const auto at = layout.best_position(word);
            if (!at) continue;
            const auto [window, position] = *at;
            const std::string what = "document tagging: word " + std::to_string(word) + " (\"" + doc.words[word] + "\")";
            const auto& ids = ws[window].word_ids;
            std::vector<float> p(labels, 0.0f);
            std::size_t pieces = 0;
            for (std::size_t s = position; s < ids.size() && ids[s] == std::int64_t(word); ++s) {
                for (std::size_t k = 0; k < labels; ++k) p[k] += probs[window](0, s, k);
                ++pieces;
                if (o.aggregation == subword_aggregation::first) break;
            }
            for (auto& v : p) v /= float(pieces);
            const std::size_t best = std::size_t(std::max_element(p.begin(), p.end()) - p.begin());
            const auto id = std::int64_t(best);  // the classifier's k-th output is label id k
            out.push_back({word, doc.words[word], boxes[word], id, model_->label_of(id, what), p[best], window});
        }
        return out;
    }

    // LayoutLMForSequenceClassification and the like: the document's label(s), scored by
    // o.function. A document of several windows gets the mean of the windows' scores.
    document_label classify(const ocr_document& doc, const document_options& o = {}) const {
        const auto& classifier = as<interfaces::document_sequence_classifier>("a sequence classification head");
        if (!(o.threshold >= 0.0f && o.threshold <= 1.0f))
            fail<input_error>("document classification: threshold ", o.threshold, " is outside [0, 1]");
        const std::size_t labels = model_->num_labels();
        document_label out;
        out.function = o.function;
        if (out.function == score_function::automatic)
            out.function = model_->problem_type() == "multi_label_classification" || labels == 1 ? score_function::sigmoid
                                                                                                 : score_function::softmax;
        const auto ws = windows(doc, o);
        std::vector<float> p(labels, 0.0f);
        for (const auto& w : ws) {
            tensor<2> scores = classifier.sequence_class_logits(inputs_of(w, doc));  // [1, num_labels]
            if (out.function == score_function::softmax) ops::softmax_row(scores.data(), labels);
            if (out.function == score_function::sigmoid)
                for (float& x : scores) x = 1.0f / (1.0f + std::exp(-x));
            for (std::size_t k = 0; k < labels; ++k) p[k] += scores(0, k) / float(ws.size());
        }
        for (std::size_t k = 0; k < labels; ++k) {
            const auto id = std::int64_t(k);
            out.probabilities.push_back({model_->label_of(id, "document classification"), id, p[k]});
        }
        std::stable_sort(out.probabilities.begin(), out.probabilities.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
        out.label = out.probabilities.front().label;
        out.label_id = out.probabilities.front().label_id;
        out.score = out.probabilities.front().score;
        for (const auto& c : out.probabilities)
            if (out.function == score_function::sigmoid ? c.score >= o.threshold : out.labels.empty()) out.labels.push_back(c);
        return out;
    }

    // ...ForQuestionAnswering: the `o.top_k` most likely answers to `question` in the
    // document, best first, as HF's document-question-answering pipeline finds them
    // (given the words and boxes): the question with windows of the words
    // (tokenizers::encode_question_windows), each window's top_k spans
    // (best_answer_spans; the first token, CLS, takes part in the softmax as HF's
    // p_mask leaves it), those that map to words kept, then the best top_k over all
    // windows (a span read in two windows may come twice, as in HF). Fewer may come
    // back, none when no span scores within the context. input_error for an empty
    // question, one too long for the window, and what tag refuses.
    std::vector<document_answer> answer(const ocr_document& doc, const std::string& question, const answer_options& o = {}) const {
        const auto& answerer = as<interfaces::document_question_answerer>("a question answering head");
        const auto boxes = normalize_boxes(doc, o.clamp_boxes);
        tokenizers::boxed_options options;
        options.max_length = window_length(o.max_length);
        options.pad_to_max_length = false;
        const std::size_t doc_stride = o.doc_stride ? *o.doc_stride : std::min<std::size_t>(options.max_length / 2, 256);
        const auto ws = tokenizers::encode_question_windows(*tokenizer_, question, doc.words, boxes, doc_stride, options);
        std::vector<document_answer> out;
        for (std::size_t k = 0; k < ws.size(); ++k) {
            const auto& w = ws[k];
            const span_logits logits = answerer.question_answering_logits(inputs_of(w, doc));  // [1, >= seq_len]
            std::vector<bool> context(w.word_ids.size());
            for (std::size_t i = 0; i < context.size(); ++i) context[i] = i == 0 || w.word_ids[i] >= 0;
            for (const auto& span : best_answer_spans(logits.start_logits.data(), logits.end_logits.data(), context, o.top_k, o.max_answer_len)) {
                if (w.word_ids[span.start] < 0 || w.word_ids[span.end] < 0) continue;  // CLS: no word, as HF's word_ids None
                document_answer a;
                a.start = std::size_t(w.word_ids[span.start]);
                a.end = std::size_t(w.word_ids[span.end]);
                a.score = span.score;
                a.window = k;
                a.box = doc.boxes[a.start];
                for (std::size_t word = a.start; word <= a.end; ++word) {
                    a.answer += (word == a.start ? "" : " ") + doc.words[word];
                    for (std::size_t c = 0; c < 2; ++c) a.box[c] = std::min(a.box[c], doc.boxes[word][c]);
                    for (std::size_t c = 2; c < 4; ++c) a.box[c] = std::max(a.box[c], doc.boxes[word][c]);
                }
                out.push_back(std::move(a));
            }
        }
        std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
        if (out.size() > o.top_k) out.resize(o.top_k);
        return out;
    }

    // LayoutLMForMaskedLM: the `top_k` most likely tokens for every word written "[MASK]".
    std::vector<mask_fill> fill_mask(const ocr_document& doc, std::size_t top_k = 5, const document_options& o = {}) const {
        if (top_k == 0) fail<input_error>("fill_mask: top_k is 0, expected at least 1");
        const auto ws = windows(doc, o);
        const auto layout = piece_layout(ws, doc.words.size(), stride(o));
        std::vector<mask_fill> out;
        std::vector<std::optional<tensor<3>>> scores(ws.size());  // [1, seq_len, vocab_size], computed when needed
        for (std::size_t word = 0; word < doc.words.size(); ++word) {
            const auto at = layout.best_position(word);
            if (!at) continue;  // an empty word, never "[MASK]"
            const auto [window, position] = *at;
            if (ws[window].input_ids[position] != tokenizer_->mask_token_id()) continue;
            if (!scores[window]) scores[window] = model().masked_lm_logits(inputs_of(ws[window], doc));
            const std::size_t vocab = scores[window]->shape(2);
            std::vector<float> p(&(*scores[window])(0, position, 0), &(*scores[window])(0, position, 0) + vocab);
            ops::softmax_row(p.data(), vocab);
            std::vector<std::size_t> order(vocab);
            for (std::size_t i = 0; i < vocab; ++i) order[i] = i;
            const std::size_t k = std::min(top_k, vocab);
            std::partial_sort(order.begin(), order.begin() + std::ptrdiff_t(k), order.end(),
                              [&](std::size_t a, std::size_t b) { return p[a] > p[b] || (p[a] == p[b] && a < b); });
            mask_fill fill{word, {}};
            for (std::size_t i = 0; i < k; ++i)
                fill.candidates.push_back({tokenizer_->decode({std::int64_t(order[i])}, false), std::int64_t(order[i]), p[order[i]]});
            out.push_back(std::move(fill));
        }
        if (out.empty()) fail<input_error>("fill_mask: the document has no word \"[MASK]\"; expected at least one to fill in");
        return out;
    }

private:
    // Tokens per window: `asked`, else the tokenizer's model_max_length bounded by the model's positions.
    std::size_t window_length(std::size_t asked) const {
        return asked ? asked : std::min(tokenizer_->model_max_length(), model_->max_tokens());
    }

    // Where each word's first piece sits in each window, found from the windows alone:
    // window k covers document pieces [begin_k, begin_k + n_k) with begin_{k+1} =
    // begin_k + n_k - stride (encode_words_windows' contract).
    struct windows_layout {
        struct window_span {
            std::size_t begin = 0, end = 0;  // document pieces it covers
        };
        std::vector<window_span> spans;
        std::size_t total = 0;                                        // pieces in the document
        std::vector<std::size_t> first_piece;                         // per word; npos when it has none
        static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();

        // The (window, token position) of the word's first piece with the most context;
        // none for a word without pieces (empty, or only spaces and control characters),
        // which HF's tokenizers give no tokens, so HF's pipelines no prediction.
        std::optional<std::pair<std::size_t, std::size_t>> best_position(std::size_t word) const {
            const std::size_t g = first_piece[word];
            if (g == npos) return std::nullopt;
            std::size_t best_window = 0, best_context = 0;
            bool found = false;
            for (std::size_t k = 0; k < spans.size(); ++k) {
                if (g < spans[k].begin || g >= spans[k].end) continue;
                const std::size_t left = spans[k].begin == 0 ? npos : g - spans[k].begin;
                const std::size_t right = spans[k].end == total ? npos : spans[k].end - 1 - g;
                const std::size_t context = std::min(left, right);
                if (!found || context > best_context) best_window = k, best_context = context, found = true;
            }
            return std::pair{best_window, 1 + g - spans[best_window].begin};  // + 1 for CLS
        }
    };

    static windows_layout piece_layout(const std::vector<tokenizers::boxed_encoding>& ws, std::size_t words, std::size_t stride) {
        windows_layout layout;
        layout.first_piece.assign(words, windows_layout::npos);
        std::size_t begin = 0;
        for (const auto& w : ws) {
            const std::size_t n = w.input_ids.size() - 2;  // unpadded: CLS pieces SEP
            layout.spans.push_back({begin, begin + n});
            for (std::size_t i = 0; i < n; ++i) {
                const auto word = w.word_ids[i + 1];
                layout.first_piece[std::size_t(word)] = std::min(layout.first_piece[std::size_t(word)], begin + i);
            }
            layout.total = begin + n;
            begin += n - stride;
        }
        return layout;
    }

    std::vector<tokenizers::boxed_encoding> encode(const ocr_document& doc, const std::vector<tokenizers::word_box>& boxes,
                                                   const document_options& o) const {
        tokenizers::boxed_options options;
        options.max_length = max_length(o);
        options.pad_to_max_length = false;
        return tokenizers::encode_words_windows(*tokenizer_, doc.words, boxes, stride(o), options);
    }

    // The model as `T` (an interface or its class); input_error saying what was `wanted` when it is not.
    template <class T>
    const T& as(const char* wanted) const {
        const auto* t = dynamic_cast<const T*>(model_.get());
        if (!t) fail<input_error>("document model: needs ", wanted, "; the model is a ", model_->architecture());
        return *t;
    }

    // One window with the document's page, if it has one.
    static interfaces::document_inputs inputs_of(const tokenizers::boxed_encoding& w, const ocr_document& doc) {
        const std::size_t n = w.input_ids.size();
        interfaces::document_inputs in{int_tensor<2>({1, n}), int_tensor<3>({1, n, 4}), int_tensor<2>({1, n}), int_tensor<2>({1, n}),
                                       doc.pixel_values};
        if (doc.pixel_values.size() != 0 && doc.pixel_values.shape(0) != 1)
            fail<shape_error>("document: pixel_values holds ", doc.pixel_values.shape(0), " pages, expected 1 ([1, channels, H, W])");
        for (std::size_t s = 0; s < n; ++s) {
            in.input_ids(0, s) = w.input_ids[s];
            for (std::size_t k = 0; k < 4; ++k) in.bbox(0, s, k) = w.bbox[s][k];
            in.attention_mask(0, s) = w.attention_mask[s];
            in.token_type_ids(0, s) = w.token_type_ids[s];
        }
        return in;
    }

    std::shared_ptr<const interfaces::document_input> model_;
    std::shared_ptr<const tokenizers::word_tokenizer> tokenizer_;
};

}  // namespace mmt::pipelines
