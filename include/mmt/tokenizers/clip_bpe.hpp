// CLIP's byte-level BPE tokenizer, as HF CLIPTokenizer runs it without ftfy
// (transformers/models/clip/tokenization_clip.py): BasicTokenizer clean-up
// (control characters dropped, whitespace collapsed, NFC, lower-case), CLIP's
// split pattern, then the shared byte-level BPE (byte_level_bpe.hpp) with "</w>"
// closing each word.
// One deliberate difference from the slow tokenizer: a run of CJK ideographs stays
// one word, as in CLIPTokenizerFast and OpenAI's tokenizer, instead of one word per
// ideograph.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/tokenizers/basic_tokenizer.hpp"
#include "mmt/tokenizers/byte_level_bpe.hpp"
#include "mmt/tokenizers/common.hpp"
#include "mmt/tokenizers/unicode.hpp"

namespace mmt::tokenizers {

namespace detail {

inline constexpr std::u32string_view clip_start_of_text = U"<|startoftext|>";
inline constexpr std::u32string_view clip_end_of_text = U"<|endoftext|>";

// Whether `text` starts with the lower-case ASCII `literal` under the pattern's
// re.IGNORECASE. Text is lower-cased already; the one character still folding onto
// ASCII here is the long s (U+017F), which Python's regex matches as "s".
inline bool matches_ignoring_case(std::u32string_view text, std::u32string_view literal) {
    if (text.size() < literal.size()) return false;
    for (std::size_t i = 0; i < literal.size(); ++i) {
        const char32_t c = text[i] == U'\u017F' ? U's' : text[i];
        if (c != literal[i]) return false;
    }
    return true;
}

// CLIP's pattern on one lower-cased word; the word has no spaces, so every character
// is matched and \s never has to be tested:
//   <|startoftext|> | <|endoftext|> | 's|'t|'re|'ve|'m|'ll|'d | \p{L}+ | \p{N} | [^\s\p{L}\p{N}]+
// The alternatives are tried in that order at each position, as Python's regex does.
inline std::vector<std::u32string_view> clip_split(std::u32string_view word) {
    static constexpr std::u32string_view fixed[] = {clip_start_of_text, clip_end_of_text, U"'s", U"'t", U"'re",
                                                    U"'ve", U"'m", U"'ll", U"'d"};
    std::vector<std::u32string_view> out;
    std::size_t pos = 0;
    while (pos < word.size()) {
        std::size_t length = 0;
        for (auto literal : fixed) {
            if (matches_ignoring_case(word.substr(pos), literal)) {
                length = literal.size();
                break;
            }
        }
        if (length == 0) {
            const char32_t c = word[pos];
            if (unicode::is_letter(c)) {
                while (pos + length < word.size() && unicode::is_letter(word[pos + length])) ++length;
            } else if (unicode::is_number(c)) {
                length = 1;
            } else {
                while (pos + length < word.size() && !unicode::is_letter(word[pos + length]) &&
                       !unicode::is_number(word[pos + length])) {
                    ++length;
                }
            }
        }
        out.push_back(word.substr(pos, length));
        pos += length;
    }
    return out;
}

}  // namespace detail

// Loaded once, then const: one tokenizer serves many threads (change
// max_input_bytes before sharing it).
class clip_bpe_tokenizer {
public:
    // Reads vocab.json and merges.txt, plus tokenizer_config.json and
    // special_tokens_map.json when present (HF's defaults otherwise).
    static clip_bpe_tokenizer from_directory(const std::filesystem::path& dir) {
        const auto settings = read_tokenizer_settings(dir);
        clip_bpe_tokenizer t{byte_level_bpe::from_files(dir / "vocab.json", dir / "merges.txt", max_merges)};

        const std::string vocab_where = (dir / "vocab.json").string();
        const auto special = [&](const char* key, const char* fallback) {
            const auto token = settings.special_token(key, fallback);
            return added_token{token, special_token_id(settings, t.bpe_.encoder(), vocab_where, key, token)};
        };
        const added_token bos = special("bos_token", "<|startoftext|>");
        const added_token eos = special("eos_token", "<|endoftext|>");
        const added_token pad = special("pad_token", "<|endoftext|>");
        const added_token unk = special("unk_token", "<|endoftext|>");
        t.bos_token_id_ = bos.id;
        t.eos_token_id_ = eos.id;
        t.pad_token_id_ = pad.id;
        t.unk_token_id_ = unk.id;
        t.added_tokens_ = no_split_tokens(settings, {bos, eos, pad, unk});
        t.model_max_length_ = settings.model_max_length;
        t.clean_up_tokenization_spaces_ = settings.get("clean_up_tokenization_spaces", false);
        return t;
    }

    // HF tokenize(): the BPE tokens of `text`, no special tokens added. Added tokens
    // written in the text ("<|endoftext|>") come out whole. input_error on invalid UTF-8.
    std::vector<std::string> tokenize(const std::string& text) const {
        check_input_bytes("clip_bpe_tokenizer", text.size(), max_input_bytes_);
        const auto plain = [&](const std::u32string& chars, std::size_t, std::vector<std::string>& out) {
            for (const auto& word : normalizer_.tokenize(chars)) {
                for (auto match : detail::clip_split(word)) {
                    if (match == detail::clip_start_of_text || match == detail::clip_end_of_text) {
                        out.push_back(unicode::encode_utf8(match));  // the slow tokenizer's bpe cache
                    } else {
                        bpe_.bpe(with_end_of_word(byte_level_bpe::byte_symbols(unicode::encode_utf8(match))), out);
                    }
                }
            }
        };
        return tokenize_around_added_tokens(text, added_tokens_, plain);
    }

    // Added tokens first, then the vocabulary; unknown tokens become unk_token's id.
    std::vector<std::int64_t> convert_tokens_to_ids(const std::vector<std::string>& tokens) const {
        return tokens_to_ids(tokens, added_tokens_, bpe_.encoder(), unk_token_id_);
    }

    // "<|startoftext|> tokens <|endoftext|>", truncated to max_length (the end token is
    // kept) and, when asked, padded with pad_token (attention 0).
    encoding encode(const std::string& text, std::size_t max_length, bool pad_to_max_length = true) const {
        return build_encoding(convert_tokens_to_ids(tokenize(text)), bos_token_id_, eos_token_id_, pad_token_id_,
                              max_length, pad_to_max_length, false);
    }

    // Ids back to text: bytes reassembled, "</w>" read as a space, invalid UTF-8 replaced
    // by U+FFFD (errors="replace"). input_error for an id with no token.
    std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens = true) const {
        const std::vector<std::int64_t> specials = {bos_token_id_, eos_token_id_, pad_token_id_, unk_token_id_};
        const std::string text = bpe_.decode(ids, added_tokens_, skip_special_tokens ? specials : std::vector<std::int64_t>{},
                                             "clip_bpe_tokenizer::decode");
        std::string spaced;
        spaced.reserve(text.size());
        for (std::size_t pos = 0; pos < text.size();) {
            if (text.compare(pos, 4, "</w>") == 0) {
                spaced += ' ';
                pos += 4;
            } else {
                spaced += text[pos++];
            }
        }
        spaced = strip_spaces(spaced);
        return clean_up_tokenization_spaces_ ? clean_up_tokenization(std::move(spaced)) : spaced;
    }

    std::size_t model_max_length() const { return model_max_length_; }
    // tokenize / encode refuse longer texts (default_max_input_bytes).
    std::size_t max_input_bytes() const { return max_input_bytes_; }
    void set_max_input_bytes(std::size_t bytes) { max_input_bytes_ = bytes; }
    std::size_t vocab_size() const { return bpe_.encoder().size(); }
    std::int64_t bos_token_id() const { return bos_token_id_; }
    std::int64_t eos_token_id() const { return eos_token_id_; }
    std::int64_t pad_token_id() const { return pad_token_id_; }
    std::int64_t unk_token_id() const { return unk_token_id_; }

private:
    // HF's slow tokenizer reads at most this many merges (49152 - 256 - 2), which is
    // what fills CLIP's 49408-token vocabulary.
    static constexpr std::size_t max_merges = 48894;

    explicit clip_bpe_tokenizer(byte_level_bpe bpe) : bpe_(std::move(bpe)) {}

    // CLIP's words end in "</w>": their last symbol carries it into the merges.
    static std::vector<std::string> with_end_of_word(std::vector<std::string> symbols) {
        symbols.back() += "</w>";
        return symbols;
    }

    byte_level_bpe bpe_;  // vocab.json and merges.txt
    added_vocabulary added_tokens_;
    // Without ftfy, CLIPTokenizer cleans text with BasicTokenizer(strip_accents=False,
    // do_split_on_punc=False); ideographs stay together as in the fast tokenizer.
    basic_tokenizer normalizer_{true, false, false, false, {}};
    std::int64_t bos_token_id_ = 0, eos_token_id_ = 0, pad_token_id_ = 0, unk_token_id_ = 0;
    std::size_t model_max_length_ = no_max_length;
    std::size_t max_input_bytes_ = default_max_input_bytes;
    bool clean_up_tokenization_spaces_ = false;
};

}  // namespace mmt::tokenizers
