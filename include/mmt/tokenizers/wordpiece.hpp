// BERT's WordPiece tokenizer, as HF BertTokenizer runs it for LayoutLM
// (transformers/models/bert/tokenization_bert.py): BasicTokenizer (clean-up, CJK
// ideographs split, lower-case and accent stripping for uncased vocabularies,
// punctuation split), then greedy longest-match-first word pieces with "##"
// continuations, [UNK] for a word that cannot be matched or is too long.
// As a word_tokenizer it encodes LayoutLM's pre-split words (layoutlm_words.hpp),
// with [SEP] boxed at [1000, 1000, 1000, 1000] unless tokenizer_config.json says otherwise.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/io/json.hpp"
#include "mmt/tokenizers/basic_tokenizer.hpp"
#include "mmt/tokenizers/common.hpp"
#include "mmt/tokenizers/unicode.hpp"
#include "mmt/tokenizers/word_tokenizer.hpp"

namespace mmt::tokenizers {

// Loaded once, then const: one tokenizer serves many threads (change
// max_input_bytes before sharing it).
class wordpiece_tokenizer final : public word_tokenizer {
public:
    // Longer words become [UNK] whole (WordpieceTokenizer's default).
    static constexpr std::size_t max_input_chars_per_word = 100;

    // Reads vocab.txt (one token a line, id = line number from 0), plus
    // tokenizer_config.json and special_tokens_map.json when present.
    static wordpiece_tokenizer from_directory(const std::filesystem::path& dir) {
        wordpiece_tokenizer t;
        const auto settings = read_tokenizer_settings(dir);
        const auto vocab_path = dir / "vocab.txt";
        t.load_vocab(vocab_path);

        t.do_basic_tokenize_ = settings.get("do_basic_tokenize", true);
        t.basic_.do_lower_case = settings.get("do_lower_case", true);
        if (auto it = settings.config.find("strip_accents"); it != settings.config.end() && !it->is_null()) {
            t.basic_.strip_accents = settings.get("strip_accents", false);
        }
        t.basic_.tokenize_chinese_chars = settings.get("tokenize_chinese_chars", true);
        for (const auto& word : settings.get("never_split", std::vector<std::string>{})) {
            t.never_split_.insert(unicode::decode_utf8(word));
        }
        t.clean_up_tokenization_spaces_ = settings.get("clean_up_tokenization_spaces", true);
        t.model_max_length_ = settings.model_max_length;
        // As LayoutLM's word tokenizer: LayoutLMv2Tokenizer's boxes, [SEP] in the far corner.
        t.boxes_ = special_boxes::from_settings(settings, {{0, 0, 0, 0}, {1000, 1000, 1000, 1000}, {0, 0, 0, 0}});

        std::vector<added_token> specials;
        const auto special = [&](const char* key, const char* fallback) {
            const auto token = settings.special_token(key, fallback);
            specials.push_back({token, special_token_id(settings, t.vocab_, vocab_path.string(), key, token)});
            return specials.back();
        };
        t.unk_token_ = special("unk_token", "[UNK]");
        t.sep_token_id_ = special("sep_token", "[SEP]").id;
        t.pad_token_id_ = special("pad_token", "[PAD]").id;
        t.cls_token_id_ = special("cls_token", "[CLS]").id;
        t.mask_token_id_ = special("mask_token", "[MASK]").id;
        t.added_tokens_ = no_split_tokens(settings, specials);
        // BasicTokenizer gets the special tokens as never_split on top of the configured ones.
        t.basic_.never_split = t.never_split_;
        for (const auto& s : specials) t.basic_.never_split.insert(unicode::decode_utf8(s.content));
        for (const auto& s : specials) t.special_ids_.push_back(s.id);
        return t;
    }

    // HF tokenize(): the word pieces of `text`, no special tokens added. Added tokens
    // written in the text ("[SEP]") come out whole. input_error on invalid UTF-8.
    std::vector<std::string> tokenize(const std::string& text) const {
        check_input_bytes("wordpiece_tokenizer", text.size(), max_input_bytes_);
        const auto plain = [&](const std::u32string& chars, std::size_t, std::vector<std::string>& out) {
            const auto words = do_basic_tokenize_ ? basic_.tokenize(chars) : split_on_spaces(chars);
            for (const auto& word : words) {
                if (never_split_.count(word)) {
                    out.push_back(unicode::encode_utf8(word));
                } else {
                    word_pieces(word, out);
                }
            }
        };
        return tokenize_around_added_tokens(text, added_tokens_, plain);
    }

    // Added tokens first, then the vocabulary; unknown tokens become [UNK]'s id.
    std::vector<std::int64_t> convert_tokens_to_ids(const std::vector<std::string>& tokens) const {
        return tokens_to_ids(tokens, added_tokens_, vocab_, unk_token_.id);
    }

    // A pre-split word's pieces as ids: every word is tokenized the same, first or not.
    std::vector<std::int64_t> encode_word(const std::string& word, bool /*first_word*/) const override {
        return convert_tokens_to_ids(tokenize(word));
    }

    // BERT's basic tokenizer splits on whitespace first, so the question's text gives
    // the ids of its question.split() words.
    std::vector<std::int64_t> question_ids(const std::string& question) const override {
        return convert_tokens_to_ids(tokenize(question));
    }
    pair_format pair() const override { return {1, 1}; }  // [CLS] q [SEP] w [SEP], token type 1 from w on

    // "[CLS] pieces [SEP]", truncated to max_length ([SEP] is kept) and, when asked,
    // padded with [PAD] (attention 0); token_type_ids all 0.
    encoding encode(const std::string& text, std::size_t max_length, bool pad_to_max_length = true) const {
        return build_encoding(convert_tokens_to_ids(tokenize(text)), cls_token_id_, sep_token_id_, pad_token_id_,
                              max_length, pad_to_max_length, true);
    }

    // Ids back to text: pieces joined by spaces, "##" continuations glued on.
    // input_error for an id outside the vocabulary.
    std::string decode(const std::vector<std::int64_t>& ids, bool skip_special_tokens = true) const override {
        std::string joined;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const std::int64_t id = ids[i];
            const std::string* token = token_of(id);
            if (!token) {
                fail<input_error>("wordpiece_tokenizer::decode: id ", id, " at position ", i,
                                  " has no token; expected an id of the vocabulary (0..", ids_to_tokens_.size(),
                                  ") or of an added token");
            }
            if (skip_special_tokens && std::find(special_ids_.begin(), special_ids_.end(), id) != special_ids_.end()) {
                continue;
            }
            const std::string& text = *token;
            if (text.compare(0, 2, "##") == 0 && !joined.empty()) {
                joined.append(text, 2, std::string::npos);
            } else {
                if (!joined.empty()) joined += ' ';
                joined += text;
            }
        }
        joined = strip_spaces(joined);
        return clean_up_tokenization_spaces_ ? clean_up_tokenization(std::move(joined)) : joined;
    }

    std::size_t model_max_length() const override { return model_max_length_; }
    // tokenize / encode refuse longer texts, and encode_words longer documents
    // (default_max_input_bytes).
    std::size_t max_input_bytes() const override { return max_input_bytes_; }
    void set_max_input_bytes(std::size_t bytes) { max_input_bytes_ = bytes; }
    std::size_t vocab_size() const override { return vocab_.size(); }
    std::int64_t cls_token_id() const override { return cls_token_id_; }
    std::int64_t sep_token_id() const override { return sep_token_id_; }
    std::int64_t pad_token_id() const override { return pad_token_id_; }
    std::int64_t unk_token_id() const override { return unk_token_.id; }
    std::int64_t mask_token_id() const override { return mask_token_id_; }
    special_boxes boxes() const override { return boxes_; }

private:
    wordpiece_tokenizer() = default;

    // The vocabulary line of `id`, else the added token with that id; a line hidden by
    // a later duplicate of its token reads as [UNK], as in HF. Null when there is none.
    // Added tokens are looked up rather than stored by id, since their ids may be huge.
    const std::string* token_of(std::int64_t id) const {
        const bool in_vocab = id >= 0 && id < static_cast<std::int64_t>(ids_to_tokens_.size());
        if (in_vocab && ids_to_tokens_[static_cast<std::size_t>(id)]) return &*ids_to_tokens_[static_cast<std::size_t>(id)];
        if (const added_token* added = added_tokens_.find(id)) return &added->content;
        return in_vocab ? &unk_token_.content : nullptr;
    }

    void load_vocab(const std::filesystem::path& path) {
        const std::string text = io::read_text_file(path);
        std::int64_t id = 0;
        for (std::size_t pos = 0; pos < text.size(); ++id) {
            // Python reads the file with universal newlines: \n, \r\n and \r all end a line.
            std::size_t end = text.find_first_of("\r\n", pos);
            if (end == std::string::npos) end = text.size();
            std::string token = text.substr(pos, end - pos);
            pos = end + (text.compare(end, 2, "\r\n") == 0 ? 2 : 1);
            try {
                unicode::decode_utf8(token);
            } catch (const input_error& e) {
                fail<format_error>(path.string(), " line ", id + 1, ": ", e.what());
            }
            vocab_[token] = id;  // a repeated token keeps its last line, as load_vocab does
            ids_to_tokens_.emplace_back(std::move(token));
        }
        for (std::size_t i = 0; i < ids_to_tokens_.size(); ++i) {
            if (vocab_.at(*ids_to_tokens_[i]) != static_cast<std::int64_t>(i)) ids_to_tokens_[i].reset();
        }
    }

    // WordpieceTokenizer.tokenize on one word: the longest vocabulary entry at the
    // start, then the longest "##" entry at each following position.
    void word_pieces(const std::u32string& word, std::vector<std::string>& out) const {
        if (word.size() > max_input_chars_per_word) {
            out.push_back(unk_token_.content);
            return;
        }
        const std::string utf8 = unicode::encode_utf8(word);
        std::vector<std::size_t> offset;  // byte offset of each code point, and the end
        offset.reserve(word.size() + 1);
        for (std::size_t i = 0, at = 0; i < word.size(); ++i) {
            offset.push_back(at);
            at += unicode::encode_utf8(std::u32string_view(word).substr(i, 1)).size();
        }
        offset.push_back(utf8.size());

        std::vector<std::string> pieces;
        std::string candidate;
        for (std::size_t start = 0; start < word.size();) {
            std::size_t end = word.size();
            for (; end > start; --end) {
                candidate = start > 0 ? "##" : "";
                candidate.append(utf8, offset[start], offset[end] - offset[start]);
                if (vocab_.count(candidate)) break;
            }
            if (end == start) {
                out.push_back(unk_token_.content);
                return;
            }
            pieces.push_back(candidate);
            start = end;
        }
        out.insert(out.end(), pieces.begin(), pieces.end());
    }

    vocabulary vocab_;                                       // token -> id (its last line)
    std::vector<std::optional<std::string>> ids_to_tokens_;  // line -> token; empty when a later line took it
    added_vocabulary added_tokens_;
    std::vector<std::int64_t> special_ids_;
    std::unordered_set<std::u32string> never_split_;  // tokenizer_config.json "never_split"
    basic_tokenizer basic_;
    bool do_basic_tokenize_ = true;
    bool clean_up_tokenization_spaces_ = true;
    added_token unk_token_;
    special_boxes boxes_;
    std::int64_t sep_token_id_ = 0, pad_token_id_ = 0, cls_token_id_ = 0, mask_token_id_ = 0;
    std::size_t model_max_length_ = no_max_length;
    std::size_t max_input_bytes_ = default_max_input_bytes;
};

}  // namespace mmt::tokenizers
