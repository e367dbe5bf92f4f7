// CLIP's byte-level BPE tokenizer, as HF CLIPTokenizer runs it without ftfy
// (transformers/models/clip/tokenization_clip.py): BasicTokenizer clean-up
// (control characters dropped, whitespace collapsed, NFC, lower-case), CLIP's
// split pattern, GPT-2's byte-to-unicode map, and BPE with "</w>" closing each word.
// One deliberate difference from the slow tokenizer: a run of CJK ideographs stays
// one word, as in CLIPTokenizerFast and OpenAI's tokenizer, instead of one word per
// ideograph.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/tokenizers/basic_tokenizer.hpp"
#include "mmt/tokenizers/common.hpp"
#include "mmt/tokenizers/unicode.hpp"

namespace mmt::tokenizers {

namespace detail {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other
// 68 bytes take the code points from U+0100 on, so no byte maps to a space or a control.
inline const std::array<char32_t, 256>& byte_to_unicode() {
    static const std::array<char32_t, 256> table = [] {
        std::array<char32_t, 256> t{};
        char32_t next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            t[static_cast<std::size_t>(b)] = printable ? static_cast<char32_t>(b) : next++;
        }
        return t;
    }();
    return table;
}

// Inverse of byte_to_unicode over U+0000..U+0143; -1 where no byte maps.
inline int unicode_to_byte(char32_t c) {
    static const std::array<int, 324> table = [] {
        std::array<int, 324> t{};
        t.fill(-1);
        const auto& forward = byte_to_unicode();
        for (int b = 0; b < 256; ++b) t[forward[static_cast<std::size_t>(b)]] = b;
        return t;
    }();
    return c < table.size() ? table[c] : -1;
}

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
        clip_bpe_tokenizer t;
        const auto settings = read_tokenizer_settings(dir);
        t.load_vocab(dir / "vocab.json");
        t.load_merges(dir / "merges.txt");

        const std::string vocab_where = (dir / "vocab.json").string();
        const auto special = [&](const char* key, const char* fallback) {
            const auto token = settings.special_token(key, fallback);
            return added_token{token, special_token_id(settings, t.encoder_, vocab_where, key, token)};
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
        for (const auto& added : t.added_tokens_) t.decoder_.emplace(added.id, added.content);
        t.model_max_length_ = settings.model_max_length;
        t.clean_up_tokenization_spaces_ = settings.get("clean_up_tokenization_spaces", false);
        return t;
    }

    // HF tokenize(): the BPE tokens of `text`, no special tokens added. Added tokens
    // written in the text ("<|endoftext|>") come out whole. input_error on invalid UTF-8.
    std::vector<std::string> tokenize(const std::string& text) const {
        check_input_bytes("clip_bpe_tokenizer", text.size(), max_input_bytes_);
        std::vector<std::string> out;
        for (const auto& piece : split_on_added_tokens(text, added_tokens_)) {
            const std::string_view part(text.data() + piece.offset, piece.length);
            if (piece.added_id >= 0) {
                out.emplace_back(part);
                continue;
            }
            for (const auto& word : normalizer_.tokenize(unicode::decode_utf8(part, piece.offset))) {
                for (auto match : detail::clip_split(word)) {
                    if (match == detail::clip_start_of_text || match == detail::clip_end_of_text) {
                        out.push_back(unicode::encode_utf8(match));  // the slow tokenizer's bpe cache
                    } else {
                        bpe(byte_encode(match), out);
                    }
                }
            }
        }
        return out;
    }

    // Added tokens first, then the vocabulary; unknown tokens become unk_token's id.
    std::vector<std::int64_t> convert_tokens_to_ids(const std::vector<std::string>& tokens) const {
        std::vector<std::int64_t> ids;
        ids.reserve(tokens.size());
        for (const auto& token : tokens) {
            const auto added = std::find_if(added_tokens_.begin(), added_tokens_.end(),
                                            [&](const added_token& a) { return a.content == token; });
            if (added != added_tokens_.end()) {
                ids.push_back(added->id);
            } else {
                auto it = encoder_.find(token);
                ids.push_back(it == encoder_.end() ? unk_token_id_ : it->second);
            }
        }
        return ids;
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
        std::string bytes;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const std::int64_t id = ids[i];
            auto it = decoder_.find(id);
            if (it == decoder_.end()) {
                fail<input_error>("clip_bpe_tokenizer::decode: id ", id, " at position ", i,
                                  " has no token; expected an id of the vocabulary (0..", encoder_.size() - 1, ")");
            }
            if (skip_special_tokens && is_special(id)) continue;
            for (char32_t c : unicode::decode_utf8(it->second)) {
                const int byte = detail::unicode_to_byte(c);
                if (byte >= 0) {
                    bytes += static_cast<char>(byte);
                } else {
                    unicode::append_utf8(bytes, c);  // an added token outside the byte alphabet
                }
            }
        }
        std::string text = unicode::decode_utf8_lossy(bytes);
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
    std::size_t vocab_size() const { return encoder_.size(); }
    std::int64_t bos_token_id() const { return bos_token_id_; }
    std::int64_t eos_token_id() const { return eos_token_id_; }
    std::int64_t pad_token_id() const { return pad_token_id_; }
    std::int64_t unk_token_id() const { return unk_token_id_; }

private:
    // HF's slow tokenizer reads at most this many merges (49152 - 256 - 2), which is
    // what fills CLIP's 49408-token vocabulary.
    static constexpr std::size_t max_merges = 48894;

    clip_bpe_tokenizer() = default;

    void load_vocab(const std::filesystem::path& path) {
        const auto vocab = io::read_json_file(path);
        if (!vocab.is_object()) fail<format_error>(path.string(), ": expected a JSON object of token -> id, got ", vocab.type_name());
        for (const auto& [token, id] : vocab.items()) {
            if (!id.is_number_integer() || id.get<std::int64_t>() < 0) {
                fail<format_error>(path.string(), ": token \"", token, "\" should map to a non-negative integer id, got ",
                                   id.dump());
            }
            encoder_.emplace(token, id.get<std::int64_t>());
            // HF's decoder would keep one of the two silently, so one of them could never be decoded.
            if (auto [it, fresh] = decoder_.emplace(id.get<std::int64_t>(), token); !fresh) {
                fail<format_error>(path.string(), ": tokens \"", it->second, "\" and \"", token, "\" both have id ",
                                   it->first, "; expected one token per id");
            }
        }
    }

    void load_merges(const std::filesystem::path& path) {
        const std::string text = io::read_text_file(path);
        std::size_t line_number = 0;
        std::size_t rank = 0;  // index in HF's list of merge lines, blank ones included
        for (std::size_t pos = 0; pos < text.size() && rank < max_merges;) {
            std::size_t end = text.find('\n', pos);
            if (end == std::string::npos) end = text.size();
            const std::string_view line(text.data() + pos, end - pos);
            pos = end + 1;
            ++line_number;
            if (line_number == 1 && line.substr(0, 8) == "#version") continue;
            const auto parts = split_ascii_spaces(line);
            const auto this_rank = static_cast<int>(rank++);
            if (parts.empty()) continue;
            if (parts.size() != 2) {
                fail<format_error>(path.string(), " line ", line_number, ": expected two symbols separated by a space, got \"",
                                   line, "\"");
            }
            std::string merged = std::string(parts[0]) + std::string(parts[1]);
            if (encoder_.find(merged) == encoder_.end()) {
                fail<format_error>(path.string(), " line ", line_number, ": merge result \"", merged,
                                   "\" is not in vocab.json; expected merges.txt and vocab.json of the same tokenizer");
            }
            // A repeated pair keeps its last rank, as dict(zip(merges, range(n))) does, so
            // every pair has its own rank (bpe relies on it).
            bpe_ranks_[std::string(parts[0]) + ' ' + std::string(parts[1])] = this_rank;
        }
    }

    static std::vector<std::string_view> split_ascii_spaces(std::string_view line) {
        std::vector<std::string_view> parts;
        std::size_t i = 0;
        const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
        while (i < line.size()) {
            while (i < line.size() && space(line[i])) ++i;
            const std::size_t start = i;
            while (i < line.size() && !space(line[i])) ++i;
            if (i > start) parts.push_back(line.substr(start, i - start));
        }
        return parts;
    }

    // The word's UTF-8 bytes, each written as its byte_to_unicode character.
    static std::vector<std::string> byte_encode(std::u32string_view word) {
        std::vector<std::string> symbols;
        for (unsigned char byte : unicode::encode_utf8(word)) {
            std::string symbol;
            unicode::append_utf8(symbol, detail::byte_to_unicode()[byte]);
            symbols.push_back(std::move(symbol));
        }
        return symbols;
    }

    // CLIPTokenizer.bpe: repeatedly merge every occurrence (left to right) of the
    // adjacent pair with the lowest merge rank, until no pair has a rank.
    // HF rescans the whole word for each merge, which is quadratic (a 64 KB word of
    // letters took 15 s); here the candidate pairs wait in a heap ordered by (rank,
    // position), and all entries of the lowest rank are taken out together and merged
    // left to right: one pass of HF's loop. Ranks are unique per pair, and a merge
    // never recreates the pair it merged, so this is HF's result in O(n log n).
    void bpe(std::vector<std::string> word, std::vector<std::string>& out) const {
        word.back() += "</w>";
        const std::size_t n = word.size();
        // Symbols form a linked list over their first byte's position; merged ones are emptied.
        std::vector<std::size_t> prev(n), next(n);
        for (std::size_t i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1;  // prev[0] wraps to "none"
        const auto none = static_cast<std::size_t>(-1);
        constexpr int no_rank = std::numeric_limits<int>::max();
        const auto rank_at = [&](std::size_t i) {
            if (i == none || next[i] >= n) return no_rank;
            auto it = bpe_ranks_.find(word[i] + ' ' + word[next[i]]);
            return it == bpe_ranks_.end() ? no_rank : it->second;
        };
        using candidate = std::pair<int, std::size_t>;  // rank, position of the pair's first symbol
        std::priority_queue<candidate, std::vector<candidate>, std::greater<candidate>> heap;
        const auto push = [&](std::size_t i) {
            if (const int r = rank_at(i); r != no_rank) heap.emplace(r, i);
        };
        for (std::size_t i = 0; i + 1 < n; ++i) push(i);
        std::vector<std::size_t> pass;
        while (!heap.empty()) {
            const int rank = heap.top().first;
            pass.clear();
            for (; !heap.empty() && heap.top().first == rank; heap.pop()) pass.push_back(heap.top().second);
            for (std::size_t i : pass) {
                if (word[i].empty() || rank_at(i) != rank) continue;  // merged away or changed since queued
                const std::size_t j = next[i];
                word[i] += word[j];
                word[j].clear();
                next[i] = next[j];
                if (next[j] < n) prev[next[j]] = i;
                push(prev[i]);
                push(i);
            }
        }
        for (std::size_t i = 0; i < n; i = next[i]) out.push_back(std::move(word[i]));
    }

    bool is_special(std::int64_t id) const {
        return id == bos_token_id_ || id == eos_token_id_ || id == pad_token_id_ || id == unk_token_id_;
    }

    vocabulary encoder_;                               // vocab.json: token -> id
    std::unordered_map<std::int64_t, std::string> decoder_;  // id -> token, added tokens included
    std::unordered_map<std::string, int> bpe_ranks_;   // "first second" -> merge rank
    std::vector<added_token> added_tokens_;
    // Without ftfy, CLIPTokenizer cleans text with BasicTokenizer(strip_accents=False,
    // do_split_on_punc=False); ideographs stay together as in the fast tokenizer.
    basic_tokenizer normalizer_{true, false, false, false, {}};
    std::int64_t bos_token_id_ = 0, eos_token_id_ = 0, pad_token_id_ = 0, unk_token_id_ = 0;
    std::size_t model_max_length_ = no_max_length;
    std::size_t max_input_bytes_ = default_max_input_bytes;
    bool clean_up_tokenization_spaces_ = false;
};

}  // namespace mmt::tokenizers
