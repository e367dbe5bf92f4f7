// The Unicode layer under the text tokenizers: UTF-8 <-> code points, general
// categories, NFC/NFD, accent stripping and lower-casing, each with the meaning
// Python's str / unicodedata give it, because HF's slow tokenizers are the
// reference. Character data comes from utf8proc (Debian 12: libutf8proc 2.8,
// Unicode 15; Python 3.11 has Unicode 14, so only characters assigned in 15
// can differ).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <utf8proc.h>

#include "mmt/core/error.hpp"

namespace mmt::tokenizers::unicode {

inline constexpr char32_t replacement_character = U'\uFFFD';

namespace detail {

// One step of UTF-8 decoding at `pos`: the code point, or on failure the length of the
// maximal ill-formed prefix (Unicode 15, section 3.9, Table 3-7), which is how far
// Python's decoder skips for one U+FFFD under errors="replace".
struct utf8_step {
    char32_t code_point = 0;
    std::size_t length = 1;
    bool valid = false;
};

inline utf8_step read_utf8(std::string_view text, std::size_t pos) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(pos);
    if (lead < 0x80) return {lead, 1, true};

    std::size_t trailing = 0;
    unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
    char32_t code_point = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        trailing = 1;
        code_point = lead & 0x1Fu;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        trailing = 2;
        code_point = lead & 0x0Fu;
        if (lead == 0xE0) low = 0xA0;   // no overlong forms
        if (lead == 0xED) high = 0x9F;  // no surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        trailing = 3;
        code_point = lead & 0x07u;
        if (lead == 0xF0) low = 0x90;   // no overlong forms
        if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
    } else {
        return {replacement_character, 1, false};
    }
    for (std::size_t k = 1; k <= trailing; ++k) {
        if (pos + k >= text.size()) return {replacement_character, k, false};
        const unsigned char next = byte(pos + k);
        if (next < low || next > high) return {replacement_character, k, false};
        code_point = (code_point << 6) | (next & 0x3Fu);
        low = 0x80;
        high = 0xBF;
    }
    return {code_point, trailing + 1, true};
}

struct free_deleter {
    void operator()(void* p) const { std::free(p); }
};

}  // namespace detail

// Appends the UTF-8 bytes of one scalar value.
inline void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

inline std::string encode_utf8(std::u32string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char32_t c : text) append_utf8(out, c);
    return out;
}

// Strict decoding: input_error naming the byte offset of the first ill-formed sequence
// (counted from `offset_base` when `text` is a slice of a longer string).
inline std::u32string decode_utf8(std::string_view text, std::size_t offset_base = 0) {
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t pos = 0; pos < text.size();) {
        const auto step = detail::read_utf8(text, pos);
        if (!step.valid) {
            const auto shown = static_cast<unsigned>(static_cast<unsigned char>(text[pos]));
            fail<input_error>("text: invalid UTF-8 at byte offset ", offset_base + pos, "; expected a well-formed sequence, got byte 0x",
                              "0123456789abcdef"[shown >> 4], "0123456789abcdef"[shown & 0xF],
                              step.length > 1 ? " followed by a bad or missing continuation byte" : "");
        }
        out += step.code_point;
        pos += step.length;
    }
    return out;
}

// bytes.decode("utf-8", errors="replace"): one U+FFFD per maximal ill-formed prefix.
inline std::string decode_utf8_lossy(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (std::size_t pos = 0; pos < bytes.size();) {
        const auto step = detail::read_utf8(bytes, pos);
        if (step.valid) {
            out.append(bytes.substr(pos, step.length));
        } else {
            append_utf8(out, replacement_character);
        }
        pos += step.length;
    }
    return out;
}

// ---- categories ---------------------------------------------------------------------

inline utf8proc_category_t category(char32_t c) {
    return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

// \p{L}: Lu, Ll, Lt, Lm, Lo.
inline bool is_letter(char32_t c) {
    const auto k = category(c);
    return k >= UTF8PROC_CATEGORY_LU && k <= UTF8PROC_CATEGORY_LO;
}

// \p{N}: Nd, Nl, No.
inline bool is_number(char32_t c) {
    const auto k = category(c);
    return k >= UTF8PROC_CATEGORY_ND && k <= UTF8PROC_CATEGORY_NO;
}

// \p{P}: the Unicode punctuation categories Pc .. Po (no ASCII symbols; BERT adds those itself).
inline bool is_punctuation(char32_t c) {
    const auto k = category(c);
    return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

// \p{C}: Cc, Cf, Cs, Co and unassigned Cn, which is what unicodedata.category(c).startswith("C") tests.
inline bool is_other(char32_t c) {
    const auto k = category(c);
    return k == UTF8PROC_CATEGORY_CN || k >= UTF8PROC_CATEGORY_CC;
}

inline bool is_nonspacing_mark(char32_t c) { return category(c) == UTF8PROC_CATEGORY_MN; }

// Python's str.isspace(): category Zs or bidirectional class WS, B or S. This is what
// str.split() splits on, so HF's whitespace_tokenize depends on exactly this set.
inline bool is_space(char32_t c) {
    const auto* p = utf8proc_get_property(static_cast<utf8proc_int32_t>(c));
    return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
           p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

// \s of the `regex` module on str patterns (GPT-2's split pattern): Unicode's
// White_Space, which is str.isspace() without the separators U+001C..U+001F.
inline bool is_white_space(char32_t c) { return is_space(c) && !(c >= 0x1C && c <= 0x1F); }

// BERT's "Chinese character": the CJK Unified Ideographs blocks and their extensions
// and compatibility blocks, as BasicTokenizer._is_chinese_char lists them. Hangul,
// Hiragana and Katakana are deliberately not included.
inline bool is_cjk_ideograph(char32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// ---- normalisation ------------------------------------------------------------------

namespace detail {

inline std::u32string normalize(std::u32string_view text, utf8proc_option_t options) {
    if (text.empty()) return {};
    const std::string utf8 = encode_utf8(text);
    utf8proc_uint8_t* raw = nullptr;
    const utf8proc_ssize_t length = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                                                 static_cast<utf8proc_ssize_t>(utf8.size()), &raw, options);
    const std::unique_ptr<utf8proc_uint8_t, free_deleter> owned(raw);
    // Our text is always valid scalar values, so only an allocation failure can land here.
    if (length < 0) fail<error>("unicode normalisation failed: ", utf8proc_errmsg(length));
    return decode_utf8(std::string_view(reinterpret_cast<const char*>(raw), static_cast<std::size_t>(length)));
}

}  // namespace detail

// unicodedata.normalize("NFC", text)
inline std::u32string nfc(std::u32string_view text) {
    return detail::normalize(text, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
}

// unicodedata.normalize("NFD", text)
inline std::u32string nfd(std::u32string_view text) {
    return detail::normalize(text, static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE));
}

// BERT's _run_strip_accents: NFD, then drop the nonspacing marks (Mn).
inline std::u32string strip_accents(std::u32string_view text) {
    std::u32string out;
    for (char32_t c : nfd(text)) {
        if (!is_nonspacing_mark(c)) out += c;
    }
    return out;
}

// ---- lower-casing -------------------------------------------------------------------

namespace detail {

// Cased (Unicode 3.13, D135). Lu/Ll/Lt plus anything with a case mapping; the few
// Other_Lowercase letters without a mapping (U+00AA, modifier letters) are not seen,
// which only matters for the final-sigma test below.
inline bool is_cased(char32_t c) {
    const auto k = category(c);
    if (k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT) return true;
    const auto cp = static_cast<utf8proc_int32_t>(c);
    return utf8proc_islower(cp) || utf8proc_isupper(cp);
}

// Case_Ignorable (D136): Mn, Me, Cf, Lm, Sk, and Word_Break MidLetter / MidNumLet / Single_Quote.
inline bool is_case_ignorable(char32_t c) {
    switch (c) {
        case U'\'': case U'.': case U':': case U'\u00B7': case U'\u0387': case U'\u055F': case U'\u05F4':
        case U'\u2018': case U'\u2019': case U'\u2024': case U'\u2027': case U'\uFE13': case U'\uFE52':
        case U'\uFE55': case U'\uFF07': case U'\uFF0E': case U'\uFF1A':
            return true;
        default:
            break;
    }
    const auto k = category(c);
    return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_ME || k == UTF8PROC_CATEGORY_CF ||
           k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_SK;
}

// Python's handle_capital_sigma: U+03A3 becomes final sigma when a cased letter precedes
// it and none follows (case-ignorable characters skipped both ways).
inline bool is_final_sigma(std::u32string_view text, std::size_t i) {
    std::size_t j = i;
    while (j > 0 && is_case_ignorable(text[j - 1])) --j;
    if (j == 0 || !is_cased(text[j - 1])) return false;
    std::size_t k = i + 1;
    while (k < text.size() && is_case_ignorable(text[k])) ++k;
    return k == text.size() || !is_cased(text[k]);
}

}  // namespace detail

// Python's str.lower(): the simple lower-case mapping, plus SpecialCasing's one
// unconditional expansion (U+0130 -> "i" U+0307) and the Final_Sigma context.
inline std::u32string to_lower(std::u32string_view text) {
    std::u32string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char32_t c = text[i];
        if (c == U'\u0130') {
            out += U"i\u0307";
        } else if (c == U'\u03A3') {
            out += detail::is_final_sigma(text, i) ? U'\u03C2' : U'\u03C3';
        } else {
            out += static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c)));
        }
    }
    return out;
}

}  // namespace mmt::tokenizers::unicode
