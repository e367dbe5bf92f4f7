// ops::weight_norm against a naive double-precision torch.nn.utils.weight_norm.
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "mmt/ops/weight_norm.hpp"
#include "support/check_close.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/throws.hpp"
#include "support/tolerances.hpp"

using namespace mmt;

namespace {

// v: [d0, d1, d2]; the norm over the two dimensions other than `dim`.
test::naive::array naive_weight_norm(const test::naive::array& v, const test::naive::array& g, std::size_t dim) {
    auto w = test::naive::zeros({v.shape(0), v.shape(1), v.shape(2)});
    for (std::size_t k = 0; k < v.shape(dim); ++k) {
        double sq = 0;
        for (std::size_t a = 0; a < v.shape(0); ++a)
            for (std::size_t b = 0; b < v.shape(1); ++b)
                for (std::size_t c = 0; c < v.shape(2); ++c) {
                    const std::size_t idx[3] = {a, b, c};
                    if (idx[dim] == k) sq += v(a, b, c) * v(a, b, c);
                }
        for (std::size_t a = 0; a < v.shape(0); ++a)
            for (std::size_t b = 0; b < v.shape(1); ++b)
                for (std::size_t c = 0; c < v.shape(2); ++c) {
                    const std::size_t idx[3] = {a, b, c};
                    if (idx[dim] == k) w(a, b, c) = g(k) * v(a, b, c) / std::sqrt(sq);
                }
    }
    return w;
}

void check_weight_norm(std::size_t d0, std::size_t d1, std::size_t d2, std::size_t dim, const std::string& what) {
    const auto seed = std::uint32_t(d0 * 101 + d1 * 11 + d2 + dim);
    const tensor<3> v = test::random_tensor<3>({d0, d1, d2}, seed);
    const std::size_t n = v.shape(dim);
    const tensor<1> g = test::random_tensor<1>({n}, seed + 1, 0.5f, 2.0f);
    tensor<3> w(v.shape());
    ops::weight_norm(v.data(), g.data(), {d0, d1, d2}, dim, w.data());
    test::check_close(w, naive_weight_norm(test::naive::to_double(v), test::naive::to_double(g), dim), test::tol::op_abs, what);
    tensor<3> in_place = v;
    ops::weight_norm(in_place.data(), g.data(), {d0, d1, d2}, dim, in_place.data());
    test::check_close(in_place, w, 0.0, what + ", in place");
}

}  // namespace

TEST_CASE("ops.weight_norm: over dim 2 of a Conv1d weight, as wav2vec2's positional conv" * doctest::test_suite("unit")) {
    check_weight_norm(32, 8, 16, 2, "[32, 8, 16], dim 2");
    check_weight_norm(1, 1, 1, 2, "[1, 1, 1]: w = g * sign(v)");
    check_weight_norm(37, 3, 5, 2, "[37, 3, 5], dim 2");
}

TEST_CASE("ops.weight_norm: dims 0 and 1" * doctest::test_suite("unit")) {
    check_weight_norm(7, 5, 3, 0, "[7, 5, 3], dim 0 (torch's default)");
    check_weight_norm(7, 5, 3, 1, "[7, 5, 3], dim 1");
}

TEST_CASE("ops.weight_norm: a dim outside the weight" * doctest::test_suite("unit")) {
    const std::vector<float> v(6, 1.0f), g(3, 1.0f);
    std::vector<float> w(6);
    test::check_throws<shape_error>([&] { ops::weight_norm(v.data(), g.data(), {2, 3}, 2, w.data()); },
                                    {"weight_norm: dim 2 is outside a weight of rank 2"});
}
