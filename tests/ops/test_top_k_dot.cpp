// ops/top_k_dot.hpp: dot_rows against the naive product under every kernel family,
// and the ranking of top_k_rows (ties by position, NaN never ranks). The whole
// search is checked against a brute-force ranking in tests/pipelines/test_embedding_index.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "mmt/ops/top_k_dot.hpp"
#include "support/kernels.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"

using namespace mmt;

TEST_CASE("ops.dot_rows: a b^T for awkward row counts and widths, every kernel" * doctest::test_suite("unit")) {
    // Widths around the 8- and 16-float steps; row counts around the 8-row tile.
    for (const std::size_t k : {std::size_t(1), std::size_t(17), std::size_t(37)})
        for (const std::size_t rows : {std::size_t(1), std::size_t(9), std::size_t(20)}) {
            const tensor<2> a = test::random_tensor<2>({rows, k}, std::uint32_t(rows * 100 + k));
            const tensor<2> b = test::random_tensor<2>({3, k}, std::uint32_t(k));
            const auto expected = test::naive::linear(test::naive::to_double(a), test::naive::to_double(b), {});
            test::for_each_kernel([&](kernel_isa isa) {
                test::check_op(
                    [&] {
                        tensor<2> c({rows, 3});
                        ops::dot_rows(a.data(), rows, b.data(), 3, k, c.data());
                        return c;
                    },
                    expected, std::to_string(rows) + " x " + std::to_string(k) + " (" + kernel_name(isa) + ")");
            });
        }
}

TEST_CASE("ops.top_k_rows: the best k, equal scores by position, NaN left out" * doctest::test_suite("unit")) {
    ops::top_k_rows best(3);
    for (const ops::scored_row s : std::vector<ops::scored_row>{{0.5f, 4}, {std::nanf(""), 0}, {0.9f, 7}, {0.5f, 2}, {0.1f, 1}, {0.5f, 3}})
        best.push(s);
    ops::top_k_rows more(3);
    more.push({0.5f, 1});
    best.merge(more);
    const auto sorted = best.sorted();
    REQUIRE(sorted.size() == 3);
    CHECK(sorted[0].row == 7);
    CHECK(sorted[1].row == 1);
    CHECK(sorted[2].row == 2);

    ops::top_k_rows none(0);
    none.push({1.0f, 0});
    CHECK(none.sorted().empty());
}
