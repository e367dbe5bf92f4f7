// SigLIP's SentencePiece tokenizer, with the ids of HF's slow SiglipTokenizer
// (transformers/models/siglip/tokenization_siglip.py, 4.45):
//  1. "▁" in the text becomes a space and one "▁" is put in front;
//  2. lower-casing one code point at a time (Python's str.lower on each match of
//     re.sub's "(.+?)"), special tokens written in the text left as they are;
//  3. the text is cut at the special tokens written in it ("</s>", "<unk>"), which
//     strip the whitespace next to them (lstrip/rstrip of their AddedToken);
//  4. each other stretch loses Python's string.punctuation (the 32 ASCII symbols
//     only), has its whitespace runs collapsed to one space and is stripped;
//  5. SentencePiece, with add_dummy_prefix switched off, encodes "<unk>" + stretch
//     and the pieces of "<unk>" are dropped: that keeps the stretch's leading "▁";
//  6. a lone "▁" before a special token is dropped, "</s>" is appended unless the ids
//     end with it, truncation keeps max_length - 1 ids, padding is "</s>" (pad = eos).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/tokenizers/common.hpp"
#include "mmt/tokenizers/sentencepiece.hpp"
#include "mmt/tokenizers/unicode.hpp"

namespace mmt::tokenizers {

// Loaded once, then const: one tokenizer serves many threads (change
// max_input_bytes before sharing it).
class siglip_tokenizer {
public:
    // Reads spiece.model, plus tokenizer_config.json and special_tokens_map.json when
    // present (SiglipTokenizer's defaults otherwise: model_max_length 64, lower-casing).
    static siglip_tokenizer from_pretrained(const std::filesystem::path& dir) {
        siglip_tokenizer t{sentencepiece_model::load(dir / "spiece.model", false)};
        const auto settings = read_tokenizer_settings(dir);
        const std::string where = (dir / "spiece.model").string();
        const auto special = [&](const char* key, const char* fallback) {
            const auto token = settings.special_token(key, fallback);
            for (const auto& added : settings.added_tokens_decoder) {
                if (added.content == token) return added;
            }
            const int id = t.model_.piece_to_id(token);
            if (id < 0) fail<config_error>(where, ": special token ", key, " \"", token, "\" is not in the model");
            // SiglipTokenizer makes its special tokens strip the whitespace around them;
            // an added_tokens_decoder entry says for itself.
            return added_token{token, id, true, true};
        };
        const added_token eos = special("eos_token", "</s>");
        const added_token unk = special("unk_token", "<unk>");
        const added_token pad = special("pad_token", "</s>");
        t.eos_token_id_ = eos.id;
        t.pad_token_id_ = pad.id;
        t.added_tokens_ = no_split_tokens(settings, {eos, unk, pad});
        t.unk_prefix_ = unk.content;
        t.unk_prefix_length_ = t.model_.encode(unk.content).size();
        t.lower_case_ = settings.get("do_lower_case", true);
        t.model_max_length_ = settings.model_max_length == no_max_length ? 64 : settings.model_max_length;
        return t;
    }

    // The ids of `text` with "</s>", truncated to max_length (default
    // model_max_length) and, when `pad`, padded with "</s>" to max_length.
    // input_error on invalid UTF-8 or a text longer than max_input_bytes.
    std::vector<std::int64_t> encode(const std::string& text, std::size_t max_length = 0, bool pad = true) const {
        if (max_length == 0) max_length = model_max_length_;
        if (pad) check_padded_length("siglip_tokenizer::encode", max_length);
        std::vector<std::int64_t> ids;
        for (const auto& piece : tokenize_ids(text)) ids.push_back(piece.id);
        // prepare_for_model: room for the one special token, then _add_eos_if_not_present.
        if (ids.size() > max_length - 1) ids.resize(max_length - 1);
        if (ids.empty() || ids.back() != eos_token_id_) ids.push_back(eos_token_id_);
        if (pad && ids.size() < max_length) ids.resize(max_length, pad_token_id_);
        return ids;
    }

    // encode() of each text, all padded to max_length (default model_max_length), as
    // the zero-shot pipeline calls it (padding="max_length").
    std::vector<std::vector<std::int64_t>> encode_batch(const std::vector<std::string>& texts,
                                                        std::size_t max_length = 0) const {
        std::vector<std::vector<std::int64_t>> out;
        out.reserve(texts.size());
        for (const auto& text : texts) out.push_back(encode(text, max_length, true));
        return out;
    }

    // The pieces of encode(text) without the padding, "<unk>" for unknown characters
    // (convert_ids_to_tokens of the ids).
    std::vector<std::string> tokens(const std::string& text, std::size_t max_length = 0) const {
        std::vector<std::string> out;
        for (std::int64_t id : encode(text, max_length, false)) out.push_back(model_.id_to_piece(id));
        return out;
    }

    std::size_t model_max_length() const { return model_max_length_; }
    std::size_t max_input_bytes() const { return max_input_bytes_; }
    void set_max_input_bytes(std::size_t bytes) { max_input_bytes_ = bytes; }
    std::size_t vocab_size() const { return static_cast<std::size_t>(model_.size()); }
    std::int64_t eos_token_id() const { return eos_token_id_; }
    std::int64_t pad_token_id() const { return pad_token_id_; }

private:
    struct piece_id {
        std::int64_t id;
        bool special;  // a special token written in the text
    };

    explicit siglip_tokenizer(sentencepiece_model model) : model_(std::move(model)) {}

    // HF tokenize() as ids, no "</s>" added.
    std::vector<piece_id> tokenize_ids(const std::string& text) const {
        check_input_bytes("siglip_tokenizer", text.size(), max_input_bytes_);
        std::vector<piece_id> out;
        if (text.empty()) return out;
        std::u32string chars = U"\u2581";
        for (char32_t c : unicode::decode_utf8(text)) chars += c == U'\u2581' ? U' ' : c;
        std::string prepared = unicode::encode_utf8(chars);
        if (lower_case_) prepared = lower_outside_specials(prepared);

        // Trie.split; each special token strips the whitespace beside it.
        for (const auto& piece : split_on_added_tokens(prepared, added_tokens_)) {
            if (piece.added_id >= 0) {
                out.push_back({piece.added_id, true});
                continue;
            }
            const auto stretch = unicode::decode_utf8(std::string_view(prepared).substr(piece.offset, piece.length));
            const auto ids = model_.encode(unk_prefix_ + canonicalize(stretch));
            const std::size_t skip = ids.size() >= unk_prefix_length_ ? unk_prefix_length_ : 0;
            for (std::size_t k = skip; k < ids.size(); ++k) out.push_back({ids[k], false});
        }
        // SiglipTokenizer.tokenize: the "▁" put in front is dropped before a special token.
        if (out.size() > 1 && !out[0].special && model_.id_to_piece(out[0].id) == "\u2581" && out[1].special) {
            out.erase(out.begin());
        }
        return out;
    }

    // re.sub(specials | "(.+?)", lower): every code point but "\n" (which "." does
    // not match, and which lower() keeps anyway) lower-cased on its own, so no
    // final-sigma context; special tokens written in the text are kept as written.
    std::string lower_outside_specials(const std::string& text) const {
        std::string out;
        for (const auto& piece : split_on_added_tokens(text, added_tokens_)) {
            const std::string_view part = std::string_view(text).substr(piece.offset, piece.length);
            if (piece.added_id >= 0) {
                out += part;
                continue;
            }
            for (char32_t c : unicode::decode_utf8(part, piece.offset)) {
                out += unicode::encode_utf8(unicode::to_lower(std::u32string_view(&c, 1)));
            }
        }
        return out;
    }

    // canonicalize_text: string.punctuation deleted, re.sub(r"\s+", " "), strip().
    static std::string canonicalize(std::u32string_view text) {
        const auto ascii_punctuation = [](char32_t c) {
            return (c >= U'!' && c <= U'/') || (c >= U':' && c <= U'@') || (c >= U'[' && c <= U'`') ||
                   (c >= U'{' && c <= U'~');
        };
        std::u32string out;
        bool pending_space = false;
        for (char32_t c : text) {
            if (ascii_punctuation(c)) continue;
            if (unicode::is_space(c)) {
                pending_space = true;
                continue;
            }
            if (pending_space && !out.empty()) out += U' ';
            pending_space = false;
            out += c;
        }
        return unicode::encode_utf8(out);
    }

    sentencepiece_model model_;
    added_vocabulary added_tokens_;
    std::string unk_prefix_;           // "<unk>"
    std::size_t unk_prefix_length_ = 0;
    std::int64_t eos_token_id_ = 1, pad_token_id_ = 1;
    bool lower_case_ = true;
    std::size_t model_max_length_ = 64;
    std::size_t max_input_bytes_ = default_max_input_bytes;
};

}  // namespace mmt::tokenizers
