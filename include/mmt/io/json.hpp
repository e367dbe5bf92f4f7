// Reading JSON files (configs, vocabularies, preprocessor settings) with
// errors that name the file and the key.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "mmt/core/error.hpp"

namespace mmt::io {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;  // keeps insertion order, for output people read

// Limits checked before anything is allocated: text files (configs, vocabularies)
// larger than this are refused from their size, and JSON nested deeper than this is
// refused while parsing. Python's json module stops at about the same depth (its
// recursion limit), so no file HF can read is refused; nlohmann's dump() and copies
// recurse, so an unbounded depth could overflow the stack.
inline constexpr std::size_t max_text_file_bytes = 100u << 20;
inline constexpr std::size_t max_json_depth = 1000;

// Whole file as bytes; io_error naming the path when it cannot be read, input_error
// when it holds more than `max_bytes` (checked from a regular file's size before
// reading, and while reading for pipes and devices).
inline std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes = max_text_file_bytes) {
    // A directory opens as a stream that reads as empty, so it is caught here.
    if (std::filesystem::is_directory(path)) fail<io_error>("cannot read '", path.string(), "': it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail<io_error>("cannot open '", path.string(), "'");
    auto too_big = [&](const std::string& got) {
        fail<input_error>("'", path.string(), "' is too large; expected at most ", max_bytes, " bytes, got ", got);
    };
    std::error_code ec;
    if (std::filesystem::is_regular_file(path, ec)) {
        const std::uintmax_t size = std::filesystem::file_size(path, ec);
        if (!ec && size > max_bytes) too_big(std::to_string(size));
    }
    std::string text;
    char buffer[1 << 16];
    while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
        const auto n = static_cast<std::size_t>(in.gcount());
        if (n > max_bytes - text.size()) too_big("more");
        text.append(buffer, n);
    }
    if (in.bad()) fail<io_error>("cannot read '", path.string(), "'");
    return text;
}

namespace detail {
// nlohmann's DOM parser, stopped with a format_error at the first container opened
// deeper than max_json_depth (the callback sees the depth before the container),
// or at the key past `max_object_keys` in one object.
template <class Json>
Json parse_json_limited(std::string_view text, const std::string& where, std::size_t max_object_keys) {
    std::vector<std::size_t> keys(max_json_depth + 2, 0);  // keys so far in the open object at each depth
    const typename Json::parser_callback_t limit = [&](int at, typename Json::parse_event_t event, Json&) {
        const auto depth = static_cast<std::size_t>(at);
        const bool opens = event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start;
        if (opens && depth >= max_json_depth)
            fail<format_error>(where, ": JSON nested deeper than ", max_json_depth, " levels; expected at most ",
                               max_json_depth);
        if (event == Json::parse_event_t::object_start) keys[depth + 1] = 0;
        if (event == Json::parse_event_t::key && ++keys[depth] > max_object_keys)
            fail<format_error>(where, ": a JSON object with more than ", max_object_keys, " keys; expected at most ",
                               max_object_keys);
        return true;
    };
    try {
        return Json::parse(text.begin(), text.end(), limit);
    } catch (const typename Json::exception& e) {  // parse_error, and out_of_range for a number like 1e999
        fail<format_error>(where, ": not valid JSON (", e.what(), ")");
    }
}
}  // namespace detail

// Parses JSON text; `where` names its origin in the error (format_error for invalid
// or too deeply nested JSON).
inline json parse_json(std::string_view text, const std::string& where) {
    return detail::parse_json_limited<json>(text, where, static_cast<std::size_t>(-1));
}

// An ordered_json object finds each key by a linear search, so parsing one grows
// with the square of its keys (32 768 keys take about a second); more are refused.
inline constexpr std::size_t max_ordered_json_keys = 32768;

// As parse_json, keeping the objects' key order (at most max_ordered_json_keys per object).
inline ordered_json parse_ordered_json(std::string_view text, const std::string& where) {
    return detail::parse_json_limited<ordered_json>(text, where, max_ordered_json_keys);
}

inline json read_json_file(const std::filesystem::path& path) {
    return parse_json(read_text_file(path), path.string());
}

namespace detail {
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};

// nlohmann converts between kinds of numbers and from booleans without a word (-4 to
// a huge size_t, 2.5 to 2, true to 1); a config value must already be of its field's kind.
template <class T>
bool json_fits(const json& v) {
    if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
    else if constexpr (std::is_integral_v<T>)
        return v.is_number_integer() && (std::is_signed_v<T> || v.is_number_unsigned() || v.get<std::int64_t>() >= 0);
    else if constexpr (std::is_floating_point_v<T>) return v.is_number();
    else if constexpr (is_vector<T>::value) return v.is_array() && std::all_of(v.begin(), v.end(), json_fits<typename T::value_type>);
    else return true;
}

template <class T>
T json_get(const json& value, const std::string& key, const std::string& where) {
    if (json_fits<T>(value)) {
        try {
            return value.get<T>();
        } catch (const json::exception&) {
        }
    }
    fail<config_error>(where, ": key \"", key, "\" has the wrong type (got ", value.type_name(), ": ", value.dump(), ")");
}
}  // namespace detail

// Value of `key` converted to T; config_error naming `where` and the key when it is
// absent or of another type.
template <class T>
T json_required(const json& object, const std::string& key, const std::string& where) {
    if (!object.is_object()) fail<config_error>(where, ": expected a JSON object, got ", object.type_name());
    auto it = object.find(key);
    if (it == object.end()) fail<config_error>(where, ": missing key \"", key, "\"");
    return detail::json_get<T>(*it, key, where);
}

// Like json_required, but a missing key or a JSON null keeps `value` (HF's default).
template <class T>
void json_optional(const json& object, const std::string& key, T& value, const std::string& where) {
    if (!object.is_object()) fail<config_error>(where, ": expected a JSON object, got ", object.type_name());
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return;
    value = detail::json_get<T>(*it, key, where);
}

}  // namespace mmt::io
