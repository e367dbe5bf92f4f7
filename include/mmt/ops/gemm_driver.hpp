// One driver for the packed GEMMs of every precision: y[M, N] = x[M, K] W[N, K]^T + b
// with W packed once at load into column panels of 48, each [K / G][48][G]: G values
// of k side by side, as the precision's dot-product instruction takes them (float32
// 1, bf16 2 for vdpbf16ps, int8 4 for vpdpbusd). W may stack equal parts (attention's
// q, k and v projections), each starting a panel of its own: one product computes
// them all from one preparation of x, and a view of some parts computes those alone.
// A precision is a trait (packed_gemm*.hpp) that says how a block of x's rows is prepared, which tile
// kernel runs for each kernel_isa and how its sums become y with the epilogue
// (ops/gemm_epilogue.hpp); the loops, the k blocking, the L2 prefetch, the thread
// split and the small-job rule live here.
// Each tile of y is one thread's, so results do not depend on the thread count. Every
// kernel_isa of a precision reads the same packed layout: the kernel may change
// after the weights are loaded.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <utility>

#include "mmt/core/dtype.hpp"
#include "mmt/core/error.hpp"
#include "mmt/core/huge_pages.hpp"
#include "mmt/core/kernel.hpp"
#include "mmt/core/row_reader.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/gemm_epilogue.hpp"
#include "mmt/ops/simd.hpp"

namespace mmt::ops {

namespace gemm {
// Columns of W^T per panel: three 16-float AVX-512 registers, or three passes of two 8-float AVX2 ones.
inline constexpr std::size_t panel = 48;
// m n k below which a second thread costs more than it saves.
inline constexpr std::size_t small_job = std::size_t(1) << 18;
// Rows of x per pass over a thread's panels (whole row tiles of 4, 6 or 8): their k
// block, 240 KiB at most, stays in L2 while the panels go by, where all of x would
// stream from L3 once per panel when it is larger than L2 (roofline_sgemm at M 2048).
inline constexpr std::size_t row_block = 240;

// The conversion of float32 weights that keeps them as they are.
struct keep {
    float operator()(std::size_t, float v) const { return v; }
};
// The conversion of int8 levels, whole floats in -127..127 (quantise_int8_rows), to int8.
struct to_int8 {
    std::int8_t operator()(std::size_t, float level) const { return static_cast<std::int8_t>(level); }
#if defined(__x86_64__)
    // Eight at once, as the packing's AVX2 loop takes them.
    __attribute__((target("avx2"))) void eight(const float* levels, std::int8_t* out) const {
        const __m256i whole = _mm256_cvtps_epi32(_mm256_loadu_ps(levels));  // whole floats: exact
        const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(whole), _mm256_extracti128_si256(whole, 1));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out), _mm_packs_epi16(words, words));
    }
#endif
};
// The rounding of float32 weights to bf16 (float_to_bf16).
struct to_bf16 {
    std::uint16_t operator()(std::size_t, float v) const { return float_to_bf16(v); }
#if defined(__x86_64__)
    __attribute__((target("avx2"))) void eight(const float* v, std::uint16_t* out) const {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out), simd::to_bf16x8(_mm256_loadu_ps(v)));
    }
#endif
};
// The preparation of a panel's rows that does nothing.
struct no_preparation {
    void operator()(std::size_t, std::size_t, float*) const {}
};
}  // namespace gemm

// Packed panels: panels() x [groups()][panel][Group] values of T; the k past cols()
// in the last group and the columns past a part's rows in its last panel are zero.
template <class T, std::size_t Group>
class panel_buffer {
public:
    using value_type = T;
    static constexpr std::size_t panel = gemm::panel;
    static constexpr std::size_t group = Group;

    std::size_t rows() const { return n_; }  // out_features
    std::size_t cols() const { return k_; }  // in_features
    std::size_t groups() const { return (k_ + Group - 1) / Group; }
    std::size_t parts() const { return n_ ? n_ / part_rows_ : 1; }  // stacked parts of part_rows() rows each
    std::size_t part_rows() const { return part_rows_; }
    std::size_t panels_per_part() const { return (part_rows_ + panel - 1) / panel; }
    std::size_t panels() const { return parts() * panels_per_part(); }
    // Panel p's first row of W (its first column of y) and its rows.
    std::size_t panel_first(std::size_t p) const { return p / panels_per_part() * part_rows_ + p % panels_per_part() * panel; }
    std::size_t panel_cols(std::size_t p) const { return std::min(panel, part_rows_ - p % panels_per_part() * panel); }
    const T* panel_data(std::size_t p) const { return data_.get() + (first_part_ * panels_per_part() + p) * per_panel(); }
    // A view's first row in the weight it was narrowed from (select_parts): where its per-row tables start.
    std::size_t first_row() const { return first_part_ * part_rows_; }

protected:
    // Packs B[j][kk] = convert(j, src[j * row_stride + kk * col_stride]) for j < n,
    // kk < k, reusing the buffer when it is large enough: K of one attention head is
    // (row_stride = hidden, 1), V transposed is (1, hidden).
    template <class Convert>
    void pack(const float* src, std::size_t n, std::size_t k, std::size_t row_stride, std::size_t col_stride, Convert convert) {
        allocate(n, k, 1);
        parallel_for(panels(), n * k > (1u << 16) ? 1 : panels(), [&](std::size_t p0, std::size_t p1) {
            for (std::size_t p = p0; p < p1; ++p) pack_panel(p, src + panel_first(p) * row_stride, row_stride, col_stride, convert);
        });
    }

    // Packs B[j][kk] = convert(j, W[j][kk]) for W [n, k], n / parts rows per part,
    // read a panel's rows at a time, on all threads; prepare(first, count, rows) sees
    // each panel's rows before they are converted, and may rewrite them (int8
    // quantises them there).
    template <class Prepare, class Convert>
    void pack(const row_reader& read, std::size_t n, std::size_t k, std::size_t parts, Prepare prepare, Convert convert) {
        allocate(n, k, parts);
        parallel_for(panels(), 1, [&](std::size_t p0, std::size_t p1) {
            const std::unique_ptr<float[]> rows(new float[panel * k]);  // at most 48 rows: in L2 between the read and the packing
            for (std::size_t p = p0; p < p1; ++p) {
                const std::size_t first = panel_first(p), count = panel_cols(p);
                read(first, count, rows.get());
                prepare(first, count, rows.get());
                pack_panel(p, rows.get(), k, 1, convert);
            }
        });
    }

public:
    // Narrows this to `count` of its parts from part `first` on, sharing the packed
    // values (select_parts makes such a view).
    void narrow_to_parts(std::size_t first, std::size_t count) {
        if (count == 0 || first + count > parts())
            fail<shape_error>("packed weights: parts ", first, " to ", first + count, " of a weight stacking ", parts());
        first_part_ += first;
        n_ = count * part_rows_;
    }

private:
    void allocate(std::size_t n, std::size_t k, std::size_t parts) {
        if (parts == 0 || n % parts)
            fail<shape_error>("packed weights: ", n, " rows do not stack ", parts, " equal parts");
        n_ = n;
        k_ = k;
        part_rows_ = n / parts;
        first_part_ = 0;
        const std::size_t count = std::max<std::size_t>(64 / sizeof(T), panels() * per_panel());
        if (count > capacity_ || data_.use_count() > 1) {  // never write into a buffer a copy shares
            data_.reset(allocate_large_array<T>(count), free_deleter{});
            if (!data_) fail<error>("packed weights: cannot allocate ", count * sizeof(T), " bytes for ", n, " x ", k);
            capacity_ = count;
        }
    }

    std::size_t per_panel() const { return groups() * panel * Group; }  // 192 bytes per group for every T: 64-byte multiples

    // Panel p from its first row at src (row c of the panel at src + c * row_stride).
    template <class Convert>
    void pack_panel(std::size_t p, const float* src, std::size_t row_stride, std::size_t col_stride, Convert convert) {
        T* dst = data_.get() + p * per_panel();  // a few hundred KiB: stays in L2
        const std::size_t cols = panel_cols(p);
        if constexpr (std::is_same_v<Convert, gemm::keep>) {
            if (row_stride == 1) {  // a panel row is contiguous in src (V transposed): copy it whole
                for (std::size_t kk = 0; kk < k_; ++kk) std::memcpy(dst + kk * panel, src + kk * col_stride, cols * sizeof(T));
                pad(dst, cols);
                return;
            }
#if defined(__x86_64__)
            if constexpr (std::is_same_v<T, float> && Group == 1) {
                if (col_stride == 1 && active_kernel() != kernel_isa::portable) {
                    pack_rows_avx2(dst, src, row_stride, cols);
                    pad(dst, cols);
                    return;
                }
            }
#endif
        }
#if defined(__x86_64__)
        if constexpr (std::is_same_v<Convert, gemm::to_bf16>) {
            if (row_stride == 1 && active_kernel() != kernel_isa::portable) {
                pack_pairs_across_avx2(dst, src, col_stride, cols);
                pad(dst, cols);
                return;
            }
        }
        if constexpr (std::is_same_v<Convert, gemm::to_int8> || std::is_same_v<Convert, gemm::to_bf16>) {
            if (col_stride == 1 && active_kernel() != kernel_isa::portable) {
                pack_eights_avx2(dst, src, row_stride, cols, convert);
                pad(dst, cols);
                return;
            }
        }
#endif
        // 64 of k at a time: the panel rows being written (12 KiB of float32)
        // stay in L1 while the 48 source rows are read in order.
        for (std::size_t k0 = 0; k0 < k_; k0 += 64) {
            const std::size_t k1 = std::min(k_, k0 + 64);
            for (std::size_t c = 0; c < cols; ++c) {
                const float* row = src + c * row_stride;
                for (std::size_t kk = k0; kk < k1; ++kk)
                    dst[(kk / Group) * panel * Group + c * Group + kk % Group] = convert(panel_first(p) + c, row[kk * col_stride]);
            }
        }
        pad(dst, cols);
    }

#if defined(__x86_64__)
    // pack_panel's loops for float32 rows (col_stride 1) in 8x8 blocks transposed in
    // registers, a third of the time of one value at a time; the edges one at a time.
    __attribute__((target("avx2"))) void pack_rows_avx2(float* dst, const float* src, std::size_t row_stride, std::size_t cols) const {
        const std::size_t whole_cols = cols / 8 * 8, whole_k = k_ / 8 * 8;
        for (std::size_t k0 = 0; k0 < k_; k0 += 64) {
            const std::size_t k1 = std::min(k_, k0 + 64), k8 = std::min(whole_k, k1);
            for (std::size_t c = 0; c < cols; ++c) {
                const float* row = src + c * row_stride;
                if (c % 8 == 0 && c < whole_cols)
                    for (std::size_t kk = k0; kk < k8; kk += 8) simd::transpose8x8(row + kk, row_stride, dst + kk * panel + c, panel);
                for (std::size_t kk = c < whole_cols ? k8 : k0; kk < k1; ++kk) dst[kk * panel + c] = row[kk];
            }
        }
    }

    // pack_panel's loops for a conversion that takes 8 values at once (gemm::to_int8,
    // gemm::to_bf16; col_stride 1): 8 of a row converted together, their 8 / Group
    // groups stored whole; the last k below 8 one at a time.
    template <class Convert>
    __attribute__((target("avx2"))) void pack_eights_avx2(T* dst, const float* src, std::size_t row_stride, std::size_t cols,
                                                          Convert convert) const {
        const std::size_t whole_k = k_ / 8 * 8;
        for (std::size_t k0 = 0; k0 < k_; k0 += 64) {
            const std::size_t k1 = std::min(k_, k0 + 64), k8 = std::min(whole_k, k1);
            for (std::size_t c = 0; c < cols; ++c) {
                const float* row = src + c * row_stride;
                for (std::size_t kk = k0; kk < k8; kk += 8) {
                    T eight[8];
                    convert.eight(row + kk, eight);
                    for (std::size_t g = 0; g < 8 / Group; ++g)
                        std::memcpy(dst + (kk / Group + g) * panel * Group + c * Group, eight + g * Group, Group * sizeof(T));
                }
                for (std::size_t kk = k8; kk < k1; ++kk) dst[(kk / Group) * panel * Group + c * Group + kk % Group] = convert(0, row[kk]);
            }
        }
    }

    // pack_panel's loops for bf16 when a panel row is contiguous in src (row_stride
    // 1: V transposed): 8 columns of two consecutive k rounded together and stored as
    // their 8 pairs; the columns past the last 8 and an odd last k one at a time.
    __attribute__((target("avx2"))) void pack_pairs_across_avx2(T* dst, const float* src, std::size_t col_stride,
                                                                std::size_t cols) const {
        static_assert(std::is_same_v<T, std::uint16_t> && Group == 2);
        const std::size_t whole_cols = cols / 8 * 8;
        for (std::size_t kk = 0; kk < k_; kk += 2) {
            const float* even = src + kk * col_stride;
            const float* odd = kk + 1 < k_ ? even + col_stride : nullptr;
            T* pairs = dst + kk * panel;  // group kk / 2: [panel][2]
            std::size_t c = 0;
            if (odd)
                for (; c < whole_cols; c += 8) {
                    const __m256i lo = simd::to_bf16_lanes(_mm256_loadu_ps(even + c));
                    const __m256i hi = simd::to_bf16_lanes(_mm256_loadu_ps(odd + c));
                    _mm256_storeu_si256(reinterpret_cast<__m256i*>(pairs + 2 * c), _mm256_or_si256(lo, _mm256_slli_epi32(hi, 16)));
                }
            for (; c < cols; ++c) {
                pairs[2 * c] = float_to_bf16(even[c]);
                pairs[2 * c + 1] = odd ? float_to_bf16(odd[c]) : T(0);
            }
        }
    }
#endif

    // Zeros past k in the last group and in the columns past `cols`: they meet x's padding or are never stored.
    void pad(T* dst, std::size_t cols) const {
        for (std::size_t kk = k_; kk < groups() * Group; ++kk)
            for (std::size_t c = 0; c < cols; ++c) dst[(kk / Group) * panel * Group + c * Group + kk % Group] = T(0);
        for (std::size_t g = 0; g < groups(); ++g) std::fill(dst + (g * panel + cols) * Group, dst + (g + 1) * panel * Group, T(0));
    }

    std::size_t n_ = 0, k_ = 0, part_rows_ = 0, capacity_ = 0;
    std::size_t first_part_ = 0;                        // a view's first part in data_
    std::shared_ptr<T> data_{nullptr, free_deleter{}};  // shared: loaded weights are immutable
};

// `count` of w's stacked parts from part `first` on, as weights of their own that
// share w's packed values: their product is those parts' columns of w's.
template <class Weights>
Weights select_parts(const Weights& w, std::size_t first, std::size_t count) {
    Weights view = w;
    view.narrow_to_parts(first, count);
    return view;
}

// A tile kernel's share of the next weight block, to ask for into L2 over its k
// loop: a burst of requests would fill the miss buffers and stall the arithmetic.
struct prefetch_plan {
    const char* next = nullptr;
    std::size_t lines = 0, per_step = 0;  // 64-byte lines; per k step, so all are asked for within the loop

    std::size_t steps() const { return per_step ? (lines + per_step - 1) / per_step : 0; }
    void issue(std::size_t step) const {
        for (std::size_t l = step * per_step, end = std::min(lines, l + per_step); l < end; ++l)
            __builtin_prefetch(next + l * 64, 0, 2);  // prefetcht1 on x86: into L2
    }
};

namespace detail {
// rows x cols floats from p (row stride ld) into L1, for writing or reading.
template <bool Write>
inline void prefetch_rows(const float* p, std::size_t ld, std::size_t rows, std::size_t cols) {
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t l = 0; l < cols * sizeof(float) + 63; l += 64) {
            // GCC 12's dead-code pass at -O3 deletes a loop of nothing but prefetches
            // (they write nothing); the empty asm is an effect it must keep.
            asm volatile("");
            __builtin_prefetch(reinterpret_cast<const char*>(p + r * ld) + l, Write, 3);
        }
}
}  // namespace detail

// What the epilogue of the tile at (r0, c0) will touch, asked for into L1 before
// the tile's last k block so it arrives while the kernel runs: the epilogue's
// loads and stores stride across rows, which the hardware prefetcher does not
// follow. `out`: y when the kernel sums elsewhere (int8), so the epilogue is the
// first to write it, else null (int8 layoutlm_base/8x128: 186 against 216 ms).
inline void prefetch_epilogue(const gemm_epilogue& epilogue, const float* out, std::size_t ldy, std::size_t r0, std::size_t c0,
                              std::size_t rows, std::size_t cols) {
    if (out) detail::prefetch_rows<true>(out + r0 * ldy + c0, ldy, rows, cols);
    if (epilogue.residual)
        detail::prefetch_rows<false>(epilogue.residual + r0 * epilogue.ld_residual + c0, epilogue.ld_residual, rows, cols);
}

// c[rows, cols] (row stride ldc) (+)= a[rows, groups] (row stride lda) . b[groups][panel][G],
// for rows <= kernel.rows, cols <= panel. Without `accumulate` (the first k block)
// the float kernels start from `bias` (null: zero); int8 sums start from zero and
// take the bias in the trait's finish.
template <class Trait>
struct tile_kernel {
    using fn = void (*)(std::size_t rows, const typename Trait::a_type* a, std::size_t lda, const typename Trait::weight* b,
                        std::size_t groups, const float* bias, typename Trait::acc_type* c, std::size_t ldc, std::size_t cols,
                        bool accumulate, const prefetch_plan& prefetch);
    fn run;
    std::size_t rows;  // of x per tile
    const char* name;  // what `mmt --verbose` reports
};

namespace detail {
// f(integral_constant<rows>) for rows in 1..sizeof...(R): tile kernels are compiled
// per row count so their accumulators live in registers.
template <class F, std::size_t... R>
inline void with_rows(std::size_t rows, F&& f, std::index_sequence<R...>) {
    ((rows == R + 1 ? f(std::integral_constant<std::size_t, R + 1>{}) : void()), ...);
}

// The 16-float registers, 1 to 3, that `cols` (1 to 48) of a panel take: kernels
// compute no more of a narrow last panel than that.
inline std::size_t vecs16(std::size_t cols) { return (cols + 15) / 16; }

// f(integral_constant<vecs16(cols)>), for kernels compiled per register count.
template <class F>
inline void with_vecs16(std::size_t cols, F&& f) {
    const std::size_t vecs = vecs16(cols);
    if (vecs == 3) f(std::integral_constant<std::size_t, 3>{});
    else if (vecs == 2) f(std::integral_constant<std::size_t, 2>{});
    else f(std::integral_constant<std::size_t, 1>{});
}

// The (panel, row tile) pairs of a product in panel order, pair p * tiles + t
// weighing as many units of work as its panel has 16-column registers (a narrow
// last panel computes no more): threads split the units, and a pair belongs to
// the thread whose units hold its first.
template <class Weights>
struct weighted_pairs {
    weighted_pairs(const Weights& w, std::size_t tiles) : w(w), tiles(tiles) {
        for (std::size_t p = 0; p < w.panels(); ++p) units += vecs(p) * tiles;
    }
    std::size_t vecs(std::size_t p) const { return vecs16(w.panel_cols(p)); }
    // The first pair whose first unit is unit u or after it.
    std::size_t first_at(std::size_t u) const {
        for (std::size_t p = 0; p < w.panels(); ++p) {
            const std::size_t v = vecs(p);
            if (u < v * tiles) return p * tiles + (u + v - 1) / v;
            u -= v * tiles;
        }
        return w.panels() * tiles;
    }

    const Weights& w;
    std::size_t tiles, units = 0;
};
}  // namespace detail

// Float traits sum straight into y, a k block at a time.
struct sum_into_output {
    explicit sum_into_output(std::size_t) {}
    float* tile(float* y, std::size_t ldy, std::size_t r0, std::size_t c0, std::size_t& ldc) {
        ldc = ldy;
        return y + r0 * ldy + c0;
    }
};

// x's m rows already prepared (Trait::prepare), y: [m, n] with row stride ldy (must
// not alias x), bias: [n] or nullptr, `epilogue` on each finished tile of y. The
// tile kernel is the trait's for the active kernel_isa unless `other_kernel` names one
// (the tests run the AMX kernel on emulated tiles through here).
template <class Trait>
void run_gemm_prepared(const typename Trait::prepared& prep, std::size_t m, const typename Trait::weights& w, const float* bias, float* y,
                       std::size_t ldy, const gemm_epilogue& epilogue, const tile_kernel<Trait>* other_kernel = nullptr) {
    constexpr std::size_t panel = gemm::panel, group = Trait::group;
    const std::size_t n = w.rows(), k = w.cols(), groups = w.groups();
    epilogue.validate(n);
    if (m == 0 || n == 0) return;
    const kernel_isa isa = active_kernel();
    const tile_kernel<Trait> kernel = other_kernel ? *other_kernel : Trait::kernel(isa);
    const std::size_t tiles = (m + kernel.rows - 1) / kernel.rows, block_tiles = std::max<std::size_t>(1, gemm::row_block / kernel.rows);
    const std::size_t block = Trait::block_groups(tiles);
    const bool small = m * n * k < gemm::small_job;
    constexpr bool sums_in_y = std::is_same_v<typename Trait::accumulator, sum_into_output>;
    // Threads take runs of (panel, row tile) pairs in panel order: whole panels but
    // at a run's ends, each pair weighed by its panel's 16-column registers, so the
    // 11 panels of n = 512 (the last 32 columns wide) split 5.33 : 5.67.
    const detail::weighted_pairs pairs(w, tiles);
    parallel_for(pairs.units, small ? pairs.units : 1, [&](std::size_t w0, std::size_t w1) {
        const std::size_t u0 = pairs.first_at(w0), u1 = pairs.first_at(w1);  // this run's pairs
        if (u0 == u1) return;
        typename Trait::accumulator acc(m);
        const std::size_t p0 = u0 / tiles, p1 = (u1 - 1) / tiles + 1;
        for (std::size_t b0 = 0; b0 < tiles; b0 += block_tiles) {  // row blocks
            const std::size_t b1 = std::min(tiles, b0 + block_tiles);
            for (std::size_t p = p0; p < p1; ++p) {
                // This run's row tiles of panel p within the block.
                const std::size_t t0 = std::max(b0, p == p0 ? u0 % tiles : 0), t1 = std::min(b1, p + 1 == p1 ? (u1 - 1) % tiles + 1 : tiles);
                if (t0 >= t1) continue;
                const std::size_t c0 = w.panel_first(p), cols = w.panel_cols(p);
                for (std::size_t g0 = 0;; g0 += block) {  // k blocks: one block of a panel stays in L1 over the row block
                    const std::size_t depth = std::min(block, groups - g0);
                    const bool first = g0 == 0, last = g0 + depth >= groups;
                    const typename Trait::weight* b = w.panel_data(p) + g0 * panel * group;
                    // With few rows (batch 1) the weights stream from memory faster than
                    // the hardware prefetcher fetches them: each row tile asks for its share
                    // of the next block (the next depth, or the next panel's first) into L2,
                    // spread over its k loop, so it arrives while this block is in use
                    // (float32 op_linear_packed at 50 rows, weights not in cache: 1287 us
                    // without, 849 us with; the weights of a model never are in cache).
                    const std::size_t next_panel = p + 1 < p1 ? p + 1 : b1 < tiles ? p0 : p1;  // p1: none (the last row block's last panel)
                    const char* next = reinterpret_cast<const char*>(last ? (next_panel < p1 ? w.panel_data(next_panel) : nullptr)
                                                                          : b + depth * panel * group);
                    const std::size_t next_bytes =
                        std::min(block, last ? groups : groups - g0 - depth) * panel * group * sizeof(typename Trait::weight);
                    const std::size_t lines = next ? (next_bytes + 63) / 64 : 0, share = (lines + t1 - t0 - 1) / (t1 - t0);
                    for (std::size_t t = t0; t < t1; ++t) {
                        const std::size_t r0 = t * kernel.rows, rows = std::min(kernel.rows, m - r0);
                        const std::size_t first_line = std::min(lines, (t - t0) * share), my_lines = std::min(share, lines - first_line);
                        const prefetch_plan plan{next ? next + first_line * 64 : nullptr, my_lines,
                                                 depth ? (my_lines + depth - 1) / depth : 0};
                        std::size_t ldc = 0;
                        auto* c = acc.tile(y, ldy, r0, c0, ldc);
                        if (last) prefetch_epilogue(epilogue, sums_in_y ? nullptr : y, ldy, r0, c0, rows, cols);
                        kernel.run(rows, prep.a + r0 * prep.lda + g0, prep.lda, b, depth, first && bias ? bias + c0 : nullptr, c, ldc, cols,
                                   !first, plan);
                        // The tile is final after the last block: the epilogue runs while it is still in cache.
                        if (last)
                            Trait::finish(isa, rows, c, ldc, prep, r0, w, c0, cols, bias ? bias + c0 : nullptr, y + r0 * ldy + c0, ldy,
                                          epilogue);
                    }
                    if (last) break;
                }
            }
        }
    });
}

// x: [m, k] with row stride ldx, y: [m, n] with row stride ldy (must not alias x), bias: [n] or nullptr,
// `epilogue` on each finished tile of y.
template <class Trait>
void run_gemm(const float* x, std::size_t m, std::size_t ldx, const typename Trait::weights& w, const float* bias, float* y,
              std::size_t ldy, const gemm_epilogue& epilogue) {
    epilogue.validate(w.rows());
    if (m == 0 || w.rows() == 0) return;
    run_gemm_prepared<Trait>(Trait::prepare(x, m, ldx, w.cols(), active_kernel()), m, w, bias, y, ldy, epilogue);
}

}  // namespace mmt::ops
