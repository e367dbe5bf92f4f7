// Reading JSON files (configs, vocabularies, preprocessor settings) with
// errors that name the file and the key.
#pragma once

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "mmt/core/error.hpp"
#include "mmt/io/open_error.hpp"
#include "mmt/io/stand_in_file.hpp"

namespace mmt::io {

using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;  // keeps insertion order, for output people read

// Limits checked before anything is allocated: text files (configs, vocabularies)
// larger than this are refused from their size, and JSON nested deeper than this is
// refused while parsing. Python's json module stops at about the same depth (its
// recursion limit), so no file HF can read is refused.
inline constexpr std::size_t max_text_file_bytes = 100u << 20;
inline constexpr std::size_t max_json_depth = 1000;

// Whole file as bytes; io_error naming the path when it cannot be read, input_error
// when it holds more than `max_bytes` (checked from a regular file's size before
// reading, and while reading for pipes and devices).
inline std::string read_text_file(const std::filesystem::path& path, std::size_t max_bytes = max_text_file_bytes) {
    // A directory opens as a stream that reads as empty, so it is caught here.
    if (std::filesystem::is_directory(path)) fail<io_error>("cannot read '", path.string(), "': it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) fail_to_open(path, errno);
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

// What one parse accepts, checked as each value is read, so a document past a limit
// is refused before the rest of it is built: nesting (nlohmann's dump() and copies
// recurse, so an unbounded depth could overflow the stack), keys per object and
// elements per array. `setting` names where a caller's limit is changed, for the message.
// With `unique_keys`, a key repeated in one object is refused (JSON lets the last one win).
struct json_limits {
    std::size_t max_depth = max_json_depth;
    std::size_t max_object_keys = static_cast<std::size_t>(-1);
    std::size_t max_array_elements = static_cast<std::size_t>(-1);
    std::string setting;
    bool unique_keys = false;
};

namespace detail {
// A SAX handler building the document (as nlohmann's DOM parser does) while it counts
// against json_limits. nlohmann's callback parser, which this replaces, rescans the
// parent container each time an object closes: a 100 000-entry safetensors header
// took a minute. Here each value costs a constant (amortised) time.
template <class Json>
class limited_json_builder {
public:
    limited_json_builder(const std::string& where, const json_limits& limits) : where_(where), limits_(limits) {}

    Json take() { return std::move(root_); }

    bool null() { return place(Json(nullptr)); }
    bool boolean(bool v) { return place(Json(v)); }
    bool number_integer(typename Json::number_integer_t v) { return place(Json(v)); }
    bool number_unsigned(typename Json::number_unsigned_t v) { return place(Json(v)); }
    bool number_float(typename Json::number_float_t v, const typename Json::string_t&) { return place(Json(v)); }
    bool string(typename Json::string_t& v) { return place(Json(std::move(v))); }
    bool binary(typename Json::binary_t& v) { return place(Json(std::move(v))); }
    bool start_object(std::size_t) { return open(Json::value_t::object); }
    bool start_array(std::size_t) { return open(Json::value_t::array); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(typename Json::string_t& k) {
        count("keys in one object", limits_.max_object_keys);
        container& object = open_.back();
        auto& members = object.value->template get_ref<typename Json::object_t&>();
        bool repeated = false;
        if constexpr (ordered) {  // its own lookup is a linear search: the keys read so far are indexed here
            typename Json::object_t::Container& entries = members;
            const auto [at, fresh] = object.key_index.try_emplace(k, entries.size());
            if (fresh) entries.emplace_back(k, Json());
            repeated = !fresh;
            slot_ = &entries[at->second].second;
        } else {
            const auto [at, fresh] = members.try_emplace(k);
            repeated = !fresh;
            slot_ = &at->second;
        }
        if (repeated && limits_.unique_keys)
            fail<format_error>(where_, ": key \"", k, "\" appears twice in one object; expected each key once");
        return true;  // a repeated key: the last value wins, as in nlohmann's and Python's parsers
    }
    template <class Exception>  // parse_error, and out_of_range for a number like 1e999
    bool parse_error(std::size_t, const std::string&, const Exception& e) {
        fail<format_error>(where_, ": not valid JSON (", e.what(), ")");
    }

private:
    // ordered_json's objects keep their keys in order, in a vector.
    static constexpr bool ordered = std::is_same_v<typename Json::object_t, ordered_json::object_t>;

    struct container {
        Json* value;
        std::size_t entries;
        std::unordered_map<std::string, std::size_t> key_index;  // an ordered object's: key -> its place
    };

    Json* add(Json v) {
        if (open_.empty()) return &(root_ = std::move(v));
        Json& parent = *open_.back().value;
        if (parent.is_object()) return &(*slot_ = std::move(v));
        count("elements in one array", limits_.max_array_elements);
        parent.push_back(std::move(v));
        return &parent.back();
    }
    bool place(Json v) {
        add(std::move(v));
        return true;
    }
    bool open(typename Json::value_t kind) {
        if (open_.size() >= limits_.max_depth)
            fail<format_error>(where_, ": JSON nested deeper than ", limits_.max_depth, " levels; expected at most ", limits_.max_depth);
        open_.push_back({add(Json(kind)), 0, {}});
        return true;
    }
    bool close() {
        open_.pop_back();
        return true;
    }
    void count(const char* what, std::size_t limit) {
        if (++open_.back().entries > limit)
            fail<format_error>(where_, ": more than ", limit, " ", what, "; expected at most ", limit,
                               limits_.setting.empty() ? "" : " (", limits_.setting, limits_.setting.empty() ? "" : ")");
    }

    const std::string& where_;
    const json_limits& limits_;
    Json root_;
    std::vector<container> open_;  // the containers being read, outermost first
    Json* slot_ = nullptr;         // the value of the key just read
};

template <class Json>
Json parse_json_limited(std::string_view text, const std::string& where, const json_limits& limits) {
    check_not_stand_in(text.substr(0, 64), where, "JSON");
    limited_json_builder<Json> builder(where, limits);
    Json::sax_parse(text.begin(), text.end(), &builder);
    return builder.take();
}
}  // namespace detail

// Parses JSON text; `where` names its origin in the error (format_error for invalid
// JSON or JSON past `limits`, checked while parsing).
inline json parse_json(std::string_view text, const std::string& where, const json_limits& limits = {}) {
    return detail::parse_json_limited<json>(text, where, limits);
}

// An ordered_json object finds each key by a linear search: parsing one is linear
// (the parser indexes its keys), but every later lookup costs as many compares as it
// has keys; more are refused.
inline constexpr std::size_t max_ordered_json_keys = 32768;

// As parse_json, keeping the objects' key order (at most max_ordered_json_keys per object).
inline ordered_json parse_ordered_json(std::string_view text, const std::string& where) {
    json_limits limits;
    limits.max_object_keys = max_ordered_json_keys;
    return detail::parse_json_limited<ordered_json>(text, where, limits);
}

inline json read_json_file(const std::filesystem::path& path, const json_limits& limits = {}) {
    return parse_json(read_text_file(path), path.string(), limits);
}

namespace detail {
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class T, class C, class A>
struct is_string_map<std::map<std::string, T, C, A>> : std::true_type {};

// Whether `v` is an integer in [min, max], compared without converting it to T
// first (nlohmann's get<T> wraps -1 to SIZE_MAX and truncates 2^40 to an int).
template <class T>
bool integer_in(const json& v, T min, T max) {
    static_assert(std::is_integral_v<T> && !std::is_same_v<T, bool>);
    if (!v.is_number_integer()) return false;
    if (v.is_number_unsigned() || v.get<std::int64_t>() >= 0) {
        const auto u = v.get<std::uint64_t>();
        if constexpr (std::is_signed_v<T>) {
            if (max < 0) return false;
            return u <= static_cast<std::uint64_t>(max) && (min <= 0 || u >= static_cast<std::uint64_t>(min));
        } else {
            return u >= min && u <= max;
        }
    }
    if constexpr (std::is_signed_v<T>) {
        const auto i = v.get<std::int64_t>();
        return i >= min && i <= max;
    }
    return false;
}

// nlohmann converts between kinds of numbers and from booleans without a word (-4 to
// a huge size_t, 2.5 to 2, true to 1, 1e300 to an undefined float); a config value
// must already be of its field's kind and within its type's range.
template <class T>
bool json_fits(const json& v) {
    if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
    else if constexpr (std::is_integral_v<T>) return integer_in(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
    else if constexpr (std::is_floating_point_v<T>)
        return v.is_number() && std::fabs(v.get<double>()) <= static_cast<double>(std::numeric_limits<T>::max());
    else if constexpr (is_vector<T>::value) return v.is_array() && std::all_of(v.begin(), v.end(), json_fits<typename T::value_type>);
    else if constexpr (is_string_map<T>::value) return v.is_object() && std::all_of(v.begin(), v.end(), json_fits<typename T::mapped_type>);
    else return true;
}

// What json_fits<T> accepts, for messages.
template <class T>
std::string json_expected() {
    if constexpr (std::is_same_v<T, bool>) return "true or false";
    else if constexpr (std::is_integral_v<T>)
        return "an integer in " + std::to_string(std::numeric_limits<T>::min()) + ".." + std::to_string(std::numeric_limits<T>::max());
    else if constexpr (std::is_same_v<T, float>) return "a number within float's range (magnitude at most 3.4e38)";
    else if constexpr (std::is_floating_point_v<T>) return "a number";
    else if constexpr (std::is_same_v<T, std::string>) return "a string";
    else if constexpr (is_vector<T>::value) return "an array of: " + json_expected<typename T::value_type>();
    else if constexpr (is_string_map<T>::value) return "an object of: " + json_expected<typename T::mapped_type>();
    else return "another type";
}

// A float key named like an epsilon (every family's layer_norm_eps) is added to a
// variance under a square root: 0 divides by zero on a constant row, a negative one
// takes the root of a negative number, and either gives NaN outputs that print as
// scores with exit 0. One rule here, where every family reads its keys, so no
// family's reader can forget it.
inline bool names_an_epsilon(const std::string& key) {
    return key.size() >= 3 && key.compare(key.size() - 3, 3, "eps") == 0;
}

template <class T>
T json_get(const json& value, const std::string& key, const std::string& where) {
    if (json_fits<T>(value)) {
        try {
            const T v = value.get<T>();
            if constexpr (std::is_floating_point_v<T>) {
                if (names_an_epsilon(key) && !(v > 0 && std::isfinite(v)))
                    fail<config_error>(where, ": key \"", key, "\" should be a finite number > 0 (an epsilon added to a variance), got ",
                                       value.dump());
            }
            return v;
        } catch (const json::exception&) {
        }
    }
    fail<config_error>(where, ": key \"", key, "\" has the wrong type (got ", value.type_name(), ": ", value.dump(), "); expected ",
                       json_expected<T>());
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

// `value` (the value of `key`) as an integer in [min, max]: Error naming `where`, the
// key, the range and the value otherwise, before any conversion (a count of -1, 2^40
// or 1e300 never reaches an allocation or an undefined cast).
template <class T, class Error = config_error>
T json_integer(const json& value, const std::string& key, T min, T max, const std::string& where) {
    if (!detail::integer_in(value, min, max))
        fail<Error>(where, ": key \"", key, "\" should be an integer in ", +min, "..", +max, ", got ", value.dump());
    return value.get<T>();
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
