// A made-up tokenizers::word_tokenizer, to show that encode_words and the document
// pipeline take every id from the tokenizer: each letter a..z of a word is one id
// (10 + letter), the first word with text starts with an extra id 7 (as a tokenizer
// that treats the first word apart would), and its specials are none of WordPiece's:
// CLS 3, SEP 4, pad 5, mask 6, unk 9, boxed at [0, 0, 0, 1], [0, 0, 0, 2] and
// [0, 0, 0, 3] (CLS, SEP, pad). Anything but a..z is an input_error. A question is
// its letters (spaces dropped), and a (question, words) pair has two SEPs between
// them and token type 1 from the words on, as no real tokenizer does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/tokenizers/word_tokenizer.hpp"

namespace mmt::test {

class letter_word_tokenizer final : public tokenizers::word_tokenizer {
public:
    explicit letter_word_tokenizer(std::size_t max_input_bytes = 1000) : max_input_bytes_(max_input_bytes) {}

    std::vector<std::int64_t> encode_word(const std::string& word, bool first_word) const override {
        std::vector<std::int64_t> ids;
        if (first_word) ids.push_back(7);
        for (const char c : word) {
            if (c < 'a' || c > 'z') fail<input_error>("letter_word_tokenizer: '", c, "' in \"", word, "\"; expected a..z");
            ids.push_back(10 + (c - 'a'));
        }
        return ids;
    }
    std::vector<std::int64_t> question_ids(const std::string& question) const override {
        std::string letters;
        for (const char c : question)
            if (c != ' ') letters += c;
        return letters.empty() ? std::vector<std::int64_t>{} : encode_word(letters, false);
    }
    tokenizers::pair_format pair() const override { return {2, 1}; }
    std::string decode(const std::vector<std::int64_t>& ids, bool) const override {
        std::string out;
        for (const auto id : ids) out += id >= 10 && id < 36 ? char('a' + (id - 10)) : '?';
        return out;
    }
    std::int64_t cls_token_id() const override { return 3; }
    std::int64_t sep_token_id() const override { return 4; }
    std::int64_t pad_token_id() const override { return 5; }
    std::int64_t mask_token_id() const override { return 6; }
    std::int64_t unk_token_id() const override { return 9; }
    tokenizers::special_boxes boxes() const override { return {{0, 0, 0, 1}, {0, 0, 0, 2}, {0, 0, 0, 3}}; }
    std::size_t vocab_size() const override { return 36; }
    std::size_t model_max_length() const override { return 8; }
    std::size_t max_input_bytes() const override { return max_input_bytes_; }

private:
    std::size_t max_input_bytes_;
};

}  // namespace mmt::test
