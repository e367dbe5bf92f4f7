// nn.Embedding: rows of a table gathered by id, with every id checked.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/huge_pages.hpp"
#include "mmt/core/load_options.hpp"
#include "mmt/core/row_reader.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/ops/packed_gemm.hpp"
#include "mmt/ops/packed_gemm_int8.hpp"

namespace mmt::ops {

namespace detail {
// ids[i] as a row of a table of num_embeddings rows, or an input_error naming `what` and i.
inline std::size_t checked_row(const std::int64_t* ids, std::size_t i, std::size_t num_embeddings, const std::string& what) {
    if (ids[i] < 0 || std::uint64_t(ids[i]) >= num_embeddings)
        fail<input_error>(what, ": id ", ids[i], " at flat position ", i, " is outside the table of ", num_embeddings,
                          " rows (expected 0..", num_embeddings - 1, ")");
    return std::size_t(ids[i]);
}
}  // namespace detail

// ids: [n], table: [num_embeddings, dim], out: [n, dim]. `what` names the table in errors.
inline void embedding(const std::int64_t* ids, std::size_t n, const float* table, std::size_t num_embeddings, std::size_t dim,
                      float* out, const std::string& what) {
    for (std::size_t i = 0; i < n; ++i)
        std::memcpy(out + i * dim, table + detail::checked_row(ids, i, num_embeddings, what) * dim, dim * sizeof(float));
}

// The same from a table packed for a GEMM ([num_embeddings, dim], a decoder tied to
// it), its rows read back from the panels. out: [n, dim].
inline void embedding(const std::int64_t* ids, std::size_t n, const packed_weights& table, float* out, const std::string& what) {
    for (std::size_t i = 0; i < n; ++i) table.row(detail::checked_row(ids, i, table.rows(), what), out + i * table.cols());
}

// A vocabulary's table ([num_embeddings, dim]) as a model holds it: float32, or
// under int8 loads int8 rows with one scale each, quantised as the linear layers'
// weights are (quantise_int8_rows; a lookup gives level * scale). It is a
// fifth of a text tower's weights (CLIP's 49408 x 512: 101 MB), so left in float32
// it would be a third of an int8 model's file and memory. bf16 loads keep it float32.
class embedding_table {
public:
    embedding_table() = default;

    // table: W [rows, dim] float32, read a block of rows at a time on all threads;
    // with `level_scales` ([rows], int8 only) int8 levels already quantised, as
    // io::packed_source gives them.
    embedding_table(const row_reader& table, std::size_t rows, std::size_t dim, mmt::precision precision,
                    const float* level_scales = nullptr)
        : rows_(rows), dim_(dim) {
        const bool int8 = precision == mmt::precision::int8;
        if (level_scales && !int8) fail<error>("embedding table: int8 levels cannot be held as ", precision_name(precision));
        if (!int8) {
            float* values = allocate<float>();  // not zeroed: every row is read into it
            values_.reset(values, free_deleter{});
            parallel_for(rows, block, [&](std::size_t r0, std::size_t r1) { table(r0, r1 - r0, values + r0 * dim); });
            return;
        }
        std::int8_t* levels = allocate<std::int8_t>();
        levels_.reset(levels, free_deleter{});
        scales_.resize(rows);
        if (level_scales) std::copy(level_scales, level_scales + rows, scales_.begin());
        parallel_for(rows, block, [&](std::size_t r0, std::size_t r1) {
            std::vector<float> values(block * dim);  // in L2 between the read and the quantising
            for (std::size_t first = r0; first < r1; first += block) {
                const std::size_t count = std::min(block, r1 - first);
                table(first, count, values.data());
                if (!level_scales) quantise_int8_rows(values.data(), count, dim, scales_.data() + first);
                std::transform(values.data(), values.data() + count * dim, levels + first * dim,
                               [](float level) { return static_cast<std::int8_t>(level); });
            }
        });
    }

    std::size_t rows() const { return rows_; }
    std::size_t dim() const { return dim_; }
    mmt::precision precision() const { return levels_ ? mmt::precision::int8 : mmt::precision::f32; }

    // Row r into out[dim].
    void row(std::size_t r, float* out) const {
        if (values_) {
            std::memcpy(out, values_.get() + r * dim_, dim_ * sizeof(float));
            return;
        }
        const std::int8_t* levels = levels_.get() + r * dim_;
        for (std::size_t i = 0; i < dim_; ++i) out[i] = float(levels[i]) * scales_[r];
    }

    // ids: [n] -> out: [n, dim]. `what` names the table in errors.
    void lookup(const std::int64_t* ids, std::size_t n, float* out, const std::string& what) const {
        for (std::size_t i = 0; i < n; ++i) row(detail::checked_row(ids, i, rows_, what), out + i * dim_);
    }

private:
    static constexpr std::size_t block = 64;  // rows read at a time

    // The table's rows_ x dim_ values of T.
    template <class T>
    T* allocate() const {
        T* p = allocate_large_array<T>(rows_ * dim_);
        if (!p) fail<error>("embedding table: cannot allocate ", rows_ * dim_, " values of ", sizeof(T), " bytes for ", rows_, " x ", dim_);
        return p;
    }

    std::size_t rows_ = 0, dim_ = 0;
    std::shared_ptr<const float[]> values_;        // [rows, dim] float32, or null; shared: immutable once loaded
    std::shared_ptr<const std::int8_t[]> levels_;  // [rows, dim] int8, or null
    std::vector<float> scales_;                  // [rows] with levels_
};

}  // namespace mmt::ops
