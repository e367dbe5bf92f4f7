// LayoutLMv3's tokenizer, as HF's slow LayoutLMv3Tokenizer runs it
// (transformers/models/layoutlmv3/tokenization_layoutlmv3.py, 4.45): RoBERTa's
// byte-level BPE (roberta_bpe.hpp) on each pre-split word with add_prefix_space, so
// every word, the first one too, starts with "Ġ" unless it starts with whitespace.
// As a word_tokenizer it gives encode_words and its windows (layoutlm_words.hpp)
// <s> and </s> around the pieces, <pad> after them, all three boxed at
// [0, 0, 0, 0], and word labels on each word's first piece.
// A question makes a pair, "<s> question </s></s> words </s>" (encode_question):
// the question's pieces are boxed as padding, and truncation takes one piece at a
// time from the longer of the two. HF returns no token_type_ids; boxed_encoding's are
// zeros, which LayoutLMv3 reads as none.
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
#include "mmt/tokenizers/word_tokenizer.hpp"

namespace mmt::tokenizers {

// Loaded once, then const: one tokenizer serves many threads (change
// max_input_bytes before sharing it).
class layoutlmv3_tokenizer final : public word_tokenizer {
public:
    // Reads vocab.json and merges.txt, plus tokenizer_config.json and
    // special_tokens_map.json when present (LayoutLMv3Tokenizer's defaults otherwise:
    // add_prefix_space, every special box at zeros). io_error for a missing vocab.json
    // or merges.txt, format_error for a broken one, config_error for a broken setting.
    static layoutlmv3_tokenizer from_pretrained(const std::filesystem::path& dir) {
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
        return layoutlmv3_tokenizer{roberta_bpe_tokenizer::from_pretrained(dir, settings, true),
                                    special_boxes::from_settings(settings, {})};
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

    // HF tokenizer(question, words, boxes=boxes): "<s> question </s></s> words </s>",
    // truncated (longest first) and padded to options. input_error for an empty question,
    // a max_length below the pair's 4 special tokens, a pair that does not fit without
    // options.truncation, and what encode_words refuses.
    boxed_encoding encode_question(const std::string& question, const std::vector<std::string>& words,
                                   const std::vector<word_box>& boxes, const boxed_options& options = {}) const {
        if (options.max_length < 4) {
            fail<input_error>("layoutlmv3_tokenizer: max_length ", options.max_length,
                              " leaves no room; expected at least 4 for a question and words (<s> </s></s> </s>)");
        }
        const auto question_ids = bpe_.convert_tokens_to_ids(bpe_.tokenize(question));
        if (question_ids.empty()) fail<input_error>("layoutlmv3_tokenizer: the question is empty; expected text to ask");
        const auto doc = detail::tokenize_document(*this, words, boxes, options, {});

        // truncate_sequences with longest_first: one piece at a time off the end of the
        // longer sequence, the words' on a tie.
        std::size_t asked = question_ids.size(), read = doc.ids.size();
        const std::size_t room = options.max_length - 4;
        if (asked + read > room && !options.truncation) {
            fail<input_error>("layoutlmv3_tokenizer: the question has ", asked, " pieces and the words ", read,
                              "; expected at most ", room, " together to fit max_length ", options.max_length,
                              " (set truncation)");
        }
        while (asked + read > room) {
            if (asked > read) {
                --asked;
            } else {
                --read;
            }
        }

        boxed_encoding out;
        detail::append_token(out, cls_token_id(), boxes_.cls_token_box, false);
        for (std::size_t i = 0; i < asked; ++i) detail::append_token(out, question_ids[i], boxes_.pad_token_box, false);
        detail::append_token(out, sep_token_id(), boxes_.sep_token_box, false);
        detail::append_token(out, sep_token_id(), boxes_.sep_token_box, false);
        detail::append_pieces(out, doc, 0, read);
        detail::append_token(out, sep_token_id(), boxes_.sep_token_box, false);
        if (options.pad_to_max_length) detail::pad(out, *this, options.max_length);
        return out;
    }

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
    // tokenize and encode_question refuse longer texts, encode_words longer documents
    // (default_max_input_bytes).
    std::size_t max_input_bytes() const override { return bpe_.max_input_bytes(); }
    void set_max_input_bytes(std::size_t bytes) { bpe_.set_max_input_bytes(bytes); }

private:
    layoutlmv3_tokenizer(roberta_bpe_tokenizer bpe, special_boxes boxes) : bpe_(std::move(bpe)), boxes_(boxes) {}

    roberta_bpe_tokenizer bpe_;
    special_boxes boxes_;
};

}  // namespace mmt::tokenizers
