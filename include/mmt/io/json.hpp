// Reading JSON files (configs, vocabularies, preprocessor settings) with
// errors that name the file and the key.
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "mmt/core/error.hpp"

namespace mmt::io {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;  // keeps insertion order, for output people read

// Whole file as bytes; io_error naming the path when it cannot be read.
inline std::string read_text_file(const std::filesystem::path& path) {
    // A directory opens as a stream that reads as empty, so it is caught here.
    if (std::filesystem::is_directory(path)) fail<io_error>("cannot read '", path.string(), "': it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail<io_error>("cannot open '", path.string(), "'");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) fail<io_error>("cannot read '", path.string(), "'");
    return buffer.str();
}

// Parses JSON text; `where` names its origin in the error.
inline json parse_json(const std::string& text, const std::string& where) {
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        fail<format_error>(where, ": not valid JSON (", e.what(), ")");
    }
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
