// A document's words and boxes as layout model inputs, the way HF LayoutLMv2Tokenizer
// encodes pre-split words (transformers/models/layoutlmv2/tokenization_layoutlmv2.py,
// prepare_for_model; LayoutLMv3's is the same over BPE), through any word_tokenizer
// (LayoutLM's BERT WordPiece, LayoutLMv3's byte-level BPE): every word piece carries
// its word's box, the tokenizer's CLS token ([CLS], <s>), SEP token and padding the
// tokenizer's boxes for them, and with word labels the first piece of each word
// carries its word's label. Also windows over documents longer than one sequence,
// with word ids so that a pipeline can merge per-token predictions back into
// per-word ones.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/tokenizers/common.hpp"
#include "mmt/tokenizers/word_tokenizer.hpp"

namespace mmt::tokenizers {

struct boxed_encoding {
    std::vector<std::int64_t> input_ids;       // [seq_len]
    std::vector<word_box> bbox;                // [seq_len, 4]
    std::vector<std::int64_t> attention_mask;  // [seq_len]: 1 for tokens, 0 for padding
    std::vector<std::int64_t> token_type_ids;  // [seq_len], all 0
    std::vector<std::int64_t> word_ids;        // [seq_len]: index into the words, -1 for CLS, SEP, padding
    // [seq_len] with word labels (else empty): a word's label on its first piece,
    // ignored_label on its other pieces, the special tokens and padding.
    std::vector<std::int64_t> labels;
};

// HF's pad_token_label, PyTorch CrossEntropyLoss's ignore_index.
inline constexpr std::int64_t ignored_label = -100;

struct boxed_options {
    std::size_t max_length = 512;
    bool pad_to_max_length = true;
    // Cut the word pieces that do not fit (HF truncation=True); otherwise a document
    // that does not fit is an input_error (use encode_words_windows for it).
    bool truncation = true;
    // Pull coordinates outside 0..1000 onto the grid instead of rejecting them.
    bool clamp_boxes = false;
    // Longer documents are an input_error before any word is tokenized; their total
    // bytes are bounded by the tokenizer's max_input_bytes.
    std::size_t max_words = 100'000;
};

// LayoutLM's normalize_box: pixel coordinates to the 0..1000 grid, int(1000 * (x / size))
// with Python's truncation toward zero. input_error for a page without a positive size.
inline word_box normalize_box(const std::array<double, 4>& box, double width, double height) {
    if (!(width > 0) || !(height > 0) || !std::isfinite(width) || !std::isfinite(height)) {
        fail<input_error>("normalize_box: page size ", width, " x ", height, "; expected a positive width and height");
    }
    const auto scale = [](double x, double size) {
        const double v = 1000.0 * (x / size);
        if (!std::isfinite(v) || std::fabs(v) > 1e15) {
            fail<input_error>("normalize_box: coordinate ", x, " on a page of size ", size, " is not a finite number");
        }
        return static_cast<std::int64_t>(v);
    };
    return {scale(box[0], width), scale(box[1], height), scale(box[2], width), scale(box[3], height)};
}

namespace detail {

// The word pieces of a whole document, each with the index of its word.
struct document_pieces {
    std::vector<std::int64_t> ids;
    std::vector<std::int64_t> word_ids;
    std::vector<word_box> boxes;       // the checked (or clamped) box of every word
    std::vector<std::int64_t> labels;  // per piece, with word labels: its word's label on the first, else ignored_label
};

inline word_box checked_box(word_box box, std::size_t index, const std::string& word, bool clamp) {
    static constexpr const char* names[] = {"x0", "y0", "x1", "y1"};
    for (std::size_t k = 0; k < 4; ++k) {
        if (clamp) box[k] = std::clamp<std::int64_t>(box[k], 0, 1000);
        if (box[k] < 0 || box[k] > 1000) {
            fail<input_error>("layoutlm words: word ", index, " (\"", word, "\") has ", names[k], " = ", box[k],
                              "; expected box coordinates in 0..1000 (normalize_box scales pixels, or set clamp_boxes)");
        }
    }
    if (box[2] < box[0] || box[3] < box[1]) {
        fail<input_error>("layoutlm words: word ", index, " (\"", word, "\") has box [", box[0], ", ", box[1], ", ",
                          box[2], ", ", box[3], "]; expected x0 <= x1 and y0 <= y1");
    }
    return box;
}

inline document_pieces tokenize_document(const word_tokenizer& tokenizer, const std::vector<std::string>& words,
                                         const std::vector<word_box>& boxes, const boxed_options& options,
                                         const std::vector<std::int64_t>& word_labels) {
    if (words.size() != boxes.size()) {
        fail<input_error>("layoutlm words: ", words.size(), " words but ", boxes.size(),
                          " boxes; expected one box per word");
    }
    if (!word_labels.empty() && word_labels.size() != words.size()) {
        fail<input_error>("layoutlm words: ", words.size(), " words but ", word_labels.size(),
                          " word labels; expected one label per word");
    }
    if (words.empty()) fail<input_error>("layoutlm words: the document has no words; expected at least one");
    if (words.size() > options.max_words) {
        fail<input_error>("layoutlm words: the document has ", words.size(), " words; expected at most ",
                          options.max_words, " (boxed_options::max_words)");
    }
    std::size_t bytes = 0;
    for (const auto& word : words) bytes += word.size();
    check_input_bytes("layoutlm words: the document", bytes, tokenizer.max_input_bytes());
    const bool clamp = options.clamp_boxes;
    document_pieces doc;
    doc.boxes.reserve(boxes.size());
    bool first_word = true;
    for (std::size_t i = 0; i < words.size(); ++i) {
        doc.boxes.push_back(checked_box(boxes[i], i, words[i], clamp));
        // An empty word gives no pieces (HF skips it, its label too); its box is still checked.
        if (words[i].empty()) continue;
        std::vector<std::int64_t> ids;
        try {
            ids = tokenizer.encode_word(words[i], first_word);
        } catch (const input_error& e) {
            fail<input_error>("layoutlm words: word ", i, ": ", e.what());
        }
        first_word = false;
        doc.ids.insert(doc.ids.end(), ids.begin(), ids.end());
        doc.word_ids.insert(doc.word_ids.end(), ids.size(), static_cast<std::int64_t>(i));
        if (!word_labels.empty() && !ids.empty()) {  // only_label_first_subword
            doc.labels.push_back(word_labels[i]);
            doc.labels.insert(doc.labels.end(), ids.size() - 1, ignored_label);
        }
    }
    return doc;
}

// One token that is no word piece (CLS, SEP, a question's piece): no word, no label.
inline void append_token(boxed_encoding& out, std::int64_t id, const word_box& box, bool labelled) {
    out.input_ids.push_back(id);
    out.bbox.push_back(box);
    out.attention_mask.push_back(1);
    out.token_type_ids.push_back(0);
    out.word_ids.push_back(-1);
    if (labelled) out.labels.push_back(ignored_label);
}

// The document's pieces [begin, end), each with its word's box, index and label.
inline void append_pieces(boxed_encoding& out, const document_pieces& doc, std::size_t begin, std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
        const auto word = doc.word_ids[i];
        out.input_ids.push_back(doc.ids[i]);
        out.bbox.push_back(doc.boxes[static_cast<std::size_t>(word)]);
        out.attention_mask.push_back(1);
        out.token_type_ids.push_back(0);
        out.word_ids.push_back(word);
        if (!doc.labels.empty()) out.labels.push_back(doc.labels[i]);
    }
}

// Right padding to `length`: the pad id and box, attention 0, no word, no label.
inline void pad(boxed_encoding& out, const word_tokenizer& tokenizer, std::size_t length) {
    check_padded_length("encode_words", length);
    if (out.input_ids.size() >= length) return;
    out.input_ids.resize(length, tokenizer.pad_token_id());
    out.bbox.resize(length, tokenizer.boxes().pad_token_box);
    out.attention_mask.resize(length, 0);
    out.token_type_ids.resize(length, 0);
    out.word_ids.resize(length, -1);
    if (!out.labels.empty()) out.labels.resize(length, ignored_label);
}

// "CLS pieces[begin, end) SEP", truncated (SEP kept) and padded to options.
inline boxed_encoding assemble(const word_tokenizer& tokenizer, const document_pieces& doc, std::size_t begin,
                               std::size_t end, const boxed_options& options) {
    if (options.max_length < 2) {
        fail<input_error>("encode_words: max_length ", options.max_length,
                          " leaves no room; expected at least 2 for the two special tokens");
    }
    const auto boxes = tokenizer.boxes();
    const bool labelled = !doc.labels.empty();
    boxed_encoding out;
    append_token(out, tokenizer.cls_token_id(), boxes.cls_token_box, labelled);
    append_pieces(out, doc, begin, begin + std::min(end - begin, options.max_length - 2));
    append_token(out, tokenizer.sep_token_id(), boxes.sep_token_box, labelled);
    if (options.pad_to_max_length) pad(out, tokenizer, options.max_length);
    return out;
}

// The tokenizer's question pair: "CLS question[0, asked) SEP (SEP) pieces[begin, end) SEP",
// the question's pieces boxed as padding, the words' part and its SEP of the pair's
// second token type; padded to options.
inline boxed_encoding assemble_pair(const word_tokenizer& tokenizer, const std::vector<std::int64_t>& question, std::size_t asked,
                                    const document_pieces& doc, std::size_t begin, std::size_t end, const boxed_options& options) {
    const auto boxes = tokenizer.boxes();
    const auto pair = tokenizer.pair();
    boxed_encoding out;
    append_token(out, tokenizer.cls_token_id(), boxes.cls_token_box, false);
    for (std::size_t i = 0; i < asked; ++i) append_token(out, question[i], boxes.pad_token_box, false);
    for (std::size_t i = 0; i < pair.separators; ++i) append_token(out, tokenizer.sep_token_id(), boxes.sep_token_box, false);
    const std::size_t second = out.input_ids.size();
    append_pieces(out, doc, begin, end);
    append_token(out, tokenizer.sep_token_id(), boxes.sep_token_box, false);
    std::fill(out.token_type_ids.begin() + std::ptrdiff_t(second), out.token_type_ids.end(), pair.second_token_type);
    if (options.pad_to_max_length) pad(out, tokenizer, options.max_length);
    return out;
}

// The question's ids; input_error when it has none.
inline std::vector<std::int64_t> question_pieces(const word_tokenizer& tokenizer, const std::string& question) {
    auto ids = tokenizer.question_ids(question);
    if (ids.empty()) fail<input_error>("question: \"", question, "\" has no tokens; expected text to ask");
    return ids;
}

}  // namespace detail

// One sequence for the document; with `word_labels` (one per word) its labels too.
// input_error naming the word for a bad box, for words, boxes and labels of
// different lengths and for an empty document.
inline boxed_encoding encode_words(const word_tokenizer& tokenizer, const std::vector<std::string>& words,
                                   const std::vector<word_box>& boxes, const boxed_options& options = {},
                                   const std::vector<std::int64_t>& word_labels = {}) {
    const auto doc = detail::tokenize_document(tokenizer, words, boxes, options, word_labels);
    if (!options.truncation && options.max_length >= 2 && doc.ids.size() > options.max_length - 2) {
        fail<input_error>("encode_words: the document has ", doc.ids.size(), " word pieces; expected at most ",
                          options.max_length - 2, " to fit max_length ", options.max_length,
                          " (set truncation or use encode_words_windows)");
    }
    return detail::assemble(tokenizer, doc, 0, doc.ids.size(), options);
}

// HF tokenizer(question, words, boxes=boxes) with truncation=True: the tokenizer's pair
// (pair_format), truncated longest first (one piece at a time off the end of the
// longer part, the words' on a tie) and padded to options. input_error for an empty
// question, a max_length that leaves no room for the pair's special tokens, a pair
// that does not fit without options.truncation, and what encode_words refuses.
inline boxed_encoding encode_question(const word_tokenizer& tokenizer, const std::string& question,
                                      const std::vector<std::string>& words, const std::vector<word_box>& boxes,
                                      const boxed_options& options = {}) {
    const std::size_t specials = 2 + tokenizer.pair().separators;
    if (options.max_length < specials) {
        fail<input_error>("encode_question: max_length ", options.max_length, " leaves no room; expected at least ", specials,
                          " for the special tokens of a question and words");
    }
    const auto question_ids = detail::question_pieces(tokenizer, question);
    const auto doc = detail::tokenize_document(tokenizer, words, boxes, options, {});
    std::size_t asked = question_ids.size(), read = doc.ids.size();
    const std::size_t room = options.max_length - specials;
    if (asked + read > room && !options.truncation) {
        fail<input_error>("encode_question: the question has ", asked, " pieces and the words ", read, "; expected at most ", room,
                          " together to fit max_length ", options.max_length, " (set truncation)");
    }
    while (asked + read > room) {
        if (asked > read) {
            --asked;
        } else {
            --read;
        }
    }
    return detail::assemble_pair(tokenizer, question_ids, asked, doc, 0, read, options);
}

// The question with the whole document, as HF's document question-answering pipeline
// encodes them (a fast tokenizer with truncation="only_second",
// return_overflowing_tokens and stride=doc_stride): every window holds the whole
// question and at most max_length - question - specials word pieces, each window
// starting doc_stride pieces before the previous one ended. input_error for an empty
// question, a question that leaves no more than doc_stride pieces of room (name the
// sizes), and what encode_words refuses.
inline std::vector<boxed_encoding> encode_question_windows(const word_tokenizer& tokenizer, const std::string& question,
                                                           const std::vector<std::string>& words, const std::vector<word_box>& boxes,
                                                           std::size_t doc_stride, const boxed_options& options = {}) {
    const auto question_ids = detail::question_pieces(tokenizer, question);
    const std::size_t taken = question_ids.size() + 2 + tokenizer.pair().separators;
    if (taken + doc_stride >= options.max_length) {
        fail<input_error>("question answering: the question has ", question_ids.size(), " tokens, which with the pair's special tokens leaves ",
                          options.max_length > taken ? options.max_length - taken : 0, " of the window's ", options.max_length,
                          " for the words; expected more than doc_stride = ", doc_stride, " (ask a shorter question, or lower the stride)");
    }
    const auto doc = detail::tokenize_document(tokenizer, words, boxes, options, {});
    const std::size_t capacity = options.max_length - taken;
    std::vector<boxed_encoding> windows;
    for (std::size_t begin = 0;; begin += capacity - doc_stride) {
        const std::size_t end = std::min(begin + capacity, doc.ids.size());
        windows.push_back(detail::assemble_pair(tokenizer, question_ids, question_ids.size(), doc, begin, end, options));
        if (end == doc.ids.size()) break;
    }
    return windows;
}

// The whole document as windows of at most max_length - 2 word pieces, each starting
// `stride` pieces before the previous one ended (the overlap of HF's fast tokenizers
// with return_overflowing_tokens), so every piece is seen at least once and every
// window is a complete model input. options.truncation is irrelevant here.
inline std::vector<boxed_encoding> encode_words_windows(const word_tokenizer& tokenizer,
                                                        const std::vector<std::string>& words,
                                                        const std::vector<word_box>& boxes, std::size_t stride,
                                                        const boxed_options& options = {},
                                                        const std::vector<std::int64_t>& word_labels = {}) {
    if (options.max_length < 3 || stride >= options.max_length - 2) {
        fail<input_error>("encode_words_windows: stride ", stride, " with max_length ", options.max_length,
                          "; expected max_length >= 3 and stride < max_length - 2 so that windows advance");
    }
    const auto doc = detail::tokenize_document(tokenizer, words, boxes, options, word_labels);
    const std::size_t capacity = options.max_length - 2;
    std::vector<boxed_encoding> windows;
    for (std::size_t begin = 0;; begin += capacity - stride) {
        const std::size_t end = std::min(begin + capacity, doc.ids.size());
        windows.push_back(detail::assemble(tokenizer, doc, begin, end, options));
        if (end == doc.ids.size()) break;
    }
    return windows;
}

}  // namespace mmt::tokenizers
