// Reading JSON files (configs, vocabularies, preprocessor settings) with
// errors that name the file and the key.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "mmt/core/error.hpp"

namespace mmt::io {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;  // keeps insertion order, for output people read

// Whole file as bytes; io_error naming the path when it cannot be read.
inline std::string read_text_file(const std::filesystem::path& path) {
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

// Value of `key` converted to T; config_error naming `where` and the key when it is
// absent or of another type.
template <class T>
T json_required(const json& object, const std::string& key, const std::string& where) {
    if (!object.is_object()) fail<config_error>(where, ": expected a JSON object, got ", object.type_name());
    auto it = object.find(key);
    if (it == object.end()) fail<config_error>(where, ": missing key \"", key, "\"");
    try {
        return it->get<T>();
    } catch (const json::exception&) {
        fail<config_error>(where, ": key \"", key, "\" has the wrong type (got ", it->type_name(), ": ",
                           it->dump(), ")");
    }
}

// Like json_required, but a missing key or a JSON null keeps `value` (HF's default).
template <class T>
void json_optional(const json& object, const std::string& key, T& value, const std::string& where) {
    if (!object.is_object()) fail<config_error>(where, ": expected a JSON object, got ", object.type_name());
    auto it = object.find(key);
    if (it == object.end() || it->is_null()) return;
    try {
        value = it->get<T>();
    } catch (const json::exception&) {
        fail<config_error>(where, ": key \"", key, "\" has the wrong type (got ", it->type_name(), ": ",
                           it->dump(), ")");
    }
}

}  // namespace mmt::io
