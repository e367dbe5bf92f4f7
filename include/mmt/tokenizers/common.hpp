// What HF's slow tokenizers share (tokenization_utils_base.py / tokenization_utils.py):
// the encoding they return, the settings saved in tokenizer_config.json and
// special_tokens_map.json, added tokens cut out of the raw text before anything
// else sees it, "[first] ids [last]" with truncation and padding, and decode's
// clean-up of spaces.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/tokenizers/added_vocabulary.hpp"
#include "mmt/tokenizers/unicode.hpp"

namespace mmt::tokenizers {

// One text as model inputs.
struct encoding {
    std::vector<std::int64_t> input_ids;       // [seq_len]
    std::vector<std::int64_t> attention_mask;  // [seq_len]: 1 for tokens, 0 for padding
    std::vector<std::int64_t> token_type_ids;  // [seq_len] zeros; empty for models that take none (CLIP)
};

// HF's VERY_LARGE_INTEGER: the model_max_length of a tokenizer saved without one.
inline constexpr std::size_t no_max_length = std::numeric_limits<std::size_t>::max();

// Longest text a tokenizer takes by default (set_max_input_bytes changes it): a
// longer one is an input_error before any work, since the work and the output grow
// with it and a model reads at most a few thousand tokens anyway.
inline constexpr std::size_t default_max_input_bytes = 1u << 20;

// The longest sequence an encoder pads to: as many tokens as the longest text by
// default has bytes. A model reads at most a few thousand; a tokenizer saved without
// model_max_length (or with HF's 1e30) has no length to pad to.
inline constexpr std::size_t max_padded_length = 1u << 20;

// input_error naming `who` when padding to `max_length` would pass max_padded_length.
inline void check_padded_length(const char* who, std::size_t max_length) {
    if (max_length == no_max_length)
        fail<input_error>(who, ": padding to max_length, but the tokenizer sets no model_max_length; expected a max_length to pad to");
    if (max_length > max_padded_length)
        fail<input_error>(who, ": padding to max_length ", max_length, "; expected at most ", max_padded_length, " (max_padded_length)");
}

inline void check_input_bytes(const char* who, std::size_t bytes, std::size_t max_bytes) {
    if (bytes > max_bytes) {
        fail<input_error>(who, ": text of ", bytes, " bytes; expected at most ", max_bytes,
                          " (set_max_input_bytes raises the limit)");
    }
}

using vocabulary = std::unordered_map<std::string, std::int64_t>;

// tokenizer_config.json merged with special_tokens_map.json; both are optional.
struct tokenizer_settings {
    io::json config = io::json::object();                // tokenizer_config.json as saved
    std::string config_where = "tokenizer_config.json";  // its path, for messages
    std::map<std::string, std::string> special_tokens;   // "bos_token" -> "<|startoftext|>"
    std::vector<added_token> added_tokens_decoder;
    std::size_t model_max_length = no_max_length;

    // The special token saved under `key`, or HF's default for the tokenizer class.
    std::string special_token(const std::string& key, const std::string& fallback) const {
        auto it = special_tokens.find(key);
        return it == special_tokens.end() ? fallback : it->second;
    }

    // A tokenizer_config.json value, or HF's default when absent or null.
    template <class T>
    T get(const std::string& key, T fallback) const {
        io::json_optional(config, key, fallback, config_where);
        return fallback;
    }
};

namespace detail {

// A special token is saved either as a plain string or as an AddedToken object.
inline void read_special_tokens(const io::json& object, const std::string& where,
                                std::map<std::string, std::string>& out) {
    for (const auto& [key, value] : object.items()) {
        const bool is_token_key = key.size() > 6 && key.compare(key.size() - 6, 6, "_token") == 0;
        if (!is_token_key || value.is_null()) continue;
        if (value.is_string()) {
            out[key] = value.get<std::string>();
        } else if (value.is_object() && value.contains("content") && value["content"].is_string()) {
            out[key] = value["content"].get<std::string>();
        } else {
            fail<config_error>(where, ": key \"", key, "\" should be a token string or an object with \"content\", got ",
                               value.dump());
        }
    }
}

inline std::size_t read_max_length(const io::json& value, const std::string& where) {
    // int(1e30) does not fit 64 bits, so JSON parsers hand it over as a float.
    if (value.is_number_unsigned()) return value.get<std::size_t>();
    if (value.is_number_float() && value.get<double>() >= 1e18) return no_max_length;
    if (value.is_number_float() && value.get<double>() >= 1) return static_cast<std::size_t>(value.get<double>());
    fail<config_error>(where, ": key \"model_max_length\" should be a positive integer, got ", value.dump());
}

}  // namespace detail

inline tokenizer_settings read_tokenizer_settings(const std::filesystem::path& dir) {
    tokenizer_settings settings;
    const auto config_path = dir / "tokenizer_config.json";
    settings.config_where = config_path.string();
    if (std::filesystem::exists(config_path)) {
        settings.config = io::read_json_file(config_path);
        const auto& where = settings.config_where;
        if (!settings.config.is_object()) fail<config_error>(where, ": expected a JSON object, got ", settings.config.type_name());
        detail::read_special_tokens(settings.config, where, settings.special_tokens);
        if (auto it = settings.config.find("model_max_length"); it != settings.config.end() && !it->is_null()) {
            settings.model_max_length = detail::read_max_length(*it, where);
        }
        if (auto it = settings.config.find("added_tokens_decoder"); it != settings.config.end()) {
            for (const auto& [key, value] : it->items()) {
                const auto entry_where = where + " added_tokens_decoder";
                const auto content = io::json_required<std::string>(value, "content", entry_where);
                bool lstrip = false, rstrip = false;
                io::json_optional(value, "lstrip", lstrip, entry_where);
                io::json_optional(value, "rstrip", rstrip, entry_where);
                std::size_t used = 0;
                std::int64_t id = -1;
                try {
                    id = std::stoll(key, &used);
                } catch (const std::exception&) {
                }
                if (id < 0 || used != key.size()) {
                    fail<config_error>(where, ": added_tokens_decoder key should be a token id, got \"", key, "\"");
                }
                settings.added_tokens_decoder.push_back({content, id, lstrip, rstrip});
            }
        }
    }
    // from_pretrained lets special_tokens_map.json override tokenizer_config.json.
    const auto map_path = dir / "special_tokens_map.json";
    if (std::filesystem::exists(map_path)) {
        const auto map = io::read_json_file(map_path);
        if (!map.is_object()) fail<config_error>(map_path.string(), ": expected a JSON object, got ", map.type_name());
        detail::read_special_tokens(map, map_path.string(), settings.special_tokens);
    }
    return settings;
}

// The id of special token `token` (saved under `key`): its added_tokens_decoder entry,
// else its vocabulary entry. Every special token must have one.
inline std::int64_t special_token_id(const tokenizer_settings& settings, const vocabulary& vocab,
                                     const std::string& vocab_where, const std::string& key, const std::string& token) {
    for (const auto& added : settings.added_tokens_decoder) {
        if (added.content == token) return added.id;
    }
    auto it = vocab.find(token);
    if (it == vocab.end()) {
        fail<config_error>(vocab_where, ": special token ", key, " \"", token,
                           "\" is not in the vocabulary nor in added_tokens_decoder");
    }
    return it->second;
}

// HF cuts every added token (specials included) out of the raw text first; these are
// the tokens of that no-split set, the ones from added_tokens_decoder first.
inline added_vocabulary no_split_tokens(const tokenizer_settings& settings, const std::vector<added_token>& specials) {
    std::vector<added_token> out = settings.added_tokens_decoder;
    std::unordered_set<std::string> known;
    for (const auto& token : out) known.insert(token.content);
    for (const auto& special : specials) {
        if (known.insert(special.content).second) out.push_back(special);
    }
    return added_vocabulary(std::move(out));
}

// A stretch of the raw text: plain text (added_id < 0) or one added token.
struct text_piece {
    std::size_t offset = 0;
    std::size_t length = 0;
    std::int64_t added_id = -1;
};

namespace detail {

// Where the whitespace (str.isspace) at the start / end of `text` ends / begins;
// ill-formed UTF-8 counts as text, for the tokenizer to report.
inline std::size_t leading_space_end(std::string_view text) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto step = unicode::detail::read_utf8(text, pos);
        if (!step.valid || !unicode::is_space(step.code_point)) break;
        pos += step.length;
    }
    return pos;
}

inline std::size_t trailing_space_begin(std::string_view text) {
    std::size_t begin = 0;
    for (std::size_t pos = 0; pos < text.size();) {
        const auto step = unicode::detail::read_utf8(text, pos);
        pos += step.length;
        if (!step.valid || !unicode::is_space(step.code_point)) begin = pos;
    }
    return begin;
}

}  // namespace detail

// tokenize()'s first step: Trie.split, where at the leftmost position an added token
// starts the longest one wins; then a token with lstrip takes the whitespace off the
// end of the text before it, one with rstrip off the start of the text after it.
// Text left empty is dropped.
inline std::vector<text_piece> split_on_added_tokens(std::string_view text, const added_vocabulary& tokens) {
    std::vector<text_piece> out;
    std::size_t plain_start = 0;
    std::size_t pos = 0;
    const auto flush_plain = [&](std::size_t end) {
        if (end > plain_start) out.push_back({plain_start, end - plain_start, -1});
    };
    while (pos < text.size()) {
        const added_token* best = tokens.longest_at(text, pos);
        if (!best) {
            ++pos;
            continue;
        }
        const auto plain = text.substr(plain_start, pos - plain_start);
        flush_plain(best->lstrip ? plain_start + detail::trailing_space_begin(plain) : pos);
        out.push_back({pos, best->content.size(), best->id});
        pos += best->content.size();
        if (best->rstrip) pos += detail::leading_space_end(text.substr(pos));
        plain_start = pos;
    }
    flush_plain(pos);
    return out;
}

// tokenize()'s frame: the added tokens written in `text` come out whole, and each
// stretch of text between them, decoded (input_error naming the byte offset of
// ill-formed UTF-8), goes to plain(chars, byte offset, out), which appends its tokens.
template <class Plain>
std::vector<std::string> tokenize_around_added_tokens(const std::string& text, const added_vocabulary& added,
                                                      Plain&& plain) {
    std::vector<std::string> out;
    for (const auto& piece : split_on_added_tokens(text, added)) {
        const std::string_view part(text.data() + piece.offset, piece.length);
        if (piece.added_id >= 0) {
            out.emplace_back(part);
        } else {
            plain(unicode::decode_utf8(part, piece.offset), piece.offset, out);
        }
    }
    return out;
}

// convert_tokens_to_ids: an added token's id, else the vocabulary's, else `unk_id`.
inline std::vector<std::int64_t> tokens_to_ids(const std::vector<std::string>& tokens, const added_vocabulary& added,
                                               const vocabulary& vocab, std::int64_t unk_id) {
    std::vector<std::int64_t> ids;
    ids.reserve(tokens.size());
    for (const auto& token : tokens) {
        if (const added_token* a = added.find(token)) {
            ids.push_back(a->id);
        } else {
            const auto found = vocab.find(token);
            ids.push_back(found == vocab.end() ? unk_id : found->second);
        }
    }
    return ids;
}

// "[first] ids [last]" truncated from the end to max_length (the last token survives),
// then padded on the right when asked.
inline encoding build_encoding(std::vector<std::int64_t> ids, std::int64_t first, std::int64_t last, std::int64_t pad,
                               std::size_t max_length, bool pad_to_max_length, bool with_token_type_ids) {
    if (max_length < 2) {
        fail<input_error>("encode: max_length ", max_length, " leaves no room; expected at least 2 for the two special tokens");
    }
    if (pad_to_max_length) check_padded_length("encode", max_length);
    if (ids.size() > max_length - 2) ids.resize(max_length - 2);
    encoding out;
    out.input_ids.reserve(pad_to_max_length ? max_length : ids.size() + 2);
    out.input_ids.push_back(first);
    out.input_ids.insert(out.input_ids.end(), ids.begin(), ids.end());
    out.input_ids.push_back(last);
    out.attention_mask.assign(out.input_ids.size(), 1);
    if (pad_to_max_length) {
        out.input_ids.resize(max_length, pad);
        out.attention_mask.resize(max_length, 0);
    }
    if (with_token_type_ids) out.token_type_ids.assign(out.input_ids.size(), 0);
    return out;
}

// Python's str.strip(): drops leading and trailing whitespace code points.
inline std::string strip_spaces(const std::string& text) {
    const std::u32string chars = unicode::decode_utf8(text);
    std::size_t begin = 0, end = chars.size();
    while (begin < end && unicode::is_space(chars[begin])) ++begin;
    while (end > begin && unicode::is_space(chars[end - 1])) --end;
    return unicode::encode_utf8(std::u32string_view(chars).substr(begin, end - begin));
}

// clean_up_tokenization: glue punctuation and English contractions back on, in HF's order.
inline std::string clean_up_tokenization(std::string text) {
    static const std::pair<std::string_view, std::string_view> rules[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
        {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : rules) {
        std::string out;
        out.reserve(text.size());
        std::size_t pos = 0;
        for (std::size_t hit; (hit = text.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
            out.append(text, pos, hit - pos);
            out.append(to);
        }
        out.append(text, pos, std::string::npos);
        text = std::move(out);
    }
    return text;
}

}  // namespace mmt::tokenizers
