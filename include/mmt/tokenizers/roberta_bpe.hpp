// RoBERTa's byte-level BPE tokenizer, as HF's slow RobertaTokenizer runs it
// (transformers/models/roberta/tokenization_roberta.py, 4.45) and the tokenizers
// copied from it (LayoutLMv3Tokenizer):
//  1. add_prefix_space: a space goes in front of a text that starts with neither
//     whitespace nor an added token (prepare_for_tokenization), so a text's first
//     word is spelled as every later one;
//  2. the added tokens written in the text are cut out ("<mask>" takes the
//     whitespace before it along, lstrip);
//  3. GPT-2's pattern splits the rest into words that keep the space before them:
//     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//     (case-sensitive);
//  4. each word runs through the shared byte-level BPE (byte_level_bpe.hpp) with no
//     end-of-word mark: the space becomes "Ġ" on the word's first symbol.
// Nothing is normalised or lower-cased, and every byte has a symbol, so no text is
// lost and a complete vocabulary never needs "<unk>".
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/tokenizers/byte_level_bpe.hpp"
#include "mmt/tokenizers/common.hpp"
#include "mmt/tokenizers/unicode.hpp"

namespace mmt::tokenizers {

namespace detail {

// GPT-2's pattern (above) over the whole text, its alternatives tried in order at
// each position as the regex module does. \s is unicode::is_white_space.
inline std::vector<std::u32string_view> gpt2_split(std::u32string_view text) {
    static constexpr std::u32string_view contractions[] = {U"'s", U"'t", U"'re", U"'ve", U"'m", U"'ll", U"'d"};
    const auto other = [](char32_t c) {
        return !unicode::is_white_space(c) && !unicode::is_letter(c) && !unicode::is_number(c);
    };
    const auto run = [&](std::size_t from, auto&& in_class) {
        while (from < text.size() && in_class(text[from])) ++from;
        return from;
    };
    std::vector<std::u32string_view> out;
    for (std::size_t pos = 0; pos < text.size();) {
        std::size_t end = pos;
        for (auto literal : contractions) {
            if (text.substr(pos, literal.size()) == literal) {
                end = pos + literal.size();
                break;
            }
        }
        if (end == pos) {
            // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": one space may lead the run.
            const std::size_t start = text[pos] == U' ' && pos + 1 < text.size() ? pos + 1 : pos;
            const char32_t c = text[start];
            if (unicode::is_letter(c)) {
                end = run(start, unicode::is_letter);
            } else if (unicode::is_number(c)) {
                end = run(start, unicode::is_number);
            } else if (other(c)) {
                end = run(start, other);
            }
        }
        if (end == pos) {
            // "\s+(?!\S)" leaves the last space of a run to the word after it; "\s+" takes
            // a lone one before a word that the alternatives above did not.
            end = run(pos, unicode::is_white_space);
            if (end < text.size() && end - pos > 1) --end;
        }
        out.push_back(text.substr(pos, end - pos));
        pos = end;
    }
    return out;
}

}  // namespace detail

// Loaded once, then const: one tokenizer serves many threads (change
// max_input_bytes before sharing it).
class roberta_bpe_tokenizer {
public:
    // Reads vocab.json and merges.txt, plus tokenizer_config.json and
    // special_tokens_map.json when present. `add_prefix_space` is the class's default
    // when tokenizer_config.json does not say (RobertaTokenizer: false,
    // LayoutLMv3Tokenizer: true). config_error for a special token without an id.
    static roberta_bpe_tokenizer from_pretrained(const std::filesystem::path& dir, bool add_prefix_space = false) {
        return from_pretrained(dir, read_tokenizer_settings(dir), add_prefix_space);
    }

    // The same with the settings read already (by a tokenizer built on this one).
    static roberta_bpe_tokenizer from_pretrained(const std::filesystem::path& dir, const tokenizer_settings& settings,
                                                 bool add_prefix_space) {
        roberta_bpe_tokenizer t{byte_level_bpe::from_files(dir / "vocab.json", dir / "merges.txt")};
        const std::string vocab_where = (dir / "vocab.json").string();
        std::vector<added_token> specials;
        const auto special = [&](const char* key, const char* fallback) {
            const auto token = settings.special_token(key, fallback);
            specials.push_back({token, special_token_id(settings, t.bpe_.encoder(), vocab_where, key, token)});
            t.special_ids_.push_back(specials.back().id);
            return specials.back().id;
        };
        t.bos_token_id_ = special("bos_token", "<s>");
        t.eos_token_id_ = special("eos_token", "</s>");
        t.sep_token_id_ = special("sep_token", "</s>");
        t.cls_token_id_ = special("cls_token", "<s>");
        t.unk_token_id_ = special("unk_token", "<unk>");
        t.pad_token_id_ = special("pad_token", "<pad>");
        t.mask_token_id_ = special("mask_token", "<mask>");
        specials.back().lstrip = true;  // "The mask token behaves like a normal word": it takes the space before it
        t.added_tokens_ = no_split_tokens(settings, specials);
        t.add_prefix_space_ = settings.get("add_prefix_space", add_prefix_space);
        t.clean_up_tokenization_spaces_ = settings.get("clean_up_tokenization_spaces", false);
        t.model_max_length_ = settings.model_max_length;
        return t;
    }

    // HF tokenize(): the BPE tokens of `text`, no special tokens added; added tokens
    // written in the text come out whole. input_error on invalid UTF-8 (naming the
    // byte offset) or a text longer than max_input_bytes.
    std::vector<std::string> tokenize(const std::string& text) const {
        check_input_bytes("roberta_bpe_tokenizer", text.size(), max_input_bytes_);
        const bool prefix = add_prefix_space_ && needs_prefix_space(text);
        const auto plain = [&](std::u32string chars, std::size_t offset, std::vector<std::string>& out) {
            if (prefix && offset == 0) chars.insert(chars.begin(), U' ');
            for (auto word : detail::gpt2_split(chars)) bpe_.bpe(byte_level_bpe::byte_symbols(unicode::encode_utf8(word)), out);
        };
        return tokenize_around_added_tokens(text, added_tokens_, plain);
    }

    // Added tokens first, then the vocabulary; unknown tokens become unk_token's id.
    std::vector<std::int64_t> convert_tokens_to_ids(const std::vector<std::string>& tokens) const {
        return tokens_to_ids(tokens, added_tokens_, bpe_.encoder(), unk_token_id_);
    }

    // The token of each id (added tokens' content included); input_error for an id
    // with no token.
    std::vector<std::string> convert_ids_to_tokens(const std::vector<std::int64_t>& ids) const {
        std::vector<std::string> tokens;
        tokens.reserve(ids.size());
        for (std::size_t i = 0; i < ids.size(); ++i) {
            tokens.push_back(bpe_.checked_token(ids, i, added_tokens_, "roberta_bpe_tokenizer::convert_ids_to_tokens"));
        }
        return tokens;
    }

    // Ids back to text: bytes reassembled (a word's space included, so the text starts
    // with one when its first word had "Ġ"), invalid UTF-8 replaced by U+FFFD
    // (errors="replace"). input_error for an id with no token.
    std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens = true) const {
        std::string text = bpe_.decode(ids, added_tokens_, skip_special_tokens ? special_ids_ : std::vector<std::int64_t>{},
                                       "roberta_bpe_tokenizer::decode");
        return clean_up_tokenization_spaces_ ? clean_up_tokenization(std::move(text)) : text;
    }

    std::size_t model_max_length() const { return model_max_length_; }
    // tokenize refuses longer texts (default_max_input_bytes).
    std::size_t max_input_bytes() const { return max_input_bytes_; }
    void set_max_input_bytes(std::size_t bytes) { max_input_bytes_ = bytes; }
    // HF's vocab_size: vocab.json's entries, added tokens not counted.
    std::size_t vocab_size() const { return bpe_.encoder().size(); }
    bool add_prefix_space() const { return add_prefix_space_; }
    std::int64_t bos_token_id() const { return bos_token_id_; }
    std::int64_t eos_token_id() const { return eos_token_id_; }
    std::int64_t sep_token_id() const { return sep_token_id_; }
    std::int64_t cls_token_id() const { return cls_token_id_; }
    std::int64_t unk_token_id() const { return unk_token_id_; }
    std::int64_t pad_token_id() const { return pad_token_id_; }
    std::int64_t mask_token_id() const { return mask_token_id_; }

private:
    explicit roberta_bpe_tokenizer(byte_level_bpe bpe) : bpe_(std::move(bpe)) {}

    // prepare_for_tokenization: not before leading whitespace, nor before an added token.
    bool needs_prefix_space(std::string_view text) const {
        if (text.empty()) return false;
        const auto first = unicode::detail::read_utf8(text, 0);
        if (first.valid && unicode::is_space(first.code_point)) return false;
        return !added_tokens_.longest_at(text, 0);
    }

    byte_level_bpe bpe_;  // vocab.json and merges.txt
    added_vocabulary added_tokens_;
    std::vector<std::int64_t> special_ids_;  // all_special_ids: what decode skips
    std::int64_t bos_token_id_ = 0, eos_token_id_ = 2, sep_token_id_ = 2, cls_token_id_ = 0;
    std::int64_t unk_token_id_ = 3, pad_token_id_ = 1, mask_token_id_ = 0;
    bool add_prefix_space_ = false;
    bool clean_up_tokenization_spaces_ = false;
    std::size_t model_max_length_ = no_max_length;
    std::size_t max_input_bytes_ = default_max_input_bytes;
};

}  // namespace mmt::tokenizers
