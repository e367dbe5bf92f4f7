// The byte-level BPE that CLIP's and RoBERTa's tokenizers share (HF CLIPTokenizer.bpe
// and RobertaTokenizer.bpe, both from GPT-2's encoder.py): a word's UTF-8 bytes, each
// written as a printable character (bytes_to_unicode), merged pair by pair in the
// order of merges.txt, then looked up in vocab.json. How text becomes words first,
// and how a word's end or start is marked ("</w>" on CLIP's last symbol, RoBERTa's
// leading space as "Ġ"), is the tokenizer's (clip_bpe.hpp, roberta_bpe.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
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

}  // namespace detail

// vocab.json and merges.txt, and the merge loop over them. Loaded once, then const.
class byte_level_bpe {
public:
    static constexpr std::size_t all_merges = std::numeric_limits<std::size_t>::max();

    // Reads vocab.json (token -> id) and the first `max_merges` lines of merges.txt
    // ("first second", best first; a first line "#version: ..." is skipped, as the
    // tokenizers library does). format_error naming the file and line for a token
    // without an integer id, two tokens with one id, a line that is not two symbols,
    // or a merge whose result vocab.json lacks.
    static byte_level_bpe from_files(const std::filesystem::path& vocab_path, const std::filesystem::path& merges_path,
                                     std::size_t max_merges = all_merges) {
        byte_level_bpe bpe;
        bpe.load_vocab(vocab_path);
        bpe.load_merges(merges_path, max_merges);
        return bpe;
    }

    // The word's UTF-8 bytes, each as its byte_to_unicode character: what bpe() merges.
    static std::vector<std::string> byte_symbols(std::string_view utf8) {
        std::vector<std::string> symbols;
        symbols.reserve(utf8.size());
        for (unsigned char byte : utf8) {
            std::string symbol;
            unicode::append_utf8(symbol, detail::byte_to_unicode()[byte]);
            symbols.push_back(std::move(symbol));
        }
        return symbols;
    }

    // convert_tokens_to_string over convert_ids_to_tokens: each id's token (an added
    // token's content, else vocab.json's) read back to the bytes its characters stand
    // for (byte_decoder; a character outside the byte alphabet, in an added token, is
    // kept as its own UTF-8), the bytes decoded with errors="replace". Ids in `skipped`
    // are left out. input_error as checked_token's for an id with no token.
    std::string decode(const std::vector<std::int64_t>& ids, const added_vocabulary& added,
                       const std::vector<std::int64_t>& skipped, const char* who) const {
        std::string bytes;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const std::string& token = checked_token(ids, i, added, who);
            if (std::find(skipped.begin(), skipped.end(), ids[i]) != skipped.end()) continue;
            for (char32_t c : unicode::decode_utf8(token)) {
                const int byte = detail::unicode_to_byte(c);
                if (byte >= 0) {
                    bytes += static_cast<char>(byte);
                } else {
                    unicode::append_utf8(bytes, c);
                }
            }
        }
        return unicode::decode_utf8_lossy(bytes);
    }

    // bpe(): repeatedly merge every occurrence (left to right) of the adjacent pair
    // with the lowest merge rank, until no pair has a rank; the symbols left are
    // appended to `out`. HF rescans the whole word for each merge, which is quadratic
    // (a 64 KB word of letters took 15 s); here the candidate pairs wait in a heap
    // ordered by (rank, position), and all entries of the lowest rank are taken out
    // together and merged left to right: one pass of HF's loop. Ranks are unique per
    // pair, and a merge never recreates the pair it merged, so this is HF's result in
    // O(n log n).
    void bpe(std::vector<std::string> word, std::vector<std::string>& out) const {
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

    // convert_ids_to_tokens: the token of ids[i], an added token's content before
    // vocab.json's. input_error naming `who` and the position for an id with no token.
    const std::string& checked_token(const std::vector<std::int64_t>& ids, std::size_t i,
                                     const added_vocabulary& added, const char* who) const {
        const std::int64_t id = ids[i];
        if (const added_token* a = added.find(id)) return a->content;
        const auto found = decoder_.find(id);
        if (found == decoder_.end()) {
            fail<input_error>(who, ": id ", id, " at position ", i, " has no token; expected an id of the vocabulary (0..",
                              encoder_.size() - 1, ") or of an added token");
        }
        return found->second;
    }

    // vocab.json: token -> id.
    const vocabulary& encoder() const { return encoder_; }

private:
    byte_level_bpe() = default;

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

    void load_merges(const std::filesystem::path& path, std::size_t max_merges) {
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

    // str.split() on ASCII whitespace.
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

    vocabulary encoder_;                                     // vocab.json: token -> id
    std::unordered_map<std::int64_t, std::string> decoder_;  // id -> token
    std::unordered_map<std::string, int> bpe_ranks_;         // "first second" -> merge rank
};

}  // namespace mmt::tokenizers
