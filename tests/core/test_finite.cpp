// core/finite.hpp: where a model's output stops being numbers.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "mmt/core/finite.hpp"
#include "support/throws.hpp"

using namespace mmt;

TEST_CASE("core.finite: the first NaN or infinity is named with its position, and finite values pass" * doctest::test_suite("unit")) {
    std::vector<float> values{0.5f, -3.0f, 1e38f};
    CHECK(!first_non_finite(values.data(), values.size()));
    check_finite(values, "embed: image_embeds");  // no throw
    values.push_back(std::numeric_limits<float>::quiet_NaN());
    values.push_back(std::numeric_limits<float>::infinity());
    CHECK(first_non_finite(values.data(), values.size()) == 3u);
    test::check_throws<numeric_error>([&] { check_finite(values, "embed: image_embeds"); },
                                      {"embed: image_embeds: value 3 of 5 is NaN", "expected finite numbers", "weights hold NaN"});
    struct scored {
        float score;
    };
    const std::vector<scored> results{{0.9f}, {-std::numeric_limits<float>::infinity()}};
    test::check_throws<numeric_error>([&] { check_finite_scores(results, "classify-image"); },
                                      {"classify-image: the score of result 1 of 2 is -inf"});
    check_finite_scores(std::vector<scored>{{0.1f}}, "classify-image");
}
