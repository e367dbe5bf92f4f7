// ops activations against naive double-precision formulas of HF's ACT2FN, and
// parse_activation's names and errors.
#include <doctest/doctest.h>

#include <cstddef>
#include <string>
#include <vector>

#include "mmt/ops/activations.hpp"
#include "support/naive.hpp"
#include "support/random.hpp"
#include "support/threads.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

const std::vector<std::pair<ops::activation, std::string>> all_activations{
    {ops::activation::gelu, "gelu"},   {ops::activation::gelu_new, "gelu_new"}, {ops::activation::quick_gelu, "quick_gelu"},
    {ops::activation::relu, "relu"},   {ops::activation::silu, "silu"},         {ops::activation::tanh, "tanh"}};

void check_activation(ops::activation act, const std::string& name, std::size_t n) {
    tensor<1> x = test::random_tensor<1>({n}, std::uint32_t(n), -6.0f, 6.0f);
    const float specials[] = {0.0f, -0.0f, 1.0f, -1.0f, 3.0f, -3.0f, 10.0f, -10.0f};
    for (std::size_t i = 0; i < n && i < std::size(specials); ++i) x(i) = specials[i];
    test::naive::array expected = test::naive::to_double(x);
    for (auto& v : expected) v = test::naive::activate(act, v);
    test::check_op(
        [&] {
            tensor<1> y = x;
            ops::apply_activation(act, y.data(), n);
            return y;
        },
        expected, name + " on " + std::to_string(n) + " values");
}

}  // namespace

TEST_CASE("ops.activations: every activation against its formula" * doctest::test_suite("unit")) {
    for (const auto& [act, name] : all_activations)
        for (std::size_t n : {1u, 37u, 61u}) check_activation(act, name, n);
}

TEST_CASE("ops.activations: long enough to split between threads" * doctest::test_suite("unit")) {
    for (const auto& [act, name] : all_activations) check_activation(act, name, 40001);
}

TEST_CASE("ops.activations: gelu is the exact erf form, gelu_new the tanh one" * doctest::test_suite("unit")) {
    // At x = 1 the two differ by ~1.6e-4, far above float rounding: a swap would show.
    CHECK(ops::activate(ops::activation::gelu, 1.0f) == doctest::Approx(0.8413447460685429).epsilon(1e-6));
    CHECK(ops::activate(ops::activation::gelu_new, 1.0f) == doctest::Approx(0.8411919906082768).epsilon(1e-6));
    CHECK(ops::activate(ops::activation::quick_gelu, 1.0f) == doctest::Approx(0.8457957659).epsilon(1e-6));
}

TEST_CASE("ops.activations: parse_activation knows HF's names and aliases" * doctest::test_suite("unit")) {
    for (const auto& [act, name] : all_activations) CHECK(ops::parse_activation(name, "hidden_act") == act);
    CHECK(ops::parse_activation("gelu_pytorch_tanh", "hidden_act") == ops::activation::gelu_new);
    CHECK(ops::parse_activation("gelu_fast", "hidden_act") == ops::activation::gelu_new);
    CHECK(ops::parse_activation("swish", "hidden_act") == ops::activation::silu);
}

TEST_CASE("ops.activations: an unknown activation is a config_error naming the key" * doctest::test_suite("unit")) {
    test::check_throws<config_error>([] { ops::parse_activation("gelu_fancy", "config.json: text_config.hidden_act"); },
                                     {"config.json: text_config.hidden_act", "\"gelu_fancy\"", "quick_gelu"});
    test::check_throws<config_error>([] { ops::parse_activation("GELU", "feat_extract_activation"); },
                                     {"feat_extract_activation", "\"GELU\""});
}
