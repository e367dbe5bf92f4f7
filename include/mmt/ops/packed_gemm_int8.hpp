// y[M, N] = x[M, K] W[N, K]^T + b with int8 dynamic quantisation: W in int8
// with one scale per output channel (max |w| / 127, fixed at load), each row of x
// in uint8 over its own range (x = min + scale * q, q in 0..255, per call: GELU
// outputs are lopsided, so this keeps twice the levels of a symmetric int8),
// exact int32 sums of u8 x s8 products, then
// y = (acc * x_scale + x_min * sum(w)) * w_scale + b. W is packed in panels of 48
// columns holding k-quads [K / 4][48][4] (ops/gemm_driver.hpp). Tile kernels:
// AMX tdpbusd under kernel_isa::amx (ops/amx_tiles.hpp); AVX512-VNNI vpdpbusd
// (four multiply-adds per lane, four times the float32 FMA rate on this project's
// machine: bench roofline_vnni_dot_peak); its 256-bit AVX-VNNI form on AVX2;
// AVX2's vpmaddubsw where that is missing; and portable
// C++: all give the same integers. x is quantised with AVX-512 (AVX512BW), AVX2
// or portable code that give the same levels.
//
// Accuracy: both roundings are the 8-bit floor of round-to-nearest. On the tiny
// fixtures, rounding W moves the outputs about 1.5 times as much as rounding x,
// and neither an MSE-optimal weight scale nor sum-preserving rounding changes that
// by more than noise. So the models keep their output heads (classifiers, lm_head,
// CLIP's projections) in float32 (layers::linear::load_head): a fraction of a
// percent of the FLOPs, and the layer whose outputs are the labels users read.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <utility>
#include <vector>

#include "mmt/core/cpu.hpp"
#include "mmt/core/kernel.hpp"
#include "mmt/core/row_reader.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/activations.hpp"
#include "mmt/ops/amx_tiles.hpp"
#include "mmt/ops/gemm_driver.hpp"
#include "mmt/ops/simd.hpp"
#include "mmt/ops/vector_math.hpp"

namespace mmt::ops {

// The per-output-channel quantisation of weight rows: scale = max |w| / 127 (1 for
// a row of zeros), level = round(w / scale) in -127..127, half away from zero as
// std::lround rounds. `mmt quantize` stores exactly these, so a model loaded from
// its file equals one quantised at load.
inline float int8_row_scale(const float* row, std::size_t k) {
    float max = 0;
    for (std::size_t kk = 0; kk < k; ++kk) max = std::max(max, std::fabs(row[kk]));
    return max > 0 ? max / 127.0f : 1.0f;
}

namespace detail {
// A row of w replaced by its levels, returning its scale (quantise_int8_rows).
// Without branches, whose outcome is a coin toss per weight, and without
// std::lround's library call: q - trunc(q) is exact, so halves are found exactly.
// A NaN weight gets level 0 and leaves the scale to the others.
inline float quantise_int8_row_portable(float* row, std::size_t k) {
    const float scale = int8_row_scale(row, k);
    for (std::size_t i = 0; i < k; ++i) {
        const float q = row[i] / scale, t = std::trunc(q);
        const float level = t + std::copysign(float(std::fabs(q - t) >= 0.5f), q);
        row[i] = level == level ? level : 0.0f;
    }
    return scale;
}

#if defined(__x86_64__)
// quantise_int8_row_portable's levels of 8 weights: the same operations, so the same levels.
__attribute__((target("avx2"), always_inline)) inline __m256 int8_levels_avx2(__m256 w, __m256 scale) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 q = _mm256_div_ps(w, scale), t = _mm256_round_ps(q, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 away = _mm256_and_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_sub_ps(q, t)), _mm256_set1_ps(0.5f), _CMP_GE_OQ),
                                      _mm256_set1_ps(1.0f));
    const __m256 level = _mm256_add_ps(t, _mm256_or_ps(away, _mm256_and_ps(q, sign)));  // t + copysign(away, q)
    return _mm256_and_ps(level, _mm256_cmp_ps(level, level, _CMP_ORD_Q));                  // NaN -> 0
}

// quantise_int8_row_portable on 8 lanes (GCC leaves trunc scalar unless told to
// ignore floating-point traps): the bulk of quantising at load.
__attribute__((target("avx2"))) inline float quantise_int8_row_avx2(float* row, std::size_t k) {
    const std::size_t full = k / 8 * 8;
    const __m256i tail = simd::mask8(k - full);
    __m256 max = _mm256_setzero_ps();
    for (std::size_t i = 0; i < k; i += 8) {
        const __m256 w = i < full ? _mm256_loadu_ps(row + i) : _mm256_maskload_ps(row + i, tail);
        max = _mm256_max_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), w), max);  // a NaN lane keeps max, as std::max does
    }
    const float largest = simd::reduce_max8(max), scale = largest > 0 ? largest / 127.0f : 1.0f;
    const __m256 scales = _mm256_set1_ps(scale);
    for (std::size_t i = 0; i < full; i += 8) _mm256_storeu_ps(row + i, int8_levels_avx2(_mm256_loadu_ps(row + i), scales));
    if (full < k) _mm256_maskstore_ps(row + full, tail, int8_levels_avx2(_mm256_maskload_ps(row + full, tail), scales));
    return scale;
}
#endif
}  // namespace detail

// w: [rows, k] replaced by its levels (whole numbers, still float: they convert to
// int8 exactly), scales: [rows]. Every kernel gives the same levels.
inline void quantise_int8_rows(float* w, std::size_t rows, std::size_t k, float* scales) {
#if defined(__x86_64__)
    if (active_kernel() != kernel_isa::portable) {
        for (std::size_t r = 0; r < rows; ++r) scales[r] = detail::quantise_int8_row_avx2(w + r * k, k);
        return;
    }
#endif
    for (std::size_t r = 0; r < rows; ++r) scales[r] = detail::quantise_int8_row_portable(w + r * k, k);
}

class packed_weights_int8 : public panel_buffer<std::int8_t, 4> {
public:
    packed_weights_int8() = default;

    // W [n, k] float32, read a panel's rows at a time and quantised here, stacking
    // `parts` equal parts. With `level_scales` ([n]), W holds levels already quantised
    // (integers in -127..127, as `mmt quantize` stores them) and those are their rows' scales.
    packed_weights_int8(const row_reader& w, std::size_t n, std::size_t k, const float* level_scales = nullptr, std::size_t parts = 1) {
        auto scales = std::make_shared<std::vector<float>>(n);
        auto sums = std::make_shared<std::vector<std::int32_t>>(n, 0);
        if (level_scales) {
            std::copy(level_scales, level_scales + n, scales->begin());
            pack(w, n, k, parts, gemm::no_preparation{}, gemm::to_int8{});
        } else {
            const auto quantise = [&](std::size_t first, std::size_t count, float* rows) {
                quantise_int8_rows(rows, count, k, scales->data() + first);
            };
            pack(w, n, k, parts, quantise, gemm::to_int8{});
        }
        parallel_for(panels(), 1, [&](std::size_t p0, std::size_t p1) {  // from the packed levels, in the order they lie
            for (std::size_t p = p0; p < p1; ++p) {
                std::int32_t panel_sums[panel] = {};
                for (std::size_t g = 0; g < groups(); ++g)
                    for (std::size_t c = 0; c < panel; ++c)
                        for (std::size_t i = 0; i < 4; ++i) panel_sums[c] += panel_data(p)[(g * panel + c) * 4 + i];
                std::copy(panel_sums, panel_sums + panel_cols(p), sums->begin() + std::ptrdiff_t(panel_first(p)));
            }
        });
        scales_ = std::move(scales);
        sums_ = std::move(sums);
    }

    // w: [n, k] row-major float32 (or levels, with `level_scales`).
    packed_weights_int8(const float* w, std::size_t n, std::size_t k, const float* level_scales = nullptr)
        : packed_weights_int8(rows_in_memory(w, k), n, k, level_scales) {}

    std::size_t quads() const { return groups(); }
    const float* scales() const { return scales_->data() + first_row(); }            // [n] per output channel
    const std::int32_t* column_sums() const { return sums_->data() + first_row(); }  // [n] sum of the int8 weights

private:
    std::shared_ptr<const std::vector<float>> scales_ = std::make_shared<std::vector<float>>();
    std::shared_ptr<const std::vector<std::int32_t>> sums_ = std::make_shared<std::vector<std::int32_t>>();
};

// One row of x as the kernels read it: 4 * quads levels (the padding past k stays
// zero and meets zero weights), x = min + scale * level.
struct quantised_row {
    float scale = 1, min = 0;
};

namespace detail {

// The row's range always holds 0, so a row of zeros has min = 0 and levels 0.
inline quantised_row row_quantisation(float lo, float hi) {
    return {hi > lo ? (hi - lo) / 255.0f : 1.0f, lo};
}

// Both quantisers take the range and then level = nearbyint(clamp((x - min) * (1 / scale), 0, 255))
// with the same float operations, each comparison written as the ternary that
// minps/maxps compute (a NaN is left out of the range and gets level 0), and the
// conversion in the current rounding mode: the same integers for every input.
inline quantised_row quantise_row_portable(const float* row, std::size_t k, std::uint8_t* levels) {
    float lo = 0, hi = 0;
    for (std::size_t i = 0; i < k; ++i) {
        lo = row[i] < lo ? row[i] : lo;
        hi = row[i] > hi ? row[i] : hi;
    }
    const quantised_row q = row_quantisation(lo, hi);
    const float inv = 1.0f / q.scale;
    for (std::size_t i = 0; i < k; ++i) {
        float v = (row[i] - q.min) * inv;
        v = v > 0.0f ? v : 0.0f;
        v = v < 255.0f ? v : 255.0f;
        levels[i] = static_cast<std::uint8_t>(std::nearbyint(v));
    }
    return q;
}

// The float result of a tile of sums: (acc * x_scale + x_min * column_sum) * w_scale + bias,
// then the gemm_epilogue's activation and residual, in registers.
struct int8_epilogue {
    const quantised_row* x;  // [rows]
    const float* w_scales;   // [cols], this panel's
    const std::int32_t* column_sums;
    const float* bias;               // [cols] or null
    const float* residual = nullptr;  // the tile's [rows, cols] with row stride ld_residual, or null
    std::size_t ld_residual = 0;
};

MMT_INTRINSICS_BEGIN

#if defined(__x86_64__)
// (x - min) / scale clamped to 0..255 and rounded in the current rounding mode (as
// nearbyint). A function of its own: a lambda would not inherit the target attribute.
__attribute__((target("avx512f"))) inline __m512i levels_avx512(__m512 x, __m512 min, __m512 inv_scale) {
    const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_sub_ps(x, min), inv_scale), _mm512_setzero_ps()),
                                   _mm512_set1_ps(255.0f));
    return _mm512_cvtps_epi32(v);
}

__attribute__((target("avx512f,avx512bw"))) inline quantised_row quantise_row_avx512(const float* row, std::size_t k,
                                                                                     std::uint8_t* levels) {
    const std::size_t full = k / 16 * 16;
    const __mmask16 tail = simd::mask16(k - full);
    // Starting from 0 gives min(0, min x) and max(0, max x); the masked tail loads zeros.
    __m512 lo0 = _mm512_setzero_ps(), lo1 = lo0, hi0 = lo0, hi1 = lo0;
    std::size_t i = 0;
    for (; i + 32 <= full; i += 32) {
        const __m512 a = _mm512_loadu_ps(row + i), b = _mm512_loadu_ps(row + i + 16);
        lo0 = _mm512_min_ps(a, lo0);  // a < lo0 ? a : lo0
        hi0 = _mm512_max_ps(a, hi0);
        lo1 = _mm512_min_ps(b, lo1);
        hi1 = _mm512_max_ps(b, hi1);
    }
    for (; i < full; i += 16) {
        const __m512 a = _mm512_loadu_ps(row + i);
        lo0 = _mm512_min_ps(a, lo0);
        hi0 = _mm512_max_ps(a, hi0);
    }
    if (tail) {
        const __m512 a = _mm512_maskz_loadu_ps(tail, row + full);
        lo0 = _mm512_min_ps(a, lo0);
        hi0 = _mm512_max_ps(a, hi0);
    }
    const quantised_row q =
        row_quantisation(_mm512_reduce_min_ps(_mm512_min_ps(lo0, lo1)), _mm512_reduce_max_ps(_mm512_max_ps(hi0, hi1)));
    const __m512 min = _mm512_set1_ps(q.min), inv = _mm512_set1_ps(1.0f / q.scale);
    for (i = 0; i < full; i += 16)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(levels + i), _mm512_cvtepi32_epi8(levels_avx512(_mm512_loadu_ps(row + i), min, inv)));
    if (tail) _mm512_mask_cvtepi32_storeu_epi8(levels + full, tail, levels_avx512(_mm512_maskz_loadu_ps(tail, row + full), min, inv));
    return q;
}

__attribute__((target("avx2"))) inline __m256i levels_avx2(__m256 x, __m256 min, __m256 inv_scale) {
    const __m256 v = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(_mm256_sub_ps(x, min), inv_scale), _mm256_setzero_ps()),
                                   _mm256_set1_ps(255.0f));
    return _mm256_cvtps_epi32(v);
}

// Eight levels 0..255 from int32 lanes to bytes, in order (packus works within 128-bit halves).
__attribute__((target("avx2"))) inline std::uint64_t bytes_avx2(__m256i levels) {
    const __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(levels), _mm256_extracti128_si256(levels, 1));
    return std::uint64_t(_mm_cvtsi128_si64(_mm_packus_epi16(words, words)));
}

// quantise_row_avx512 with 8 lanes; the tail lanes load as zeros.
__attribute__((target("avx2"))) inline quantised_row quantise_row_avx2(const float* row, std::size_t k, std::uint8_t* levels) {
    const std::size_t full = k / 8 * 8;
    const __m256i tail = simd::mask8(k - full);
    __m256 lo0 = _mm256_setzero_ps(), lo1 = lo0, hi0 = lo0, hi1 = lo0;
    std::size_t i = 0;
    for (; i + 16 <= full; i += 16) {
        const __m256 a = _mm256_loadu_ps(row + i), b = _mm256_loadu_ps(row + i + 8);
        lo0 = _mm256_min_ps(a, lo0);  // a < lo0 ? a : lo0
        hi0 = _mm256_max_ps(a, hi0);
        lo1 = _mm256_min_ps(b, lo1);
        hi1 = _mm256_max_ps(b, hi1);
    }
    for (; i < k; i += 8) {
        const __m256 a = i < full ? _mm256_loadu_ps(row + i) : _mm256_maskload_ps(row + i, tail);
        lo0 = _mm256_min_ps(a, lo0);
        hi0 = _mm256_max_ps(a, hi0);
    }
    const quantised_row q = row_quantisation(simd::reduce_min8(_mm256_min_ps(lo0, lo1)), simd::reduce_max8(_mm256_max_ps(hi0, hi1)));
    const __m256 min = _mm256_set1_ps(q.min), inv = _mm256_set1_ps(1.0f / q.scale);
    for (i = 0; i < full; i += 8) {
        const std::uint64_t bytes = bytes_avx2(levels_avx2(_mm256_loadu_ps(row + i), min, inv));
        std::memcpy(levels + i, &bytes, 8);
    }
    if (full < k) {
        const std::uint64_t bytes = bytes_avx2(levels_avx2(_mm256_maskload_ps(row + full, tail), min, inv));
        std::memcpy(levels + full, &bytes, k - full);
    }
    return q;
}

// c[rows][16 * Vecs] (+)= a[rows, quads] . b[quads][48][4], up to 8 rows x 48 columns
// (Vecs 3; fewer for a narrow last panel, whose columns past cols finish never reads).
template <std::size_t Rows, std::size_t Vecs>
__attribute__((target("avx512f,avx512vnni"))) inline void int8_kernel_avx512(const std::uint32_t* a, std::size_t lda, const std::int8_t* b,
                                                                           std::size_t quads, std::int32_t* c, std::size_t ldc,
                                                                           bool accumulate, const prefetch_plan& prefetch) {
    // 24 accumulators, 3 weight vectors and a broadcast fill 28 of the 32 registers;
    // the k loop is not unrolled and nothing else is live across it, else GCC spills.
    __m512i acc[Rows][Vecs];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 3
        for (std::size_t j = 0; j < Vecs; ++j) acc[r][j] = accumulate ? _mm512_load_si512(c + r * ldc + 16 * j) : _mm512_setzero_si512();
    const std::size_t steps = prefetch.steps();
#pragma GCC unroll 1
    for (std::size_t kq = 0; kq < quads; ++kq) {
        if (kq < steps) prefetch.issue(kq);
        const std::int8_t* bk = b + kq * gemm::panel * 4;
        __m512i bv[Vecs];
#pragma GCC unroll 3
        for (std::size_t j = 0; j < Vecs; ++j) bv[j] = _mm512_load_si512(bk + 64 * j);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < Rows; ++r) {
            const __m512i av = _mm512_set1_epi32(int(a[r * lda + kq]));
#pragma GCC unroll 3
            for (std::size_t j = 0; j < Vecs; ++j) acc[r][j] = _mm512_dpbusd_epi32(acc[r][j], av, bv[j]);
        }
    }
#pragma GCC unroll 8
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 3
        for (std::size_t j = 0; j < Vecs; ++j) _mm512_store_si512(c + r * ldc + 16 * j, acc[r][j]);
}

inline void int8_tile_avx512(std::size_t rows, const std::uint32_t* a, std::size_t lda, const std::int8_t* b, std::size_t quads,
                             const float*, std::int32_t* c, std::size_t ldc, std::size_t cols, bool accumulate,
                             const prefetch_plan& prefetch) {
    with_rows(
        rows,
        [&](auto r) {
            with_vecs16(cols, [&](auto v) {
                int8_kernel_avx512<decltype(r)::value, decltype(v)::value>(a, lda, b, quads, c, ldc, accumulate, prefetch);
            });
        },
        std::make_index_sequence<8>{});
}

// acc += the four u8 x s8 products of each 32-bit lane, exactly. AVX-VNNI does it
// in one instruction, written as assembly so that both variants compile for plain
// AVX2: a compiler told about AVX-VNNI may fold the other variant's vpmaddwd + add
// into VNNI instructions a CPU without them cannot run. vpmaddubsw alone would
// saturate (255 * 127 * 2 > 32767), so without VNNI the levels are split into their
// top 7 bits and their lowest bit, whose pair sums fit int16, and vpmaddwd widens
// each (the top one times 2).
template <bool Vnni>
__attribute__((target("avx2"), always_inline)) inline __m256i dot_u8s8_avx2(__m256i acc, __m256i a, __m256i b) {
    if constexpr (Vnni) {
        asm("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(a), "x"(b));
        return acc;
    } else {
        const __m256i top = _mm256_and_si256(_mm256_srli_epi16(a, 1), _mm256_set1_epi8(0x7f));
        const __m256i low = _mm256_and_si256(a, _mm256_set1_epi8(1));
        const __m256i sum_top = _mm256_madd_epi16(_mm256_maddubs_epi16(top, b), _mm256_set1_epi16(2));
        const __m256i sum_low = _mm256_madd_epi16(_mm256_maddubs_epi16(low, b), _mm256_set1_epi16(1));
        return _mm256_add_epi32(acc, _mm256_add_epi32(sum_top, sum_low));
    }
}

// 16 columns (two registers of 8 sums) at a time.
template <bool Vnni, std::size_t Rows>
__attribute__((target("avx2"))) inline void int8_kernel_avx2(const std::uint32_t* a, std::size_t lda, const std::int8_t* b,
                                                                   std::size_t quads, std::int32_t* c, std::size_t ldc, bool accumulate,
                                                                   const prefetch_plan& prefetch) {
    __m256i acc[Rows][2];
#pragma GCC unroll 6
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 2
        for (std::size_t j = 0; j < 2; ++j)
            acc[r][j] = accumulate ? _mm256_load_si256(reinterpret_cast<const __m256i*>(c + r * ldc + 8 * j)) : _mm256_setzero_si256();
    const std::size_t steps = prefetch.steps();
    for (std::size_t kq = 0; kq < quads; ++kq) {
        if (kq < steps) prefetch.issue(kq);
        const std::int8_t* bk = b + kq * gemm::panel * 4;
        const __m256i b0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(bk)),
                      b1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(bk + 32));
#pragma GCC unroll 6
        for (std::size_t r = 0; r < Rows; ++r) {
            const __m256i av = _mm256_set1_epi32(int(a[r * lda + kq]));
            acc[r][0] = dot_u8s8_avx2<Vnni>(acc[r][0], av, b0);
            acc[r][1] = dot_u8s8_avx2<Vnni>(acc[r][1], av, b1);
        }
    }
#pragma GCC unroll 6
    for (std::size_t r = 0; r < Rows; ++r)
#pragma GCC unroll 2
        for (std::size_t j = 0; j < 2; ++j) _mm256_store_si256(reinterpret_cast<__m256i*>(c + r * ldc + 8 * j), acc[r][j]);
}

template <bool Vnni>
inline void int8_tile_avx2(std::size_t rows, const std::uint32_t* a, std::size_t lda, const std::int8_t* b, std::size_t quads, const float*,
                           std::int32_t* c, std::size_t ldc, std::size_t cols, bool accumulate, const prefetch_plan& prefetch) {
    for (std::size_t c0 = 0; c0 < cols; c0 += 16) {
        const prefetch_plan& ask = c0 == 0 ? prefetch : prefetch_plan{};
        with_rows(
            rows, [&](auto r) { int8_kernel_avx2<Vnni, decltype(r)::value>(a, lda, b + 4 * c0, quads, c + c0, ldc, accumulate, ask); },
            std::make_index_sequence<Vnni ? 6 : 4>{});
    }
}

// The activation that leaves its input as it is.
struct no_activation {
    template <class V>
    V operator()(V v) const {
        return v;
    }
};

// f(op) with the vector form (vector_math.hpp) of the epilogue's activation, or of
// none, as activate_inplace picks it; false for an activation without one, which the
// caller applies afterwards.
template <class F>
bool with_activation_op(const std::optional<activation>& act, F&& f) {
    if (!act) return f(no_activation{}), true;
    if (*act == activation::gelu) return f(gelu_op{}), true;
    if (const float a = sigmoid_gate_slope(*act)) return f(sigmoid_gate_op{a}), true;
    return false;
}

// c[rows, cols] from the sums, each value stored once: its activation and residual
// add are the operations gemm_epilogue::apply runs in a second pass under the same
// kernel_isa, so the bits are the same. The driver has asked for c's lines and the
// residual's before the tile's last k block (prefetch_epilogue).
template <class Act>
__attribute__((target("avx512f"))) inline void int8_finish_avx512(std::size_t rows, const std::int32_t* acc, std::size_t ldacc,
                                                                 const int8_epilogue& e, Act act, float* c, std::size_t ldc,
                                                                 std::size_t cols) {
    for (std::size_t c0 = 0; c0 < cols; c0 += 16) {
        const __mmask16 mask = simd::mask16(cols - c0);
        const __m512 wsum = _mm512_cvtepi32_ps(_mm512_maskz_loadu_epi32(mask, e.column_sums + c0));
        const __m512 ws = _mm512_maskz_loadu_ps(mask, e.w_scales + c0);
        const __m512 bv = e.bias ? _mm512_maskz_loadu_ps(mask, e.bias + c0) : _mm512_setzero_ps();
        for (std::size_t r = 0; r < rows; ++r) {
            const __m512 dot = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(acc + r * ldacc + c0)), _mm512_set1_ps(e.x[r].scale),
                                               _mm512_mul_ps(wsum, _mm512_set1_ps(e.x[r].min)));
            __m512 y = act(_mm512_fmadd_ps(dot, ws, bv));
            if (e.residual) y = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, e.residual + r * e.ld_residual + c0), y);
            simd::store16(c + r * ldc + c0, cols - c0, mask, y);
        }
    }
}

// int8_finish_avx512 with 8 lanes.
template <class Act>
__attribute__((target("avx2,fma"))) inline void int8_finish_avx2(std::size_t rows, const std::int32_t* acc, std::size_t ldacc,
                                                                const int8_epilogue& e, Act act, float* c, std::size_t ldc,
                                                                std::size_t cols) {
    for (std::size_t c0 = 0; c0 < cols; c0 += 8) {
        const __m256i mask = simd::mask8(cols - c0);
        const __m256 wsum = _mm256_cvtepi32_ps(_mm256_maskload_epi32(e.column_sums + c0, mask));
        const __m256 ws = _mm256_maskload_ps(e.w_scales + c0, mask);
        const __m256 bv = e.bias ? _mm256_maskload_ps(e.bias + c0, mask) : _mm256_setzero_ps();
        for (std::size_t r = 0; r < rows; ++r) {
            const __m256i sums = _mm256_load_si256(reinterpret_cast<const __m256i*>(acc + r * ldacc + c0));
            const __m256 dot = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), _mm256_set1_ps(e.x[r].scale),
                                               _mm256_mul_ps(wsum, _mm256_set1_ps(e.x[r].min)));
            __m256 y = act(_mm256_fmadd_ps(dot, ws, bv));
            if (e.residual) y = _mm256_add_ps(_mm256_maskload_ps(e.residual + r * e.ld_residual + c0, mask), y);
            simd::store8(c + r * ldc + c0, cols - c0, mask, y);
        }
    }
}
#endif

MMT_INTRINSICS_END

inline void int8_tile_portable(std::size_t rows, const std::uint32_t* a, std::size_t lda, const std::int8_t* b, std::size_t quads,
                               const float*, std::int32_t* c, std::size_t ldc, std::size_t, bool accumulate, const prefetch_plan&) {
    for (std::size_t r = 0; r < rows; ++r) {
        std::int32_t* out = c + r * ldc;
        if (!accumulate) std::fill(out, out + gemm::panel, 0);
        for (std::size_t kq = 0; kq < quads; ++kq) {
            const std::uint32_t quad = a[r * lda + kq];
            const std::int8_t* bk = b + kq * gemm::panel * 4;
            for (std::size_t j = 0; j < gemm::panel; ++j)
                for (std::size_t i = 0; i < 4; ++i) out[j] += std::int32_t((quad >> (8 * i)) & 0xffu) * bk[j * 4 + i];
        }
    }
}

inline void int8_finish_portable(std::size_t rows, const std::int32_t* acc, std::size_t ldacc, const int8_epilogue& e, float* c,
                                 std::size_t ldc, std::size_t cols) {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t j = 0; j < cols; ++j)
            c[r * ldc + j] = (float(acc[r * ldacc + j]) * e.x[r].scale + e.x[r].min * float(e.column_sums[j])) * e.w_scales[j] +
                             (e.bias ? e.bias[j] : 0.0f);
}

}  // namespace detail

// x's rows (row stride ldx) as uint8 levels, four to a uint32 for the kernels'
// broadcasts: levels [m, quads] and one (scale, min) per row. Each kernel
// quantises with its own instructions (AVX512BW, AVX2, portable): the same levels.
inline void quantise_rows_u8(const float* x, std::size_t m, std::size_t k, std::size_t ldx, std::uint32_t* levels, quantised_row* rows) {
    const std::size_t quads = (k + 3) / 4;
    const kernel_isa isa = active_kernel();
    parallel_for(m, row_grain(k), [&](std::size_t r0, std::size_t r1) {
        for (std::size_t r = r0; r < r1; ++r) {
            auto* dst = reinterpret_cast<std::uint8_t*>(levels + r * quads);
            if (k % 4) levels[r * quads + quads - 1] = 0;
#if defined(__x86_64__)
            if (isa >= kernel_isa::avx512) {
                rows[r] = detail::quantise_row_avx512(x + r * ldx, k, dst);
                continue;
            }
            if (isa == kernel_isa::avx2) {
                rows[r] = detail::quantise_row_avx2(x + r * ldx, k, dst);
                continue;
            }
#else
            (void)isa;
#endif
            rows[r] = detail::quantise_row_portable(x + r * ldx, k, dst);
        }
    });
}

// int8 for the driver: x's rows quantised to u8 quads, int32 sums of a panel kept
// per thread across the k blocks, rescaled to float in finish.
struct int8_gemm {
    using weights = packed_weights_int8;
    using weight = std::int8_t;
    using a_type = std::uint32_t;  // four levels of x
    using acc_type = std::int32_t;
    static constexpr std::size_t group = 4;
    // Quads per k block. Shared by many row tiles, 128: 24 KiB of a panel and 4 KiB of
    // x's tile stay in L1 together (192, 36 KiB, took 1.03-1.10 of the time on the
    // batched CLIP and LayoutLM rows). Shared by a few (CLIP's batch 1: 7), whose
    // weights stream from memory once, 192: a second block's pass cost 1.12 there.
    static constexpr std::size_t block_groups(std::size_t row_tiles) { return row_tiles >= 16 ? 128 : 192; }

    // [m][48] sums of one panel, rows 64-byte aligned for the kernels' loads.
    struct accumulator {
        struct aligned_delete {
            void operator()(std::int32_t* p) const { ::operator delete[](p, std::align_val_t(64)); }
        };
        std::unique_ptr<std::int32_t[], aligned_delete> sums;
        explicit accumulator(std::size_t m) : sums(new (std::align_val_t(64)) std::int32_t[m * gemm::panel]) {}
        std::int32_t* tile(float*, std::size_t, std::size_t r0, std::size_t, std::size_t& ldc) {
            ldc = gemm::panel;
            return sums.get() + r0 * gemm::panel;
        }
    };

    struct prepared {
        std::shared_ptr<const std::uint32_t[]> levels;  // [m, quads]
        std::shared_ptr<const quantised_row[]> rows;    // [m]
        const std::uint32_t* a;
        std::size_t lda;
    };
    static prepared prepare(const float* x, std::size_t m, std::size_t ldx, std::size_t k, kernel_isa) {
        const std::size_t quads = (k + 3) / 4;
        std::shared_ptr<std::uint32_t[]> levels(new std::uint32_t[std::max<std::size_t>(1, m * quads)]);
        std::shared_ptr<quantised_row[]> rows(new quantised_row[m]);
        quantise_rows_u8(x, m, k, ldx, levels.get(), rows.get());
        return {levels, rows, levels.get(), quads};
    }

    // AVX-512 without VNNI runs the AVX2 kernel; AVX2 without AVX-VNNI the vpmaddubsw one.
    static tile_kernel<int8_gemm> kernel(kernel_isa isa) {
#if defined(__x86_64__)
        if (isa == kernel_isa::amx) return {detail::amx_tile<amx::hardware, std::int8_t, std::int32_t>, amx::max_rows, "AMX int8 16x48"};
        if (isa >= kernel_isa::avx512 && cpu::has_avx512_vnni()) return {detail::int8_tile_avx512, 8, "AVX512-VNNI int8 8x48"};
        if (isa != kernel_isa::portable && cpu::has_avx_vnni()) return {detail::int8_tile_avx2<true>, 6, "AVX-VNNI int8 6x16"};
        if (isa != kernel_isa::portable) return {detail::int8_tile_avx2<false>, 4, "AVX2 int8 (vpmaddubsw) 4x16"};
#endif
        (void)isa;
        return {detail::int8_tile_portable, 8, "portable int8 8x48"};
    }

    static void finish(kernel_isa isa, std::size_t rows, const std::int32_t* acc, std::size_t ldacc, const prepared& x, std::size_t r0,
                       const weights& w, std::size_t c0, std::size_t cols, const float* bias, float* y, std::size_t ldy,
                       const gemm_epilogue& epilogue) {
        detail::int8_epilogue e{x.rows.get() + r0, w.scales() + c0, w.column_sums() + c0, bias};
#if defined(__x86_64__)
        if (isa != kernel_isa::portable) {
            const auto run = [&](auto act) {
                if (isa >= kernel_isa::avx512) detail::int8_finish_avx512(rows, acc, ldacc, e, act, y, ldy, cols);
                else detail::int8_finish_avx2(rows, acc, ldacc, e, act, y, ldy, cols);
            };
            if (epilogue.residual) e.residual = epilogue.residual + r0 * epilogue.ld_residual + c0, e.ld_residual = epilogue.ld_residual;
            if (detail::with_activation_op(epilogue.act, run)) return;
            e.residual = nullptr;  // an activation without a vector form: the sums alone, then the epilogue's own pass
            run(detail::no_activation{});
            return epilogue.apply(y, ldy, r0, c0, rows, cols);
        }
#endif
        (void)isa;
        detail::int8_finish_portable(rows, acc, ldacc, e, y, ldy, cols);
        epilogue.apply(y, ldy, r0, c0, rows, cols);
    }
};

// Which kernel gemm_packed_int8 runs now.
inline const char* packed_gemm_int8_kernel() { return int8_gemm::kernel(active_kernel()).name; }

// x: [m, k] float32 with row stride ldx, y: [m, n] with row stride ldy (must not
// alias x), bias: [n] or nullptr, `epilogue` on each finished tile of y.
inline void gemm_packed_int8(const float* x, std::size_t m, std::size_t ldx, const packed_weights_int8& w, const float* bias, float* y,
                             std::size_t ldy, const gemm_epilogue& epilogue = {}) {
    run_gemm<int8_gemm>(x, m, ldx, w, bias, y, ldy, epilogue);
}

// Contiguous x [m, k] and y [m, n].
inline void gemm_packed_int8(const float* x, std::size_t m, const packed_weights_int8& w, const float* bias, float* y,
                             const gemm_epilogue& epilogue = {}) {
    gemm_packed_int8(x, m, w.cols(), w, bias, y, w.rows(), epilogue);
}

}  // namespace mmt::ops
