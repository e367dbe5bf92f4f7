// Wav2Vec2CTCTokenizer's decoding (transformers 4.45,
// models/wav2vec2/tokenization_wav2vec2.py): per-frame ids -> tokens, repeats
// grouped, the pad token (the CTC blank) dropped, the word delimiter "|" turned
// into a space, the string stripped (and lower-cased with do_lower_case), with
// optional character and word offsets in frames.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"
#include "mmt/io/json.hpp"
#include "mmt/tokenizers/common.hpp"
#include "mmt/tokenizers/unicode.hpp"

namespace mmt::tokenizers {

// vocab.json is read keeping the file's order: on a duplicate id HF keeps the last token.
using ordered_json = nlohmann::ordered_json;

// tokenizer_config.json / special_tokens_map.json of Wav2Vec2CTCTokenizer; the
// member initialisers are HF's defaults.
struct ctc_tokenizer_config {
    std::string bos_token = "<s>";
    std::string eos_token = "</s>";
    std::string unk_token = "<unk>";
    std::string pad_token = "<pad>";                        // also the CTC blank
    std::optional<std::string> word_delimiter_token = "|";  // JSON null: no delimiter
    std::string replace_word_delimiter_char = " ";
    bool do_lower_case = false;
    bool clean_up_tokenization_spaces = false;  // the default since transformers 4.45
    std::string target_lang;                    // picks one vocabulary of a nested (MMS) vocab.json

    // Applies the keys present in `j` over the current values.
    void update_from_json(const io::json& j, const std::string& where) {
        if (!j.is_object()) fail<config_error>(where, ": expected a JSON object, got ", j.type_name());
        for (auto [key, member] : {std::pair{"bos_token", &bos_token}, std::pair{"eos_token", &eos_token},
                                   std::pair{"unk_token", &unk_token}, std::pair{"pad_token", &pad_token}}) {
            if (auto token = token_value(j, key, where)) *member = *token;
        }
        if (j.contains("word_delimiter_token")) word_delimiter_token = token_value(j, "word_delimiter_token", where);
        io::json_optional(j, "replace_word_delimiter_char", replace_word_delimiter_char, where);
        io::json_optional(j, "do_lower_case", do_lower_case, where);
        io::json_optional(j, "clean_up_tokenization_spaces", clean_up_tokenization_spaces, where);
        io::json_optional(j, "target_lang", target_lang, where);
    }

    static ctc_tokenizer_config from_json(const io::json& j, const std::string& where) {
        ctc_tokenizer_config c;
        c.update_from_json(j, where);
        return c;
    }

private:
    // A token is a string or an AddedToken object {"content": ...}; null means unset.
    static std::optional<std::string> token_value(const io::json& j, const std::string& key, const std::string& where) {
        auto it = j.find(key);
        if (it == j.end() || it->is_null()) return std::nullopt;
        if (it->is_string()) return it->get<std::string>();
        if (it->is_object() && it->contains("content") && (*it)["content"].is_string())
            return (*it)["content"].get<std::string>();
        fail<config_error>(where, ": key \"", key, "\": expected a string or {\"content\": string}, got ", it->dump());
    }
};

// HF's {"char", "start_offset", "end_offset"}: frames [start, end) of one output character.
struct ctc_char_offset {
    std::string character;
    std::int64_t start_offset = 0;
    std::int64_t end_offset = 0;
};

// HF's {"word", "start_offset", "end_offset"}.
struct ctc_word_offset {
    std::string word;
    std::int64_t start_offset = 0;
    std::int64_t end_offset = 0;
};

struct ctc_decoding {
    std::string text;
    std::vector<ctc_char_offset> char_offsets;
    std::vector<ctc_word_offset> word_offsets;
};

// Frames to seconds as the HF ASR pipeline does: frame * inputs_to_logits_ratio /
// sampling_rate, the ratio being the product of the feature encoder's conv strides.
struct ctc_time_base {
    std::int64_t inputs_to_logits_ratio = 320;  // wav2vec2's default strides (5, 2, 2, 2, 2, 2, 2)
    int sampling_rate = 16000;

    double seconds(std::int64_t frame) const {
        return static_cast<double>(frame * inputs_to_logits_ratio) / sampling_rate;
    }
};

// Wav2Vec2Config.inputs_to_logits_ratio: functools.reduce(operator.mul, conv_stride, 1).
template <class Range>
std::int64_t inputs_to_logits_ratio(const Range& conv_stride) {
    std::int64_t ratio = 1;
    for (auto stride : conv_stride) ratio *= static_cast<std::int64_t>(stride);
    return ratio;
}

// torch.argmax(logits, dim=-1): the first maximum, a NaN counting as the maximum.
// [frames, vocab] -> [frames]
inline std::vector<std::int64_t> ctc_argmax(const tensor<2>& logits) {
    const std::size_t frames = logits.shape(0), vocab = logits.shape(1);
    if (vocab == 0) fail<shape_error>("ctc_argmax: logits [", frames, ", 0] have no classes; expected vocab >= 1");
    std::vector<std::int64_t> ids(frames);
    for (std::size_t f = 0; f < frames; ++f) {
        const float* row = &logits(f, 0);
        std::size_t best = 0;
        for (std::size_t v = 0; v < vocab && !std::isnan(row[best]); ++v)
            if (std::isnan(row[v]) || row[v] > row[best]) best = v;
        ids[f] = static_cast<std::int64_t>(best);
    }
    return ids;
}

class wav2vec2_ctc_tokenizer {
public:
    // vocab.json maps token -> id (or target_lang -> {token -> id} for MMS);
    // `added_tokens` (tokenizer_config.json's "added_tokens_decoder") may add or
    // rename ids. `where` names the origin in errors.
    wav2vec2_ctc_tokenizer(const ordered_json& vocab, ctc_tokenizer_config config, const std::string& where,
                           const io::json& added_tokens = io::json::object())
        : config_(std::move(config)) {
        const ordered_json* entries = &vocab;
        if (!config_.target_lang.empty()) {
            if (!vocab.contains(config_.target_lang) || !vocab[config_.target_lang].is_object()) {
                std::vector<std::string> languages;
                for (auto it = vocab.begin(); it != vocab.end(); ++it)
                    if (it.value().is_object()) languages.push_back(it.key());
                fail<config_error>(where, ": target_lang \"", config_.target_lang, "\" is not a vocabulary of this nested vocab.json",
                                   languages.empty() ? std::string(" (it is not nested)") : "; the languages present are " + or_list(languages));
            }
            entries = &vocab[config_.target_lang];
        }
        if (!entries->is_object()) fail<config_error>(where, ": expected a JSON object token -> id, got ", entries->type_name());
        // Later entries win on duplicate ids, as HF's {v: k for k, v in encoder.items()}.
        for (auto it = entries->begin(); it != entries->end(); ++it) {
            if (!it.value().is_number_integer())
                fail<config_error>(where, ": token \"", it.key(), "\" has id ", it.value().dump(),
                                   "; expected an integer (a nested vocab.json needs target_lang)");
            decoder_[it.value().get<std::int64_t>()] = it.key();
            encoder_[it.key()] = it.value().get<std::int64_t>();
        }
        if (!added_tokens.is_object())
            fail<config_error>(where, ": added_tokens_decoder: expected an object, got ", added_tokens.type_name());
        for (auto it = added_tokens.begin(); it != added_tokens.end(); ++it) {
            std::int64_t id = 0;
            try {
                id = std::stoll(it.key());
            } catch (const std::exception&) {
                fail<config_error>(where, ": added_tokens_decoder key \"", it.key(), "\" is not an integer id");
            }
            const io::json& token = it.value();
            if (token.is_string()) {
                decoder_[id] = token.get<std::string>();
            } else if (token.is_object() && token.contains("content") && token["content"].is_string()) {
                decoder_[id] = token["content"].get<std::string>();
            } else {
                fail<config_error>(where, ": added_tokens_decoder[\"", it.key(),
                                   "\"]: expected a string or {\"content\": string}, got ", token.dump());
            }
            encoder_[decoder_[id]] = id;
        }
    }

    // A save_pretrained directory: vocab.json, and tokenizer_config.json /
    // special_tokens_map.json when present (the latter overriding the former, as
    // from_pretrained does). A `target_lang` overrides the files' (set_target_lang).
    static wav2vec2_ctc_tokenizer from_pretrained(const std::filesystem::path& directory, const std::string& target_lang = {}) {
        ctc_tokenizer_config config;
        io::json added = io::json::object();
        auto tokenizer_config = directory / "tokenizer_config.json";
        if (std::filesystem::exists(tokenizer_config)) {
            io::json j = io::read_json_file(tokenizer_config);
            config.update_from_json(j, tokenizer_config.string());
            if (j.contains("added_tokens_decoder")) added = j["added_tokens_decoder"];
        }
        auto special_tokens_map = directory / "special_tokens_map.json";
        if (std::filesystem::exists(special_tokens_map))
            config.update_from_json(io::read_json_file(special_tokens_map), special_tokens_map.string());
        if (!target_lang.empty()) config.target_lang = target_lang;
        auto vocab_path = directory / "vocab.json";
        const ordered_json vocab = io::parse_ordered_json(io::read_text_file(vocab_path), vocab_path.string());
        return wav2vec2_ctc_tokenizer(vocab, std::move(config), vocab_path.string(), added);
    }

    const ctc_tokenizer_config& config() const { return config_; }
    // Ids with a token: the vocabulary plus added tokens (HF's len(tokenizer)).
    std::size_t vocab_size() const { return decoder_.size(); }

    // _convert_id_to_token: an id outside the vocabulary is the unk token.
    const std::string& convert_id_to_token(std::int64_t id) const {
        auto it = decoder_.find(id);
        return it == decoder_.end() ? config_.unk_token : it->second;
    }

    // The id of a token of the vocabulary or an added token (HF's convert_tokens_to_ids
    // without the fallback to unk); nullopt for any other string.
    std::optional<std::int64_t> token_to_id(const std::string& token) const {
        auto it = encoder_.find(token);
        if (it == encoder_.end()) return std::nullopt;
        return it->second;
    }

    // tokenizer.decode(ids): the transcription of argmax ids.
    std::string decode(const std::vector<std::int64_t>& ids, bool group_tokens = true) const {
        return decode_impl(ids, group_tokens, false).text;
    }

    // tokenizer.decode(ids, output_char_offsets=True, output_word_offsets=True).
    ctc_decoding decode_with_offsets(const std::vector<std::int64_t>& ids, bool group_tokens = true) const {
        return decode_impl(ids, group_tokens, true);
    }

    // batch_decode of [batch, frames] ids.
    std::vector<std::string> batch_decode(const int_tensor<2>& ids, bool group_tokens = true) const {
        std::vector<std::string> texts;
        for (std::size_t b = 0; b < ids.shape(0); ++b) {
            const std::int64_t* row = ids.data() + b * ids.shape(1);
            texts.push_back(decode(std::vector<std::int64_t>(row, row + ids.shape(1)), group_tokens));
        }
        return texts;
    }

private:
    // convert_ids_to_tokens, then convert_tokens_to_string and clean-up.
    ctc_decoding decode_impl(const std::vector<std::int64_t>& ids, bool group_tokens, bool with_offsets) const {
        ctc_decoding out;
        // Runs of equal tokens (HF groups token strings, not ids).
        std::vector<std::pair<const std::string*, std::int64_t>> runs;
        for (std::int64_t id : ids) {
            const std::string* token = &convert_id_to_token(id);
            if (group_tokens && !runs.empty() && *runs.back().first == *token) {
                ++runs.back().second;
            } else {
                runs.emplace_back(token, 1);
            }
        }
        std::string joined;
        std::int64_t frame = 0;
        for (const auto& [token, repetitions] : runs) {
            std::int64_t start = frame;
            frame += repetitions;
            if (*token == config_.pad_token) continue;
            const std::string& piece =
                config_.word_delimiter_token && *token == *config_.word_delimiter_token ? config_.replace_word_delimiter_char
                                                                                        : *token;
            joined += piece;
            if (with_offsets) out.char_offsets.push_back({piece, start, frame});
        }
        out.text = strip_spaces(joined);
        if (config_.do_lower_case) out.text = unicode::encode_utf8(unicode::to_lower(unicode::decode_utf8(out.text)));
        if (config_.clean_up_tokenization_spaces) out.text = clean_up_tokenization(out.text);
        if (with_offsets) out.word_offsets = word_offsets(out.char_offsets);
        return out;
    }

    // _get_word_offsets: a word is a maximal run of characters other than the delimiter replacement.
    std::vector<ctc_word_offset> word_offsets(const std::vector<ctc_char_offset>& chars) const {
        std::vector<ctc_word_offset> words;
        bool in_word = false;
        for (const ctc_char_offset& c : chars) {
            bool is_space = c.character == config_.replace_word_delimiter_char;
            if (!is_space && !in_word) {
                words.push_back({c.character, c.start_offset, c.end_offset});
            } else if (!is_space) {
                words.back().word += c.character;
                words.back().end_offset = c.end_offset;
            }
            in_word = !is_space;
        }
        return words;
    }

    ctc_tokenizer_config config_;
    std::unordered_map<std::int64_t, std::string> decoder_;
    std::unordered_map<std::string, std::int64_t> encoder_;  // added tokens override the vocabulary, as in HF
};

}  // namespace mmt::tokenizers
