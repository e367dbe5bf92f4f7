// float16 / bfloat16 conversions and dtype names. The references are independent
// of the code under test: half and bfloat16 values decoded with ldexp in double,
// and rounding found by searching the sorted table of every representable value.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "mmt/core/dtype.hpp"

using namespace mmt;

namespace {

float from_bits(std::uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// A 16-bit float with `mantissa_bits` fraction bits and bias `bias`, decoded in double. An
// all-ones exponent is decoded as the next power of two (not inf), which is where
// round-to-nearest puts the overflow threshold.
double decode_half(std::uint16_t bits, int mantissa_bits, int bias) {
    const int exponent = (bits & 0x7fff) >> mantissa_bits;
    const double fraction = double(bits & ((1u << mantissa_bits) - 1)) / double(1u << mantissa_bits);
    const double magnitude = exponent == 0 ? std::ldexp(fraction, 1 - bias) : std::ldexp(1.0 + fraction, exponent - bias);
    return (bits & 0x8000) ? -magnitude : magnitude;
}

// Round-to-nearest-even of a finite float into a 16-bit format, by table search.
class rounding_reference {
public:
    rounding_reference(int mantissa_bits, int bias) {
        const std::uint16_t inf = std::uint16_t(((1u << (15 - mantissa_bits)) - 1) << mantissa_bits);
        for (std::uint32_t b = 0; b <= inf; ++b) positive_.push_back(decode_half(std::uint16_t(b), mantissa_bits, bias));
    }

    std::uint16_t round(float f) const {
        const double x = std::fabs(double(f));
        const std::uint16_t sign = std::signbit(f) ? 0x8000 : 0;
        auto above = std::lower_bound(positive_.begin(), positive_.end(), x);
        if (above == positive_.end()) return std::uint16_t(sign | (positive_.size() - 1));  // past the overflow threshold
        const auto hi = std::uint16_t(above - positive_.begin());
        if (*above == x || hi == 0) return std::uint16_t(sign | hi);
        const std::uint16_t lo = hi - 1;
        const double below = x - positive_[lo], over = positive_[hi] - x;
        if (below < over || (below == over && (lo & 1) == 0)) return std::uint16_t(sign | lo);
        return std::uint16_t(sign | hi);
    }

    // Floats exactly halfway between neighbouring 16-bit values, and their float neighbours.
    std::vector<float> ties_and_neighbours() const {
        std::vector<float> out;
        for (std::size_t b = 0; b + 1 < positive_.size(); ++b) {
            const float mid = float((positive_[b] + positive_[b + 1]) / 2);  // exact: one more bit than the format
            for (float f : {mid, std::nextafter(mid, 0.0f), std::nextafter(mid, std::numeric_limits<float>::infinity())}) {
                out.push_back(f);
                out.push_back(-f);
            }
        }
        return out;
    }

private:
    std::vector<double> positive_;  // every non-negative value, by bit pattern, ending at the all-ones exponent
};

bool is_half_nan(std::uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }
bool is_bf16_nan(std::uint16_t b) { return (b & 0x7f80) == 0x7f80 && (b & 0x7f) != 0; }

// A spread of float bit patterns over the whole range: every 4099th one.
std::vector<float> float_sample() {
    std::vector<float> out;
    for (std::uint64_t bits = 0; bits <= 0xffffffffu; bits += 4099) {
        const float f = from_bits(std::uint32_t(bits));
        if (std::isfinite(f)) out.push_back(f);
    }
    return out;
}

}  // namespace

TEST_CASE("core.dtype: half_to_float is exact for all 65536 half values" * doctest::test_suite("unit")) {
    int wrong = 0, first_wrong = -1;
    for (std::uint32_t h = 0; h < 0x10000; ++h) {
        const float f = half_to_float(std::uint16_t(h));
        bool ok;
        if (is_half_nan(std::uint16_t(h))) ok = std::isnan(f) && std::signbit(f) == bool(h & 0x8000);
        else if ((h & 0x7fff) == 0x7c00) ok = std::isinf(f) && std::signbit(f) == bool(h & 0x8000);
        else ok = double(f) == decode_half(std::uint16_t(h), 10, 15) && std::signbit(f) == bool(h & 0x8000);
        if (!ok && wrong++ == 0) first_wrong = int(h);
    }
    CHECK_MESSAGE(wrong == 0, wrong << " wrong, the first at bit pattern " << first_wrong);
}

TEST_CASE("core.dtype: float_to_half inverts half_to_float for every half value; NaN stays NaN" * doctest::test_suite("unit")) {
    int wrong = 0, first_wrong = -1;
    for (std::uint32_t h = 0; h < 0x10000; ++h) {
        const std::uint16_t back = float_to_half(half_to_float(std::uint16_t(h)));
        const bool ok = is_half_nan(std::uint16_t(h)) ? is_half_nan(back) && (back & 0x8000) == (h & 0x8000) : back == h;
        if (!ok && wrong++ == 0) first_wrong = int(h);
    }
    CHECK_MESSAGE(wrong == 0, wrong << " wrong, the first at bit pattern " << first_wrong);
}

TEST_CASE("core.dtype: float_to_half rounds to nearest even" * doctest::test_suite("unit")) {
    const rounding_reference reference(10, 15);
    std::vector<float> cases = reference.ties_and_neighbours();
    const std::vector<float> sample = float_sample();
    cases.insert(cases.end(), sample.begin(), sample.end());
    int wrong = 0;
    float first_wrong = 0;
    for (float f : cases)
        if (float_to_half(f) != reference.round(f) && wrong++ == 0) first_wrong = f;
    CHECK_MESSAGE(wrong == 0, wrong << " of " << cases.size() << " wrong, the first for " << first_wrong);
}

TEST_CASE("core.dtype: half subnormals, ties, overflow, inf and NaN by hand" * doctest::test_suite("unit")) {
    CHECK(float_to_half(std::ldexp(1.0f, -24)) == 0x0001);          // smallest subnormal
    CHECK(float_to_half(std::ldexp(1.0f, -25)) == 0x0000);          // halfway to it: ties to even zero
    CHECK(float_to_half(std::ldexp(3.0f, -26)) == 0x0001);          // 0.75 of it rounds up
    CHECK(float_to_half(std::ldexp(3.0f, -25)) == 0x0002);          // 1.5: tie to even 2
    CHECK(float_to_half(std::ldexp(1023.5f, -24)) == 0x0400);       // largest subnormal + half: into the normals
    CHECK(float_to_half(-std::ldexp(1.0f, -14)) == 0x8400);         // smallest normal, negative
    CHECK(half_to_float(0x03ff) == std::ldexp(1023.0f, -24));
    CHECK(float_to_half(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);   // tie, even below
    CHECK(float_to_half(1.0f + std::ldexp(3.0f, -11)) == 0x3c02);   // tie, even above
    CHECK(float_to_half(65504.0f) == 0x7bff);
    CHECK(float_to_half(65519.996f) == 0x7bff);
    CHECK(float_to_half(65520.0f) == 0x7c00);                        // tie with 65536: overflows to inf
    CHECK(float_to_half(-1e10f) == 0xfc00);
    CHECK(float_to_half(std::numeric_limits<float>::infinity()) == 0x7c00);
    CHECK(float_to_half(-std::numeric_limits<float>::infinity()) == 0xfc00);
    CHECK(float_to_half(-0.0f) == 0x8000);
    CHECK(is_half_nan(float_to_half(std::numeric_limits<float>::quiet_NaN())));
    CHECK(is_half_nan(float_to_half(from_bits(0x7f800001u))));  // a NaN whose payload would truncate to inf
    CHECK(std::isinf(half_to_float(0xfc00)));
}

TEST_CASE("core.dtype: bf16 both ways, round to nearest even, NaN stays NaN" * doctest::test_suite("unit")) {
    int wrong = 0, first_wrong = -1;
    for (std::uint32_t b = 0; b < 0x10000; ++b) {
        const float f = bf16_to_float(std::uint16_t(b));
        bool ok;
        if (is_bf16_nan(std::uint16_t(b))) ok = std::isnan(f) && is_bf16_nan(float_to_bf16(f));
        else if ((b & 0x7fff) == 0x7f80) ok = std::isinf(f) && float_to_bf16(f) == b;
        else ok = double(f) == decode_half(std::uint16_t(b), 7, 127) && float_to_bf16(f) == b;
        if (!ok && wrong++ == 0) first_wrong = int(b);
    }
    CHECK_MESSAGE(wrong == 0, wrong << " wrong, the first at bit pattern " << first_wrong);

    const rounding_reference reference(7, 127);
    std::vector<float> cases = reference.ties_and_neighbours();
    const std::vector<float> sample = float_sample();
    cases.insert(cases.end(), sample.begin(), sample.end());
    int wrong_rounding = 0;
    float first = 0;
    for (float f : cases)
        if (float_to_bf16(f) != reference.round(f) && wrong_rounding++ == 0) first = f;
    CHECK_MESSAGE(wrong_rounding == 0, wrong_rounding << " of " << cases.size() << " wrong, the first for " << first);

    CHECK(float_to_bf16(from_bits(0x3f808000u)) == 0x3f80);  // tie, even below
    CHECK(float_to_bf16(from_bits(0x3f818000u)) == 0x3f82);  // tie, even above
    CHECK(float_to_bf16(from_bits(0x3f808001u)) == 0x3f81);  // just past the tie
    CHECK(float_to_bf16(from_bits(0xbf818000u)) == 0xbf82);
    CHECK(float_to_bf16(std::numeric_limits<float>::max()) == 0x7f80);  // rounds up to inf, as torch
    CHECK(is_bf16_nan(float_to_bf16(from_bits(0x7f800001u))));           // would truncate to inf
    CHECK(is_bf16_nan(float_to_bf16(from_bits(0xff800001u))));
    CHECK(bf16_to_float(0x3f80) == 1.0f);
    CHECK(bf16_to_float(0x0001) == std::ldexp(1.0f, -133));  // a subnormal
}

TEST_CASE("core.dtype: every safetensors name parses back, with its size" * doctest::test_suite("unit")) {
    const std::vector<std::pair<std::string, std::size_t>> names{{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
                                                                  {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},   {"BOOL", 1}};
    for (const auto& entry : names) {
        const std::string& name = entry.first;  // not a structured binding: C++17 lambdas (CAPTURE) cannot capture those
        const std::size_t size = entry.second;
        CAPTURE(name);
        const auto parsed = parse_dtype(name);
        REQUIRE(parsed.has_value());
        CHECK(std::string(dtype_name(*parsed)) == name);
        CHECK(dtype_size(*parsed) == size);
    }
    CHECK_FALSE(parse_dtype("F8_E4M3").has_value());
    CHECK_FALSE(parse_dtype("f32").has_value());  // names are case-sensitive
    CHECK_FALSE(parse_dtype("").has_value());
    CHECK_FALSE(parse_dtype("U16").has_value());
}
