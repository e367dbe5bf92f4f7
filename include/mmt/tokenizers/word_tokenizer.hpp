// What encode_words (tokenizers/layoutlm_words.hpp) and the document pipeline
// (pipelines/document_tagging.hpp) need of a tokenizer over pre-split OCR words:
// the ids of one word and of a question, the special ids that frame and pad a
// sequence or a (question, words) pair and the boxes they get, the limits, and decode
// for the masked-LM fill. LayoutLM's WordPiece (tokenizers/wordpiece.hpp) and
// RoBERTa's byte-level BPE over words (tokenizers/roberta_word_tokenizer.hpp)
// implement it.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/tokenizers/common.hpp"

namespace mmt::tokenizers {

// x0, y0, x1, y1 on LayoutLM's 0..1000 page grid.
using word_box = std::array<std::int64_t, 4>;

// The boxes a tokenizer gives its special tokens and padding (HF LayoutLMv2Tokenizer's
// and LayoutLMv3Tokenizer's cls_token_box, sep_token_box, pad_token_box). The
// conventions differ: LayoutLM v1/v2 put [SEP] at [1000, 1000, 1000, 1000],
// LayoutLMv3 every special at zeros.
struct special_boxes {
    word_box cls_token_box{0, 0, 0, 0};
    word_box sep_token_box{0, 0, 0, 0};
    word_box pad_token_box{0, 0, 0, 0};

    // The boxes tokenizer_config.json saves, `defaults` (the class's) for those it
    // does not. config_error naming the key for anything but four integers.
    static special_boxes from_settings(const tokenizer_settings& settings, special_boxes defaults) {
        const auto read = [&](const char* key, word_box& box) {
            std::vector<std::int64_t> saved(box.begin(), box.end());
            io::json_optional(settings.config, key, saved, settings.config_where);
            if (saved.size() != 4) {
                fail<config_error>(settings.config_where, ": key \"", key, "\" should be a box [x0, y0, x1, y1], got ",
                                   saved.size(), " numbers");
            }
            std::copy(saved.begin(), saved.end(), box.begin());
        };
        read("cls_token_box", defaults.cls_token_box);
        read("sep_token_box", defaults.sep_token_box);
        read("pad_token_box", defaults.pad_token_box);
        return defaults;
    }
};

// How a tokenizer frames a (question, words) pair (HF build_inputs_with_special_tokens
// and create_token_type_ids_from_sequences for two sequences): BERT's
// "[CLS] q [SEP] w [SEP]" with token type 1 from the words on, RoBERTa's
// "<s> q </s></s> w </s>" with every token type 0.
struct pair_format {
    std::size_t separators = 1;          // SEP tokens between the question and the words
    std::int64_t second_token_type = 1;  // token_type_ids of the words and the last SEP
};

// Implementations are loaded once, then const: every method may be called from many
// threads at once.
class word_tokenizer {
public:
    virtual ~word_tokenizer() = default;

    // The ids of one word of a document, no special tokens added; `first_word` is true
    // for the first word with text (a tokenizer that puts a space before words may
    // treat it apart). HF's tokenize + convert_tokens_to_ids on the word, as
    // prepare_for_model runs them for pre-split words. input_error on invalid UTF-8.
    virtual std::vector<std::int64_t> encode_word(const std::string& word, bool first_word) const = 0;
    // A question about the document as HF's document question-answering pipeline
    // tokenizes it for this tokenizer's model (a LayoutLM's question.split() words, a
    // LayoutLMv3's text), no special tokens added. input_error on invalid UTF-8.
    virtual std::vector<std::int64_t> question_ids(const std::string& question) const = 0;
    virtual pair_format pair() const = 0;
    // Ids back to text; input_error for an id the tokenizer does not know.
    virtual std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens) const = 0;

    virtual std::int64_t cls_token_id() const = 0;   // opens every sequence ([CLS], <s>)
    virtual std::int64_t sep_token_id() const = 0;   // closes it ([SEP], </s>)
    virtual std::int64_t pad_token_id() const = 0;
    virtual std::int64_t mask_token_id() const = 0;  // what fill_mask fills in
    virtual std::int64_t unk_token_id() const = 0;
    virtual special_boxes boxes() const = 0;
    // HF's vocab_size (added tokens not counted): the model's word embeddings need at
    // least as many rows.
    virtual std::size_t vocab_size() const = 0;
    // tokenizer_config.json's model_max_length; no_max_length (common.hpp) when unset.
    virtual std::size_t model_max_length() const = 0;
    // encode_words refuses documents of more bytes of text.
    virtual std::size_t max_input_bytes() const = 0;

protected:
    word_tokenizer() = default;
    word_tokenizer(const word_tokenizer&) = default;
    word_tokenizer& operator=(const word_tokenizer&) = default;
};

}  // namespace mmt::tokenizers
