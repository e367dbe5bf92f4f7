// Base64 (RFC 4648, the standard alphabet with '=' padding), for files sent inside
// JSON requests (mmt worker, mmt serve), data: URLs and OpenAI's base64 embeddings.
// Decoding is strict: whitespace, other characters, a bad length or stray bits after
// the last byte are an input_error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mmt/core/error.hpp"

namespace mmt::io {

// `where` names the text in error messages.
inline std::vector<std::uint8_t> decode_base64(std::string_view text, const std::string& where) {
    const auto value = [&](char c, std::size_t at) -> std::uint32_t {
        if (c >= 'A' && c <= 'Z') return std::uint32_t(c - 'A');
        if (c >= 'a' && c <= 'z') return std::uint32_t(c - 'a' + 26);
        if (c >= '0' && c <= '9') return std::uint32_t(c - '0' + 52);
        if (c == '+') return 62;
        if (c == '/') return 63;
        fail<input_error>(where, ": character ", at, " of the base64 text is not base64 (byte ", unsigned(static_cast<unsigned char>(c)), ")");
    };
    if (text.size() % 4 != 0)
        fail<input_error>(where, ": base64 text of ", text.size(), " characters; expected a multiple of 4 (with '=' padding)");
    std::size_t padding = 0;
    while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
    std::vector<std::uint8_t> out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        const std::size_t digits = last ? 4 - padding : 4;
        std::uint32_t group = 0;
        for (std::size_t k = 0; k < 4; ++k) group = group << 6 | (k < digits ? value(text[i + k], i + k) : 0);
        const std::size_t bytes = digits - 1;  // 4 digits -> 3 bytes, 3 -> 2, 2 -> 1
        if (bytes < 3 && (group >> (8 * (3 - bytes)) << (8 * (3 - bytes))) != group)
            fail<input_error>(where, ": base64 text ends with bits that make no byte; expected canonical padding");
        for (std::size_t k = 0; k < bytes; ++k) out.push_back(std::uint8_t(group >> (16 - 8 * k)));
    }
    return out;
}

// Bytes to base64 text with '=' padding: what decode_base64 reads back.
inline std::string encode_base64(const void* data, std::size_t size) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    std::string out;
    out.reserve((size + 2) / 3 * 4);
    for (std::size_t i = 0; i < size; i += 3) {
        const std::size_t n = size - i < 3 ? size - i : 3;
        std::uint32_t group = 0;
        for (std::size_t k = 0; k < 3; ++k) group = group << 8 | (k < n ? bytes[i + k] : 0u);
        for (std::size_t k = 0; k < 4; ++k) out += k <= n ? alphabet[(group >> (18 - 6 * k)) & 63] : '=';
    }
    return out;
}

}  // namespace mmt::io
