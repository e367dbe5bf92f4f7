// Checks of the tool's numeric options whose messages state the real bounds.
// CLI11's PositiveNumber and NonNegativeNumber are ranges of doubles up to DBL_MAX,
// which their message prints with std::to_string: `--threads 0` said "Value 0 not
// in range 0.000000 to 1797693134862315708145274237317043567980705675469...",
// 309 digits. They also let `nan` through (no comparison holds), and CLI11's own
// conversion reads "-1" into a size_t as 2^64 - 1 (strtoull), so the checks here
// parse the text themselves.
#pragma once

#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <type_traits>

#include <CLI/CLI.hpp>

namespace mmt::cli {

namespace detail {
// The text as a finite number, or false: the whole of it, and for integers only
// an optional sign and decimal digits (no 1e3, no 0x10, no 2.5).
inline bool option_number(const std::string& text, bool integer, long double& value) {
    if (text.empty()) return false;
    if (integer) {
        const std::size_t first = text[0] == '-' || text[0] == '+' ? 1 : 0;
        if (first == text.size() || text.find_first_not_of("0123456789", first) != std::string::npos) return false;
    }
    char* end = nullptr;
    value = std::strtold(text.c_str(), &end);
    return end == text.c_str() + text.size() && std::isfinite(value);
}

template <class T>
std::string option_bound(T bound) {
    if constexpr (std::is_integral_v<T>) return std::to_string(bound);
    else {
        std::string text = std::to_string(bound);  // "0.500000": drop the trailing zeros
        text.erase(text.find_last_not_of('0') + 1);
        if (text.back() == '.') text.pop_back();
        return text;
    }
}
}  // namespace detail

// A number in [min, max] (an integer when T is one); when max is T's largest value
// the message gives the lower bound only: "expected an integer >= 1, got 0".
template <class T>
CLI::Validator in_range(T min, T max = std::numeric_limits<T>::max()) {
    static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>);
    constexpr bool integer = std::is_integral_v<T>;
    const std::string expected = std::string(integer ? "an integer " : "a number ") +
                                 (max == std::numeric_limits<T>::max() ? ">= " + detail::option_bound(min)
                                                                       : "in " + detail::option_bound(min) + ".." + detail::option_bound(max));
    return CLI::Validator(
        [=](std::string& text) -> std::string {
            long double value = 0;
            if (detail::option_number(text, integer, value) && value >= static_cast<long double>(min) &&
                value <= static_cast<long double>(max))
                return {};
            return "expected " + expected + ", got \"" + text + "\"";
        },
        expected);
}

// A finite number above 0 (a length of time, a count of characters): "expected a
// number > 0, got "0"".
template <class T>
CLI::Validator positive() {
    static_assert(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>);
    if constexpr (std::is_integral_v<T>) {
        return in_range<T>(1);
    } else {
        return CLI::Validator(
            [](std::string& text) -> std::string {
                long double value = 0;
                if (detail::option_number(text, false, value) && value > 0 && value <= std::numeric_limits<T>::max()) return {};
                return "expected a number > 0, got \"" + text + "\"";
            },
            "a number > 0");
    }
}

}  // namespace mmt::cli
