// The AMX tiles emulated, so that ops/amx_tiles.hpp's kernel runs on a CPU without
// them: the unit interface of amx::hardware, each instruction as the pseudo-code of
// Intel's SDM (vol. 2: LDTILECFG, TILELOADD, TILESTORED, TILEZERO, TILERELEASE,
// TDPBUSD, TDPBF16PS) describes it, and each rule the CPU enforces with #GP or #UD
// checked, throwing std::logic_error that names the rule. The tiles are per
// thread, as a CPU's are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include "mmt/core/dtype.hpp"
#include "mmt/ops/amx_tiles.hpp"

namespace mmt::test {

class emulated_amx {
public:
    static void configure(const ops::amx::tile_config& config) {
        if (config.palette != 1) fail("ldtilecfg: palette " + std::to_string(config.palette) + ", expected 1");
        if (config.start_row != 0) fail("ldtilecfg: start_row must be 0");
        for (std::uint8_t byte : config.reserved)
            if (byte) fail("ldtilecfg: reserved bytes must be 0");
        for (std::size_t t = 0; t < 16; ++t) {
            const bool exists = t < tiles;
            if (!exists && (config.rows[t] || config.colsb[t])) fail("ldtilecfg: tile " + std::to_string(t) + " does not exist in palette 1");
            if (config.rows[t] > ops::amx::max_rows || config.colsb[t] > ops::amx::row_bytes)
                fail("ldtilecfg: tile " + std::to_string(t) + " is " + std::to_string(config.rows[t]) + " x " + std::to_string(config.colsb[t]) +
                     " bytes, beyond 16 x 64");
            if ((config.rows[t] == 0) != (config.colsb[t] == 0)) fail("ldtilecfg: tile " + std::to_string(t) + " has rows or bytes but not both");
        }
        state& s = current();
        s.config = config;
        s.configured = true;
        std::memset(s.data, 0, sizeof s.data);
    }

    // The tiles' init state: unconfigured and zero.
    static void release() {
        state& s = current();
        s.configured = false;
        s.config = {};
        std::memset(s.data, 0, sizeof s.data);
    }

    template <int T>
    static void zero() {
        std::memset(tile(T, "tilezero"), 0, tile_bytes);
    }

    template <int T>
    static void load(const void* base, std::size_t stride) {
        unsigned char* t = tile(T, "tileloadd");
        const auto [rows, colsb] = shape(T);
        std::memset(t, 0, tile_bytes);
        for (std::size_t r = 0; r < rows; ++r) std::memcpy(t + r * ops::amx::row_bytes, static_cast<const char*>(base) + r * stride, colsb);
    }

    template <int T>
    static void store(void* base, std::size_t stride) {
        const unsigned char* t = tile(T, "tilestored");
        const auto [rows, colsb] = shape(T);
        for (std::size_t r = 0; r < rows; ++r) std::memcpy(static_cast<char*>(base) + r * stride, t + r * ops::amx::row_bytes, colsb);
    }

    // C[m][n] += sum over k of the four u8 x s8 products of A[m][k] and B[k][n].
    template <int C, int A, int B>
    static void dot_u8s8() {
        const product p = check_product(C, A, B, "tdpbusd");
        for (std::size_t m = 0; m < p.rows; ++m)
            for (std::size_t n = 0; n < p.cols; ++n) {
                std::int32_t sum = read<std::int32_t>(p.c, m, n);
                for (std::size_t k = 0; k < p.depth; ++k)
                    for (std::size_t i = 0; i < 4; ++i)
                        sum += std::int32_t(p.a[m * ops::amx::row_bytes + 4 * k + i]) *
                               std::int32_t(static_cast<std::int8_t>(p.b[k * ops::amx::row_bytes + 4 * n + i]));
                write(p.c, m, n, sum);
            }
        clear_outside(p);
    }

    // C[m][n] += A's even bf16 times B's, then += the odd ones: two roundings per
    // group, bf16 denormals read as zero (DAZ) and denormal sums flushed (FTZ).
    template <int C, int A, int B>
    static void dot_bf16() {
        const product p = check_product(C, A, B, "tdpbf16ps");
        for (std::size_t m = 0; m < p.rows; ++m)
            for (std::size_t n = 0; n < p.cols; ++n) {
                float sum = read<float>(p.c, m, n);
                for (std::size_t k = 0; k < p.depth; ++k)
                    for (std::size_t i = 0; i < 2; ++i) {
                        const float a = bf16_daz(read<std::uint16_t>(p.a, m, 2 * k + i));
                        const float b = bf16_daz(read<std::uint16_t>(p.b, k, 2 * n + i));
                        sum = flush(sum + a * b);
                    }
                write(p.c, m, n, sum);
            }
        clear_outside(p);
    }

    // Products run on this thread since it began, to show a kernel used the tiles.
    static std::size_t products() { return current().products; }

private:
    static constexpr std::size_t tiles = 8, tile_bytes = ops::amx::max_rows * ops::amx::row_bytes;

    struct state {
        ops::amx::tile_config config;
        bool configured = false;
        unsigned char data[tiles][tile_bytes] = {};
        std::size_t products = 0;
    };
    static state& current() {
        thread_local state s;
        return s;
    }

    [[noreturn]] static void fail(const std::string& what) { throw std::logic_error("emulated AMX: " + what); }

    struct tile_shape {
        std::size_t rows, colsb;
    };
    static tile_shape shape(int t) { return {current().config.rows[t], current().config.colsb[t]}; }

    static unsigned char* tile(int t, const char* instruction) {
        state& s = current();
        if (!s.configured) fail(std::string(instruction) + ": the tiles are not configured (ldtilecfg)");
        if (t < 0 || std::size_t(t) >= tiles || s.config.rows[t] == 0)
            fail(std::string(instruction) + ": tile " + std::to_string(t) + " is not configured");
        return s.data[t];
    }

    struct product {
        unsigned char* c;
        const unsigned char *a, *b;
        std::size_t rows, cols, depth;  // of C in 4-byte elements, and A's groups
        std::size_t c_colsb;
    };
    static product check_product(int c, int a, int b, const char* instruction) {
        unsigned char* tc = tile(c, instruction);
        const unsigned char *ta = tile(a, instruction), *tb = tile(b, instruction);
        if (c == a || c == b || a == b) fail(std::string(instruction) + ": its three tiles must differ");
        const auto [c_rows, c_colsb] = shape(c);
        const auto [a_rows, a_colsb] = shape(a);
        const auto [b_rows, b_colsb] = shape(b);
        const std::string where = std::string(instruction) + ": ";
        if (c_colsb % 4 || a_colsb % 4 || b_colsb % 4) fail(where + "tile widths must be whole 4-byte groups");
        if (a_colsb / 4 != b_rows)
            fail(where + "A has " + std::to_string(a_colsb / 4) + " groups a row but B " + std::to_string(b_rows) + " rows");
        if (c_rows != a_rows) fail(where + "C has " + std::to_string(c_rows) + " rows but A " + std::to_string(a_rows));
        if (c_colsb != b_colsb) fail(where + "C is " + std::to_string(c_colsb) + " bytes wide but B " + std::to_string(b_colsb));
        ++current().products;
        return {tc, ta, tb, c_rows, c_colsb / 4, b_rows, c_colsb};
    }

    // Past C's rows and bytes the tile is zero after a product, as the SDM's write_row_and_zero leaves it.
    static void clear_outside(const product& p) {
        for (std::size_t r = 0; r < ops::amx::max_rows; ++r)
            std::memset(p.c + r * ops::amx::row_bytes + (r < p.rows ? p.c_colsb : 0), 0, ops::amx::row_bytes - (r < p.rows ? p.c_colsb : 0));
    }

    template <class T>
    static T read(const unsigned char* tile, std::size_t row, std::size_t index) {
        T v;
        std::memcpy(&v, tile + row * ops::amx::row_bytes + index * sizeof(T), sizeof(T));
        return v;
    }
    template <class T>
    static void write(unsigned char* tile, std::size_t row, std::size_t index, T v) {
        std::memcpy(tile + row * ops::amx::row_bytes + index * sizeof(T), &v, sizeof(T));
    }

    static float bf16_daz(std::uint16_t v) { return (v & 0x7f80u) ? bf16_to_float(v) : 0.0f * bf16_to_float(v); }
    static float flush(float v) {
        std::uint32_t bits;
        std::memcpy(&bits, &v, 4);
        if ((bits & 0x7f800000u) == 0) bits &= 0x80000000u;
        std::memcpy(&v, &bits, 4);
        return v;
    }
};

}  // namespace mmt::test
