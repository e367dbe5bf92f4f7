// Exact top-k by dot product: for each query, the k rows of a large row-major
// matrix (stored embeddings, possibly in several memory-mapped blocks) with the
// largest dot product, in one pass over the rows. Rows and queries are unit
// vectors in search, so the dot product is the cosine similarity.
//
// Scores come a tile of rows at a time from one of two GEMMs c = a b^T, both of
// which read the rows a as they lie in memory. From `few_queries` queries on, the
// packed GEMM (gemm_driver.hpp) with the queries packed as its weights: it
// broadcasts each element of a row and vectorises over the queries. With fewer it
// leaves most lanes idle (one query uses one of 16 and ran 2.8 times the time to
// stream a million 512-d rows, 120 ms against 43 ms at 48 GB/s on 2 threads of an
// AMD EPYC), so dot_rows vectorises along the rows instead, 8 rows per query at a
// time with a horizontal sum per dot product: one query took 1.37 times the
// streaming time there (mmt_bench search_index).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

#include "mmt/core/cpu.hpp"
#include "mmt/core/kernel.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/gemm_driver.hpp"
#include "mmt/ops/packed_gemm.hpp"
#include "mmt/ops/simd.hpp"

namespace mmt::ops {

namespace detail {

// a . b over k floats, 16 partial sums.
inline float dot_portable(const float* a, const float* b, std::size_t k) {
    float lanes[16] = {};
    std::size_t kk = 0;
    for (; kk + 16 <= k; kk += 16)
        for (std::size_t l = 0; l < 16; ++l) lanes[l] += a[kk + l] * b[kk + l];
    for (; kk < k; ++kk) lanes[kk % 16] += a[kk] * b[kk];
    float sum = 0;
    for (float lane : lanes) sum += lane;
    return sum;
}

MMT_INTRINSICS_BEGIN

#if defined(__x86_64__)
// c[r * ldc] = a_r . b for R rows of a, each k floats: R independent FMA chains
// (8 cover the FMA latency), one load of b for R rows.
template <std::size_t R>
__attribute__((target("avx512f"))) inline void dot_tile_avx512(const float* a, const float* b, std::size_t k, float* c, std::size_t ldc) {
    __m512 acc[R];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; ++r) acc[r] = _mm512_setzero_ps();
    for (std::size_t kk = 0; kk < k; kk += 16) {
        const __mmask16 mask = simd::mask16(k - kk);
        const __m512 bv = _mm512_maskz_loadu_ps(mask, b + kk);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < R; ++r) acc[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + r * k + kk), bv, acc[r]);
    }
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; ++r) c[r * ldc] = _mm512_reduce_add_ps(acc[r]);
}

template <std::size_t R>
__attribute__((target("avx2,fma"))) inline void dot_tile_avx2(const float* a, const float* b, std::size_t k, float* c, std::size_t ldc) {
    __m256 acc[R];
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; ++r) acc[r] = _mm256_setzero_ps();
    std::size_t kk = 0;
    for (; kk + 8 <= k; kk += 8) {
        const __m256 bv = _mm256_loadu_ps(b + kk);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < R; ++r) acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(a + r * k + kk), bv, acc[r]);
    }
    if (kk < k) {
        const __m256i mask = simd::mask8(k - kk);
        const __m256 bv = _mm256_maskload_ps(b + kk, mask);
#pragma GCC unroll 8
        for (std::size_t r = 0; r < R; ++r) acc[r] = _mm256_fmadd_ps(_mm256_maskload_ps(a + r * k + kk, mask), bv, acc[r]);
    }
#pragma GCC unroll 8
    for (std::size_t r = 0; r < R; ++r) {
        const __m128 half = _mm_add_ps(_mm256_castps256_ps128(acc[r]), _mm256_extractf128_ps(acc[r], 1));
        const __m128 quarter = _mm_add_ps(half, _mm_movehl_ps(half, half));
        c[r * ldc] = _mm_cvtss_f32(_mm_add_ss(quarter, _mm_movehdup_ps(quarter)));
    }
}
#endif

MMT_INTRINSICS_END

// Rows of a per tile.
inline constexpr std::size_t dot_tile_rows = 8;

// c[r * ldc] = a_r . b for the `rows` (<= dot_tile_rows) rows of a tile.
inline void dot_tile(std::size_t rows, const float* a, const float* b, std::size_t k, float* c, std::size_t ldc) {
#if defined(__x86_64__)
    const kernel_isa isa = active_kernel();
    if (isa != kernel_isa::portable)
        return with_rows(
            rows,
            [&](auto r) {
                constexpr std::size_t R = decltype(r)::value;
                if (isa >= kernel_isa::avx512) dot_tile_avx512<R>(a, b, k, c, ldc);
                else dot_tile_avx2<R>(a, b, k, c, ldc);
            },
            std::make_index_sequence<dot_tile_rows>{});
#endif
    for (std::size_t r = 0; r < rows; ++r) c[r * ldc] = dot_portable(a + r * k, b, k);
}

}  // namespace detail

// c[rows, n] = a[rows, k] b[n, k]^T for a few rows of b: a and b row-major, c with row
// stride n; on the calling thread, with the active kernel_isa. Each tile of a is read
// from memory once and from L1 for every further row of b.
inline void dot_rows(const float* a, std::size_t rows, const float* b, std::size_t n, std::size_t k, float* c) {
    for (std::size_t r0 = 0; r0 < rows; r0 += detail::dot_tile_rows)
        for (std::size_t j = 0; j < n; ++j)
            detail::dot_tile(std::min(detail::dot_tile_rows, rows - r0), a + r0 * k, b + j * k, k, c + r0 * n + j, n);
}

// A row's score and its position among all the rows searched.
struct scored_row {
    float score = 0;
    std::size_t row = 0;
};

// The ranking: the higher score first, and of equal scores the lower position, so
// the order is total and results do not depend on how the rows were split.
inline bool ranks_before(const scored_row& a, const scored_row& b) {
    return a.score > b.score || (a.score == b.score && a.row < b.row);
}

// The k best rows pushed so far: a heap whose front is the worst of them. A NaN
// score (a row or query of NaNs) never ranks.
class top_k_rows {
public:
    explicit top_k_rows(std::size_t k) : k_(k) {}

    void push(const scored_row& s) {
        if (std::isnan(s.score) || k_ == 0) return;
        if (heap_.size() < k_) {
            heap_.push_back(s);
            std::push_heap(heap_.begin(), heap_.end(), ranks_before);
        } else if (ranks_before(s, heap_.front())) {
            std::pop_heap(heap_.begin(), heap_.end(), ranks_before);
            heap_.back() = s;
            std::push_heap(heap_.begin(), heap_.end(), ranks_before);
        }
    }
    void merge(const top_k_rows& other) {
        for (const auto& s : other.heap_) push(s);
    }
    // Best first.
    std::vector<scored_row> sorted() const {
        std::vector<scored_row> out = heap_;
        std::sort(out.begin(), out.end(), ranks_before);
        return out;
    }

private:
    std::size_t k_;
    std::vector<scored_row> heap_;
};

// Rows [rows, dim], row-major: one shard of an index, or all of an in-memory matrix.
struct row_block {
    const float* data = nullptr;
    std::size_t rows = 0;
};

// From this many queries on, a tile's scores come from the packed GEMM.
inline constexpr std::size_t few_queries = 4;

// For each query (queries: [n_queries, dim] row-major) the k rows with the largest
// dot product, best first, positions numbered through the blocks in order. One pass
// over the rows: threads take contiguous runs of 256 KiB tiles (each stays in L2
// while every query is scored against it), keep their own top k, and merge them.
// A tile's scores do not depend on the thread count, nor, by ranks_before, do the results.
inline std::vector<std::vector<scored_row>> top_k_dot(const float* queries, std::size_t n_queries, std::size_t dim,
                                                      const std::vector<row_block>& blocks, std::size_t k) {
    struct tile {
        const float* data;
        std::size_t rows, first;
    };
    const std::size_t tile_rows = std::max<std::size_t>(16, (std::size_t(256) << 10) / (std::max<std::size_t>(dim, 1) * sizeof(float)));
    std::vector<tile> tiles;
    std::size_t first = 0;
    for (const row_block& b : blocks) {
        for (std::size_t r0 = 0; r0 < b.rows; r0 += tile_rows) tiles.push_back({b.data + r0 * dim, std::min(tile_rows, b.rows - r0), first + r0});
        first += b.rows;
    }
    const packed_weights packed = n_queries < few_queries ? packed_weights() : packed_weights(queries, n_queries, dim);
    std::vector<top_k_rows> best(n_queries, top_k_rows(k));
    std::mutex merging;
    const std::size_t grain = std::max<std::size_t>(1, gemm::small_job / std::max<std::size_t>(1, tile_rows * n_queries * dim));
    parallel_for(tiles.size(), grain, [&](std::size_t t0, std::size_t t1) {
        std::vector<top_k_rows> mine(n_queries, top_k_rows(k));
        std::vector<float> scores(tile_rows * n_queries);  // [tile_rows, n_queries]
        for (std::size_t t = t0; t < t1; ++t) {
            if (n_queries < few_queries) dot_rows(tiles[t].data, tiles[t].rows, queries, n_queries, dim, scores.data());
            else gemm_packed(tiles[t].data, tiles[t].rows, packed, nullptr, scores.data());
            for (std::size_t r = 0; r < tiles[t].rows; ++r)
                for (std::size_t q = 0; q < n_queries; ++q) mine[q].push({scores[r * n_queries + q], tiles[t].first + r});
        }
        const std::lock_guard<std::mutex> lock(merging);
        for (std::size_t q = 0; q < n_queries; ++q) best[q].merge(mine[q]);
    });
    std::vector<std::vector<scored_row>> out;
    for (const auto& b : best) out.push_back(b.sorted());
    return out;
}

}  // namespace mmt::ops
