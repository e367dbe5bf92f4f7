// A known transcript as the target ids of a CTC vocabulary, for forced alignment
// (ctc_forced_align.hpp): one id a character (Unicode code point, as
// Wav2Vec2CTCTokenizer splits text), words split at white space and joined by the
// word delimiter token ("|") when the vocabulary has one. A character missing from
// the vocabulary is looked up in the other case (wav2vec2-base-960h's vocabulary
// is upper case, many others lower case); one missing in both is an input_error
// naming it, where HF's tokenizer would silently give <unk>.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/tokenizers/ctc_decode.hpp"
#include "mmt/tokenizers/unicode.hpp"

namespace mmt::tokenizers {

// One word of the transcript, as written, and where its targets are.
struct transcript_word {
    std::string text;
    std::vector<std::string> characters;  // its code points, as written
    std::size_t first_target = 0;         // characters[i] is targets[first_target + i]
};

struct ctc_transcript {
    std::vector<std::int64_t> targets;  // [L]: the words' characters, the delimiter between words
    std::vector<transcript_word> words;
};

// input_error for invalid UTF-8, a transcript without words, and a character the
// vocabulary lacks in either case, or that is the pad token (the CTC blank).
inline ctc_transcript encode_transcript(const wav2vec2_ctc_tokenizer& tokenizer, std::string_view text) {
    const std::u32string chars = unicode::decode_utf8(text);
    const auto& config = tokenizer.config();
    const std::optional<std::int64_t> blank = tokenizer.token_to_id(config.pad_token);
    const std::optional<std::int64_t> delimiter =
        config.word_delimiter_token ? tokenizer.token_to_id(*config.word_delimiter_token) : std::nullopt;

    const auto id_of = [&](char32_t c, std::size_t position, const std::string& word) {
        for (char32_t variant : {c, char32_t(utf8proc_toupper(utf8proc_int32_t(c))), char32_t(utf8proc_tolower(utf8proc_int32_t(c)))}) {
            const auto id = tokenizer.token_to_id(unicode::encode_utf8(std::u32string(1, variant)));
            if (id && id != blank) return *id;
        }
        char code[16];
        std::snprintf(code, sizeof code, "U+%04X", unsigned(c));
        fail<input_error>("transcript: character '", unicode::encode_utf8(std::u32string(1, c)), "' (", code, ") at position ", position,
                          " (in \"", word, "\") is not in the model's vocabulary, in either case; expected one of its ",
                          tokenizer.vocab_size(), " tokens");
    };

    ctc_transcript out;
    for (std::size_t i = 0; i < chars.size();) {
        if (unicode::is_space(chars[i])) {
            ++i;
            continue;
        }
        std::size_t end = i;
        while (end < chars.size() && !unicode::is_space(chars[end])) ++end;
        if (!out.words.empty() && delimiter) out.targets.push_back(*delimiter);
        transcript_word word{unicode::encode_utf8(std::u32string_view(chars).substr(i, end - i)), {}, out.targets.size()};
        for (std::size_t k = i; k < end; ++k) {
            out.targets.push_back(id_of(chars[k], k, word.text));
            word.characters.push_back(unicode::encode_utf8(std::u32string(1, chars[k])));
        }
        out.words.push_back(std::move(word));
        i = end;
    }
    if (out.words.empty()) fail<input_error>("transcript: \"", text, "\" has no words to align");
    return out;
}

}  // namespace mmt::tokenizers
