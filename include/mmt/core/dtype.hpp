// Element types found in safetensors files and their conversions to float32.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

namespace mmt {

enum class dtype { f64, f32, f16, bf16, i64, i32, i16, i8, u8, boolean };

// The safetensors spelling ("F32", "BF16", ...).
inline const char* dtype_name(dtype t) {
    switch (t) {
        case dtype::f64: return "F64";
        case dtype::f32: return "F32";
        case dtype::f16: return "F16";
        case dtype::bf16: return "BF16";
        case dtype::i64: return "I64";
        case dtype::i32: return "I32";
        case dtype::i16: return "I16";
        case dtype::i8: return "I8";
        case dtype::u8: return "U8";
        case dtype::boolean: return "BOOL";
    }
    return "?";
}

inline std::optional<dtype> parse_dtype(const std::string& name) {
    for (dtype t : {dtype::f64, dtype::f32, dtype::f16, dtype::bf16, dtype::i64, dtype::i32, dtype::i16, dtype::i8,
                    dtype::u8, dtype::boolean})
        if (name == dtype_name(t)) return t;
    return std::nullopt;
}

inline std::size_t dtype_size(dtype t) {
    switch (t) {
        case dtype::f64:
        case dtype::i64: return 8;
        case dtype::f32:
        case dtype::i32: return 4;
        case dtype::f16:
        case dtype::bf16:
        case dtype::i16: return 2;
        case dtype::i8:
        case dtype::u8:
        case dtype::boolean: return 1;
    }
    return 0;
}

// IEEE binary16 to binary32, exact for every input (subnormals, inf, NaN).
inline float half_to_float(std::uint16_t h) {
    std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    std::uint32_t exponent = (h >> 10) & 0x1fu;
    std::uint32_t mantissa = h & 0x3ffu;
    std::uint32_t bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {  // subnormal half: normalise into a float32 exponent
        int shift = 0;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            ++shift;
        }
        mantissa &= 0x3ffu;
        bits = sign | (std::uint32_t(113 - shift) << 23) | (mantissa << 13);
    }
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// binary32 to binary16 with round-to-nearest-even (what torch's .half() does).
inline std::uint16_t float_to_half(float f) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    std::uint32_t sign = (bits >> 16) & 0x8000u;
    std::uint32_t abs = bits & 0x7fffffffu;
    if (abs >= 0x7f800000u) return std::uint16_t(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0));
    if (abs >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);  // rounds to infinity
    if (abs < 0x38800000u) {                                         // half subnormal or zero
        if (abs < 0x33000000u) return std::uint16_t(sign);
        std::uint32_t exponent = abs >> 23;
        std::uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
        std::uint32_t shift = 126 - exponent;
        std::uint32_t half = mantissa >> shift;
        std::uint32_t rest = mantissa & ((1u << shift) - 1);
        std::uint32_t halfway = 1u << (shift - 1);
        if (rest > halfway || (rest == halfway && (half & 1u))) ++half;
        return std::uint16_t(sign | half);
    }
    std::uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
    return std::uint16_t(sign | ((rounded - 0x38000000u) >> 13));
}

inline float bf16_to_float(std::uint16_t b) {
    std::uint32_t bits = std::uint32_t(b) << 16;
    float f;
    std::memcpy(&f, &bits, sizeof f);
    return f;
}

// Round-to-nearest-even, NaN kept quiet (torch's .bfloat16()).
inline std::uint16_t float_to_bf16(float f) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((bits >> 16) | 0x40u);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return std::uint16_t(bits >> 16);
}

}  // namespace mmt
