// RoBERTa's byte-level BPE (roberta_bpe.hpp) over a document's pre-split words, as
// the tokenizers of two kinds of layout checkpoint run it:
//   - LayoutLMv3Tokenizer (transformers/models/layoutlmv3/tokenization_layoutlmv3.py,
//     4.45; LiLT ships it too): every special token boxed at [0, 0, 0, 0], and a
//     question tokenized as text;
//   - a LayoutLM (v1) checkpoint with RoBERTa's vocabulary (impira/layoutlm-document-qa:
//     RobertaTokenizer over pre-split words): </s> boxed at [1000, 1000, 1000, 1000] as
//     LayoutLM's [SEP], and a question split into words, as HF's document
//     question-answering pipeline hands it to a LayoutLM.
// Each word is tokenized on its own with add_prefix_space, so every word, the first
// one too, starts with "Ġ" unless it starts with whitespace. As a word_tokenizer it
// gives encode_words and its windows (layoutlm_words.hpp) <s> and </s> around the
// pieces and <pad> after them, and word labels on each word's first piece.
// A question makes a pair, "<s> question </s></s> words </s>" (encode_question and
// its windows in layoutlm_words.hpp), the question's pieces boxed as padding. HF
// returns no token_type_ids; boxed_encoding's are zeros, which RoBERTa-vocabulary
// models read as none.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/tokenizers/common.hpp"
#include "mmt/tokenizers/layoutlm_words.hpp"
#include "mmt/tokenizers/roberta_bpe.hpp"
#include "mmt/tokenizers/unicode.hpp"
#include "mmt/tokenizers/word_tokenizer.hpp"

namespace mmt::tokenizers {

// Whose conventions a roberta_word_tokenizer follows where the two kinds differ.
enum class roberta_words_convention {
    layoutlmv3,  // specials boxed at zeros, a question tokenized as text
    layoutlm,    // </s> boxed at 1000s, a question split into words; add_prefix_space required
};

// Loaded once, then const: one tokenizer serves many threads (change
// max_input_bytes before sharing it).
class roberta_word_tokenizer final : public word_tokenizer {
public:
    // Reads vocab.json and merges.txt, plus tokenizer_config.json and
    // special_tokens_map.json when present (the class's defaults otherwise:
    // add_prefix_space for LayoutLMv3Tokenizer; the boxes it saves, LayoutLM's fixed ones). io_error for a
    // missing vocab.json or merges.txt, format_error for a broken one, config_error for
    // a broken setting, and for a LayoutLM checkpoint without add_prefix_space, which
    // HF's RobertaTokenizerFast refuses for pre-split words.
    static roberta_word_tokenizer from_pretrained(const std::filesystem::path& dir,
                                                  roberta_words_convention convention = roberta_words_convention::layoutlmv3) {
        const auto settings = read_tokenizer_settings(dir);
        // Labels follow HF's defaults only; another setting would change them silently.
        if (const auto label = settings.get<std::int64_t>("pad_token_label", ignored_label); label != ignored_label) {
            fail<config_error>(settings.config_where, ": key \"pad_token_label\" is ", label, "; expected ", ignored_label,
                               ", the only label mmt gives padding and special tokens");
        }
        if (!settings.get("only_label_first_subword", true)) {
            fail<config_error>(settings.config_where,
                               ": key \"only_label_first_subword\" is false; expected true, the only labelling mmt does");
        }
        const bool v3 = convention == roberta_words_convention::layoutlmv3;
        auto bpe = roberta_bpe_tokenizer::from_pretrained(dir, settings, v3);
        if (!v3 && !bpe.add_prefix_space())
            fail<config_error>(settings.config_where, ": key \"add_prefix_space\" is false or missing; expected true, "
                               "which RoBERTa's tokenizer needs for the pre-split words of a document");
        // RobertaTokenizer has no boxes: LayoutLM's pipelines give </s> [SEP]'s, whatever the files say.
        special_boxes layoutlm;
        layoutlm.sep_token_box = {1000, 1000, 1000, 1000};
        return roberta_word_tokenizer{std::move(bpe), v3 ? special_boxes::from_settings(settings, {}) : layoutlm, convention};
    }

    // HF tokenize() of a text (a question): RoBERTa's tokens, no special tokens added.
    std::vector<std::string> tokenize(const std::string& text) const { return bpe_.tokenize(text); }

    // HF convert_ids_to_tokens; input_error for an id with no token.
    std::vector<std::string> convert_ids_to_tokens(const std::vector<std::int64_t>& ids) const {
        return bpe_.convert_ids_to_tokens(ids);
    }

    // A pre-split word's pieces as ids: each word is tokenized on its own, first or not.
    std::vector<std::int64_t> encode_word(const std::string& word, bool /*first_word*/) const override {
        return bpe_.convert_tokens_to_ids(bpe_.tokenize(word));
    }

    // LayoutLMv3's question is its text; a LayoutLM's, its words (Python's str.split()).
    std::vector<std::int64_t> question_ids(const std::string& question) const override {
        if (convention_ == roberta_words_convention::layoutlmv3) return bpe_.convert_tokens_to_ids(bpe_.tokenize(question));
        check_input_bytes("roberta_word_tokenizer: the question", question.size(), max_input_bytes());
        std::vector<std::int64_t> ids;
        const std::u32string chars = unicode::decode_utf8(question);
        for (std::size_t begin = 0, end = 0; begin < chars.size(); begin = end) {
            while (begin < chars.size() && unicode::is_space(chars[begin])) ++begin;
            for (end = begin; end < chars.size() && !unicode::is_space(chars[end]);) ++end;
            if (end == begin) break;
            const auto word = encode_word(unicode::encode_utf8(chars.substr(begin, end - begin)), ids.empty());
            ids.insert(ids.end(), word.begin(), word.end());
        }
        return ids;
    }
    pair_format pair() const override { return {2, 0}; }  // <s> q </s></s> w </s>, no token types

    // Ids back to text, each word with the space before it; input_error for an id
    // with no token.
    std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens = true) const override {
        return bpe_.decode(ids, skip_special_tokens);
    }

    std::int64_t cls_token_id() const override { return bpe_.cls_token_id(); }
    std::int64_t sep_token_id() const override { return bpe_.sep_token_id(); }
    std::int64_t pad_token_id() const override { return bpe_.pad_token_id(); }
    std::int64_t mask_token_id() const override { return bpe_.mask_token_id(); }
    std::int64_t unk_token_id() const override { return bpe_.unk_token_id(); }
    special_boxes boxes() const override { return boxes_; }
    std::size_t vocab_size() const override { return bpe_.vocab_size(); }
    std::size_t model_max_length() const override { return bpe_.model_max_length(); }
    // tokenize and question_ids refuse longer texts, encode_words longer documents
    // (default_max_input_bytes).
    std::size_t max_input_bytes() const override { return bpe_.max_input_bytes(); }
    void set_max_input_bytes(std::size_t bytes) { bpe_.set_max_input_bytes(bytes); }

private:
    roberta_word_tokenizer(roberta_bpe_tokenizer bpe, special_boxes boxes, roberta_words_convention convention)
        : bpe_(std::move(bpe)), boxes_(boxes), convention_(convention) {}

    roberta_bpe_tokenizer bpe_;
    special_boxes boxes_;
    roberta_words_convention convention_;
};

}  // namespace mmt::tokenizers
