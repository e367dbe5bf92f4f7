#include <doctest/doctest.h>

#include "mmt/core/batch.hpp"

using namespace mmt;

TEST_CASE("core.batch: rows of one length stack into [batch, seq_len]" * doctest::test_suite("unit")) {
    const int_tensor<2> t = stack_rows({{1, 2, 3}, {4, 5, 6}}, "input_ids");
    REQUIRE(t.shape(0) == 2);
    REQUIRE(t.shape(1) == 3);
    CHECK(t(1, 0) == 4);
    CHECK(t(0, 2) == 3);
}

TEST_CASE("core.batch: a ragged batch or an empty one is an input_error naming the row" * doctest::test_suite("unit")) {
    CHECK_THROWS_WITH_AS(stack_rows({{1, 2, 3}, {4, 5}}, "input_ids"),
                         doctest::Contains("input_ids: row 1 has 2 entries but row 0 has 3"), input_error);
    CHECK_THROWS_WITH_AS(stack_rows({}, "input_ids"), doctest::Contains("empty batch"), input_error);
}
