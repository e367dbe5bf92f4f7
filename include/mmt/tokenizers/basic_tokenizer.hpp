// HF BasicTokenizer (transformers/models/bert/tokenization_bert.py): the text
// clean-up and word splitting in front of WordPiece, which CLIPTokenizer also
// uses (without punctuation splitting or accent stripping) when ftfy is absent.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "mmt/tokenizers/unicode.hpp"

namespace mmt::tokenizers {

// BERT's _is_whitespace: space, \t, \n, \r and category Zs.
inline bool is_bert_whitespace(char32_t c) {
    return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || unicode::category(c) == UTF8PROC_CATEGORY_ZS;
}

// BERT's _is_control: any category C*, except \t \n \r, which count as whitespace.
inline bool is_bert_control(char32_t c) {
    if (c == U'\t' || c == U'\n' || c == U'\r') return false;
    return unicode::is_other(c);
}

// BERT's _is_punctuation: every non-alphanumeric printable ASCII character (so $ ^ `
// count, though Unicode calls them symbols) plus the Unicode P* categories.
inline bool is_bert_punctuation(char32_t c) {
    if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
    return unicode::is_punctuation(c);
}

// Python's str.split(): runs of non-space characters.
inline std::vector<std::u32string> split_on_spaces(std::u32string_view text) {
    std::vector<std::u32string> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && unicode::is_space(text[i])) ++i;
        const std::size_t start = i;
        while (i < text.size() && !unicode::is_space(text[i])) ++i;
        if (i > start) out.emplace_back(text.substr(start, i - start));
    }
    return out;
}

struct basic_tokenizer {
    bool do_lower_case = true;
    // Unset: follow do_lower_case, as the original BERT did.
    std::optional<bool> strip_accents;
    bool tokenize_chinese_chars = true;
    bool do_split_on_punc = true;
    // Tokens kept whole: neither lower-cased nor split (HF passes the special tokens here).
    // A set: a config may list tens of thousands, and every word is looked up.
    std::unordered_set<std::u32string> never_split;

    // BasicTokenizer.tokenize: clean, isolate CJK ideographs, NFC, split on spaces,
    // lower-case / strip accents per word, split off punctuation.
    std::vector<std::u32string> tokenize(std::u32string_view text) const {
        std::u32string cleaned;
        cleaned.reserve(text.size());
        for (char32_t c : text) {
            if (c == 0 || c == unicode::replacement_character || is_bert_control(c)) continue;
            if (is_bert_whitespace(c)) {
                cleaned += U' ';
            } else if (tokenize_chinese_chars && unicode::is_cjk_ideograph(c)) {
                cleaned += U' ';
                cleaned += c;
                cleaned += U' ';
            } else {
                cleaned += c;
            }
        }

        std::vector<std::u32string> out;
        for (std::u32string& word : split_on_spaces(unicode::nfc(cleaned))) {
            if (!is_never_split(word)) {
                if (do_lower_case) {
                    word = unicode::to_lower(word);
                    if (strip_accents.value_or(true)) word = unicode::strip_accents(word);
                } else if (strip_accents.value_or(false)) {
                    word = unicode::strip_accents(word);
                }
            }
            // HF re-splits the pieces on spaces at the end; that also drops empty ones.
            for (std::u32string& piece : split_on_spaces(word)) {
                if (!do_split_on_punc || is_never_split(piece)) {
                    out.push_back(std::move(piece));
                } else {
                    split_on_punctuation(piece, out);
                }
            }
        }
        return out;
    }

private:
    bool is_never_split(const std::u32string& word) const {
        return never_split.count(word) != 0;
    }

    // Every punctuation character becomes a token of its own.
    static void split_on_punctuation(std::u32string_view word, std::vector<std::u32string>& out) {
        std::size_t start = 0;
        for (std::size_t i = 0; i < word.size(); ++i) {
            if (!is_bert_punctuation(word[i])) continue;
            if (i > start) out.emplace_back(word.substr(start, i - start));
            out.emplace_back(1, word[i]);
            start = i + 1;
        }
        if (start < word.size()) out.emplace_back(word.substr(start));
    }
};

}  // namespace mmt::tokenizers
