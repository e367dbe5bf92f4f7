// Typed exceptions. Every message says what went wrong, where, what was
// expected and what was found; a library never prints or exits.
#pragma once

#include <cstddef>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace mmt {

// Base of every exception mmt throws.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// A file could not be opened, mapped or read.
class io_error : public error {
public:
    using error::error;
};

// A file was read but its bytes do not follow the format (safetensors, JSON, PNG, WAV...).
class format_error : public error {
public:
    using error::error;
};

// config.json / tokenizer / preprocessor settings are missing, of the wrong type or inconsistent.
class config_error : public error {
public:
    using error::error;
};

// A checkpoint tensor is missing, unused, or of the wrong dtype.
class weight_error : public error {
public:
    using error::error;
};

// A tensor does not have the shape an operation needs.
class shape_error : public error {
public:
    using error::error;
};

// User input (text, ids, images, audio, boxes) is out of range or malformed.
class input_error : public error {
public:
    using error::error;
};

// A model's output holds NaN or infinity: weights that hold them (a damaged
// checkpoint, a training run that diverged) or activations past float32's range.
// The library computes what the weights give, as HF does; core/finite.hpp's checks
// say so where a caller wants to know.
class numeric_error : public error {
public:
    using error::error;
};

namespace detail {
template <class... Parts>
std::string concat(Parts&&... parts) {
    std::ostringstream out;
    (out << ... << std::forward<Parts>(parts));
    return out.str();
}
}  // namespace detail

// "a", "a or b", "a, b or c": how the errors list what they expected.
template <class Strings>
std::string or_list(const Strings& items) {
    std::string out;
    std::size_t i = 0;
    const std::size_t n = std::size(items);
    for (const auto& item : items) {
        out += (i == 0 ? "" : i + 1 == n ? " or " : ", ") + std::string(item);
        ++i;
    }
    return out;
}

// Throws Error with the parts streamed together: fail<shape_error>("linear: x has ", n, " columns").
template <class Error, class... Parts>
[[noreturn]] void fail(Parts&&... parts) {
    throw Error(detail::concat(std::forward<Parts>(parts)...));
}

}  // namespace mmt
