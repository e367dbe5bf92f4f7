#include <doctest/doctest.h>

#include <string>

#include "mmt/tokenizers/unicode.hpp"

namespace u = mmt::tokenizers::unicode;

// Expected values are Python 3.11's (str methods, unicodedata, bytes.decode).

TEST_CASE("tokenizers.unicode: UTF-8 round trip" * doctest::test_suite("unit")) {
    const std::string text = "a\u00e9\u65e5\U0001F408";
    const std::u32string chars = u::decode_utf8(text);
    CHECK(chars == U"a\u00e9\u65e5\U0001F408");
    CHECK(u::encode_utf8(chars) == text);
    CHECK(u::decode_utf8("").empty());
}

TEST_CASE("tokenizers.unicode: invalid UTF-8 is an input_error at its byte offset" * doctest::test_suite("unit")) {
    CHECK_THROWS_WITH_AS(u::decode_utf8("ab\xff"), doctest::Contains("byte offset 2"), mmt::input_error);
    CHECK_THROWS_WITH_AS(u::decode_utf8("a\xc0\xaf"), doctest::Contains("byte offset 1"), mmt::input_error);  // overlong
    CHECK_THROWS_WITH_AS(u::decode_utf8("\xed\xa0\x80"), doctest::Contains("byte offset 0"), mmt::input_error);  // surrogate
    CHECK_THROWS_WITH_AS(u::decode_utf8("xyz\xf4\x90\x80\x80"), doctest::Contains("byte offset 3"), mmt::input_error);
    CHECK_THROWS_WITH_AS(u::decode_utf8("\xe6\x97", 40), doctest::Contains("byte offset 40"), mmt::input_error);
}

TEST_CASE("tokenizers.unicode: lossy decoding replaces like errors=\"replace\"" * doctest::test_suite("unit")) {
    CHECK(u::decode_utf8_lossy("\xe6\x97") == "\uFFFD");
    CHECK(u::decode_utf8_lossy("\xe6\x97" "a") == "\uFFFD" "a");
    CHECK(u::decode_utf8_lossy("\xf0\x80\x80") == "\uFFFD\uFFFD\uFFFD");
    CHECK(u::decode_utf8_lossy("a\xc0\xaf" "b") == "a\uFFFD\uFFFD" "b");
    CHECK(u::decode_utf8_lossy("\xf4\x90\x80\x80") == "\uFFFD\uFFFD\uFFFD\uFFFD");
    CHECK(u::decode_utf8_lossy("\xe6\x97\xa5") == "\u65e5");
}

TEST_CASE("tokenizers.unicode: categories" * doctest::test_suite("unit")) {
    CHECK(u::is_letter(U'\u00e9'));
    CHECK(u::is_letter(U'\u65e5'));
    CHECK(u::is_letter(U'\u02b0'));  // Lm
    CHECK_FALSE(u::is_letter(U'1'));
    CHECK(u::is_number(U'\u00bd'));  // No
    CHECK(u::is_number(U'\u0663'));  // Arabic-Indic three, Nd
    CHECK(u::is_punctuation(U'\u00bf'));
    CHECK(u::is_punctuation(U'\u2014'));
    CHECK_FALSE(u::is_punctuation(U'$'));  // Sc: BERT adds it, Unicode does not
    CHECK(u::is_other(U'\u200b'));         // Cf
    CHECK(u::is_other(U'\x01'));           // Cc
    CHECK(u::is_other(U'\U000E0080'));     // unassigned
    CHECK(u::is_nonspacing_mark(U'\u0301'));
    CHECK(u::is_cjk_ideograph(U'\u65e5'));
    CHECK_FALSE(u::is_cjk_ideograph(U'\u306e'));  // Hiragana
    CHECK_FALSE(u::is_cjk_ideograph(U'\uac00'));  // Hangul
}

TEST_CASE("tokenizers.unicode: is_space is str.isspace" * doctest::test_suite("unit")) {
    for (char32_t c : std::u32string(U" \t\n\r\x0b\x0c\x1c\x1f\u0085\u00a0\u3000\u2028\u2029\u202f")) {
        CAPTURE(static_cast<unsigned>(c));
        CHECK(u::is_space(c));
    }
    CHECK_FALSE(u::is_space(U'\u200b'));
    CHECK_FALSE(u::is_space(U'\u180e'));
    CHECK_FALSE(u::is_space(U'a'));
}

TEST_CASE("tokenizers.unicode: normalisation and accent stripping" * doctest::test_suite("unit")) {
    CHECK(u::nfc(U"cafe\u0301") == U"caf\u00e9");
    CHECK(u::nfd(U"caf\u00e9") == U"cafe\u0301");
    CHECK(u::nfc(U"\u212b") == U"\u00c5");  // Angstrom sign -> A with ring
    CHECK(u::nfc(U"") == U"");
    CHECK(u::strip_accents(U"R\u00e9sum\u00e9 na\u00efve") == U"Resume naive");
    CHECK(u::strip_accents(U"\u65e5\u672c") == U"\u65e5\u672c");
}

TEST_CASE("tokenizers.unicode: to_lower is str.lower" * doctest::test_suite("unit")) {
    CHECK(u::to_lower(U"A Photo Of A CAT!!") == U"a photo of a cat!!");
    CHECK(u::to_lower(U"\u0130") == U"i\u0307");  // one of SpecialCasing's expansions
    CHECK(u::to_lower(U"\u1e9e") == U"\u00df");
    CHECK(u::to_lower(U"\uff21") == U"\uff41");
    // Final sigma: 'ΟΔΟΣ ΣΑ Σ. ΑΣ\'Α' -> 'οδος σα σ. ασ\'α', 'Α.Σ' -> 'α.ς'
    CHECK(u::to_lower(U"\u039f\u0394\u039f\u03a3 \u03a3\u0391 \u03a3. \u0391\u03a3'\u0391") ==
          U"\u03bf\u03b4\u03bf\u03c2 \u03c3\u03b1 \u03c3. \u03b1\u03c3'\u03b1");
    CHECK(u::to_lower(U"\u0391.\u03a3") == U"\u03b1.\u03c2");
}
