// The vectorised exp and activations against libm in double precision, over
// the whole range the models meet, tails and special values included, under
// every kernel family the CPU has.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "mmt/ops/vector_math.hpp"
#include "support/kernels.hpp"

using namespace mmt;

namespace {
std::vector<float> grid(float lo, float hi, std::size_t n) {
    std::vector<float> x(n);
    for (std::size_t i = 0; i < n; ++i) x[i] = lo + (hi - lo) * float(i) / float(n - 1);
    return x;
}
}  // namespace

TEST_CASE("ops.vector_math: exp within 2 ulp of libm over [-104, 88.7], a tail of 13" * doctest::test_suite("unit")) {
    test::for_each_kernel([&](kernel_isa isa) {
    INFO("kernel " << std::string(kernel_name(isa)));
    std::vector<float> x = grid(-104.0f, 88.7f, 200013);
    std::vector<float> y = x;
    ops::exp_affine_inplace(y.data(), y.size(), 1.0f, 0.0f);
    double worst = 0, worst_subnormal = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double ref = std::exp(double(x[i]));
        if (ref < double(std::numeric_limits<float>::min()))  // subnormal results: absolute, in units of the smallest one
            worst_subnormal = std::max(worst_subnormal, std::fabs(y[i] - ref) / double(std::numeric_limits<float>::denorm_min()));
        else
            worst = std::max(worst, std::fabs(y[i] - ref) / ref);
    }
    MESSAGE(std::string(kernel_name(isa)) << " exp: max relative error " << worst << ", subnormal results within " << worst_subnormal << " ulp");
    CHECK(worst < 2.5e-7);
    // p 2^n is rounded once (vscalefps; avx2's first factor is exact), so a
    // subnormal result is within one of its ulps.
    CHECK(worst_subnormal <= 1.0);
    std::vector<float> special{-1000.0f, -104.5f, 0.0f, 89.0f, 1000.0f};
    ops::exp_affine_inplace(special.data(), special.size(), 1.0f, 0.0f);
    CHECK(special[0] == 0.0f);
    CHECK(special[1] == 0.0f);
    CHECK(special[2] == 1.0f);
    CHECK(std::isinf(special[3]));
    CHECK(std::isinf(special[4]));
    });
}

TEST_CASE("ops.vector_math: e^(a x + b) rounds a x + b once, then exp within 2 ulp" * doctest::test_suite("unit")) {
    test::for_each_kernel([&](kernel_isa isa) {
    INFO("kernel " << std::string(kernel_name(isa)));
    // Softmax over attention scores: a = 1/sqrt(head_dim), b = -a max.
    const float a = 0.125f, b = -37.0f;
    const std::vector<float> x = grid(-400.0f, 900.0f, 100019);
    std::vector<float> y = x;
    ops::exp_affine_inplace(y.data(), y.size(), a, b);
    double worst = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double ref = std::exp(double(std::fma(a, x[i], b)));
        if (ref < double(std::numeric_limits<float>::min()) || ref > double(std::numeric_limits<float>::max())) continue;
        worst = std::max(worst, std::fabs(y[i] - ref) / ref);
    }
    MESSAGE(std::string(kernel_name(isa)) << " exp(a x + b): max relative error " << worst);
    CHECK(worst < 2.5e-7);
    });
}

TEST_CASE("ops.vector_math: GELU (erf) and sigmoid gates against libm" * doctest::test_suite("unit")) {
    test::for_each_kernel([&](kernel_isa isa) {
    INFO("kernel " << std::string(kernel_name(isa)));
    const std::vector<float> x = grid(-12.0f, 12.0f, 100003);
    std::vector<float> gelu = x, quick = x, silu = x;
    ops::gelu_inplace(gelu.data(), gelu.size());
    ops::sigmoid_gate_inplace(quick.data(), quick.size(), 1.702f);
    ops::sigmoid_gate_inplace(silu.data(), silu.size(), 1.0f);
    double worst_gelu = 0, worst_quick = 0, worst_silu = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double v = x[i];
        worst_gelu = std::max(worst_gelu, std::fabs(gelu[i] - 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))));
        worst_quick = std::max(worst_quick, std::fabs(quick[i] - v / (1 + std::exp(-1.702 * v))));
        worst_silu = std::max(worst_silu, std::fabs(silu[i] - v / (1 + std::exp(-v))));
    }
    MESSAGE(std::string(kernel_name(isa)) << " gelu " << worst_gelu << ", quick_gelu " << worst_quick << ", silu " << worst_silu << " max abs error");
    CHECK(worst_gelu < 2e-6);
    CHECK(worst_quick < 2e-6);
    CHECK(worst_silu < 2e-6);
    // Far tails, where erf is +-1 in float.
    std::vector<float> tails{std::numeric_limits<float>::infinity(), 1e30f, -1e30f, 30.0f, -30.0f};
    ops::gelu_inplace(tails.data(), tails.size());
    CHECK(std::isinf(tails[0]));
    CHECK(tails[1] == 1e30f);
    CHECK(tails[2] == 0.0f);
    CHECK(tails[3] == 30.0f);
    CHECK(tails[4] == 0.0f);
    // The gates' tails, where e^{-a x} over- or underflows, as x * sigmoid(a x) gives them in float.
    const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> gate{inf, -inf, 1e30f, -1e30f, 100.0f, -100.0f, -60.0f, nan};
    ops::sigmoid_gate_inplace(gate.data(), gate.size(), 1.702f);
    CHECK(std::isinf(gate[0]));
    CHECK(std::isnan(gate[1]));  // -inf * 0
    CHECK(gate[2] == 1e30f);
    CHECK(gate[3] == 0.0f);
    CHECK(gate[4] == 100.0f);
    CHECK(gate[5] == 0.0f);
    CHECK(std::fabs(gate[6]) < 1e-40f);  // -60 e^{-102}: subnormal or 0
    CHECK(std::isnan(gate[7]));
    std::vector<float> gelu_nan{nan, -nan};
    ops::gelu_inplace(gelu_nan.data(), gelu_nan.size());
    CHECK(std::isnan(gelu_nan[0]));
    CHECK(std::isnan(gelu_nan[1]));
    });
}
