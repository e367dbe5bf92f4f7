// ops::embedding against a naive row gather, from a plain table and from one packed
// for a GEMM (a tied decoder's), and its check of every id.
#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mmt/ops/embedding.hpp"
#include "mmt/ops/packed_gemm.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

void check_embedding(std::size_t num_embeddings, std::size_t dim, const std::vector<std::int64_t>& ids, const std::string& what) {
    const tensor<2> table = test::random_tensor<2>({num_embeddings, dim}, std::uint32_t(num_embeddings * 131 + dim));
    test::naive::array expected = test::naive::zeros({ids.size(), dim});
    for (std::size_t i = 0; i < ids.size(); ++i)
        for (std::size_t e = 0; e < dim; ++e) expected(i, e) = table(std::size_t(ids[i]), e);
    test::check_op(
        [&] {
            tensor<2> out({ids.size(), dim});
            ops::embedding(ids.data(), ids.size(), table.data(), num_embeddings, dim, out.data(), "test table");
            return out;
        },
        expected, what);
    const ops::packed_weights packed(table.data(), num_embeddings, dim);
    test::check_op(
        [&] {
            tensor<2> out({ids.size(), dim});
            ops::embedding(ids.data(), ids.size(), packed, out.data(), "test table");
            return out;
        },
        expected, what + ", packed");
}

}  // namespace

TEST_CASE("ops.embedding: rows gathered by id" * doctest::test_suite("unit")) {
    check_embedding(1, 1, {0}, "table of 1 x 1");
    check_embedding(61, 37, {0, 60, 5, 5, 17, 0, 59}, "table of 61 x 37, repeated ids and both ends");
    std::vector<std::int64_t> many;
    for (std::int64_t i = 0; i < 61; ++i) many.push_back((i * 7) % 17);
    check_embedding(17, 16, many, "61 ids into a table of 17 x 16");
    check_embedding(101, 5, {0, 47, 48, 95, 96, 100}, "table of 101 x 5: both sides of each packed panel's edge");
}

TEST_CASE("ops.embedding: an id outside the table is an input_error with its position" * doctest::test_suite("unit")) {
    const tensor<2> table = test::random_tensor<2>({5, 3}, 1);
    tensor<2> out({4, 3});
    const std::vector<std::int64_t> too_large{0, 4, 2, 5};
    test::check_throws<input_error>(
        [&] { ops::embedding(too_large.data(), 4, table.data(), 5, 3, out.data(), "CLIP text model: input_ids"); },
        {"CLIP text model: input_ids", "id 5", "position 3", "5 rows"});
    const std::vector<std::int64_t> negative{0, -1, 2, 3};
    test::check_throws<input_error>(
        [&] { ops::embedding(negative.data(), 4, table.data(), 5, 3, out.data(), "token_type_ids"); },
        {"token_type_ids", "id -1", "position 1"});
    const ops::packed_weights packed(table.data(), 5, 3);
    test::check_throws<input_error>([&] { ops::embedding(too_large.data(), 4, packed, out.data(), "LayoutLM embeddings: input_ids"); },
                                    {"LayoutLM embeddings: input_ids", "id 5", "position 3", "5 rows"});
}
