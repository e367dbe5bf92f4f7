#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <thread>
#include <vector>

#include "mmt/ops/gumbel.hpp"
#include "support/tolerances.hpp"

namespace {

// 7 classes (not a SIMD multiple), probabilities from 0.02 to 0.4.
const std::vector<float> class_logits = {1.0f, 0.5f, -0.3f, 2.0f, 0.0f, -1.2f, 0.7f};

mmt::tensor<2> repeated_logits(std::size_t rows) {
    mmt::tensor<2> logits = mmt::tensor<2>::from_shape({rows, class_logits.size()});
    for (std::size_t r = 0; r < rows; ++r)
        for (std::size_t c = 0; c < class_logits.size(); ++c) logits(r, c) = class_logits[c];
    return logits;
}

std::vector<double> softmax(const std::vector<double>& x) {
    double peak = x[0];
    for (double v : x) peak = std::max(peak, v);
    std::vector<double> p(x.size());
    double sum = 0;
    for (std::size_t i = 0; i < x.size(); ++i) sum += p[i] = std::exp(x[i] - peak);
    for (double& v : p) v /= sum;
    return p;
}

std::size_t argmax(const float* row, std::size_t n) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < n; ++i)
        if (row[i] > row[best]) best = i;
    return best;
}

}  // namespace

TEST_CASE("ops.gumbel_softmax: hard sample frequencies follow softmax(logits)" * doctest::test_suite("unit")) {
    // Gumbel-max: argmax(logits + g) is exactly Categorical(softmax(logits)), so the
    // count of class k over N rows is Binomial(N, p_k). A 5-sigma band fails a correct
    // sampler with probability 5.7e-7 per class (normal approximation, N p_k >= 4000
    // here), while a bias of 0.01 in any p_k moves the count by 2000 > 5 sigma <= 1120.
    const std::size_t rows = 200000;
    std::mt19937_64 rng(20240611);
    auto hard = mmt::ops::gumbel_softmax(repeated_logits(rows), 1.0f, true, rng);
    std::vector<double> counts(class_logits.size(), 0);
    for (std::size_t r = 0; r < rows; ++r) counts[argmax(&hard(r, 0), class_logits.size())] += 1;
    auto p = softmax(std::vector<double>(class_logits.begin(), class_logits.end()));
    double worst_sigmas = 0;
    for (std::size_t k = 0; k < p.size(); ++k) {
        double sigma = std::sqrt(rows * p[k] * (1 - p[k]));
        double deviation = std::fabs(counts[k] - rows * p[k]) / sigma;
        worst_sigmas = std::max(worst_sigmas, deviation);
        INFO("class ", k, ": count ", counts[k], ", expected ", rows * p[k], " +- ", sigma);
        CHECK(deviation <= 5.0);
    }
    MESSAGE("gumbel argmax frequencies over " << rows << " draws: worst deviation " << worst_sigmas << " sigma");
}

TEST_CASE("ops.gumbel_softmax: soft sample is softmax((logits + g) / tau) of the seeded noise" *
          doctest::test_suite("unit")) {
    for (float tau : {0.5f, 1.0f, 2.0f}) {
        std::mt19937_64 rng(7), noise(7);
        auto y = mmt::ops::gumbel_softmax(repeated_logits(37), tau, false, rng);
        double worst = 0;
        for (std::size_t r = 0; r < 37; ++r) {
            std::vector<double> z(class_logits.size());
            for (std::size_t c = 0; c < z.size(); ++c)
                z[c] = (static_cast<double>(class_logits[c]) + mmt::ops::sample_gumbel(noise)) / tau;
            auto expected = softmax(z);
            double sum = 0;
            for (std::size_t c = 0; c < z.size(); ++c) {
                worst = std::max(worst, std::fabs(y(r, c) - expected[c]));
                CHECK(y(r, c) >= 0.0f);
                sum += y(r, c);
            }
            CHECK(sum == doctest::Approx(1.0).epsilon(1e-6));
        }
        INFO("tau ", tau);
        CHECK(worst <= mmt::test::tol::op_abs);
    }
}

TEST_CASE("ops.gumbel_softmax: a small tau approaches the one-hot of the argmax" * doctest::test_suite("unit")) {
    // With the perturbed logits' top two a gap d apart, the soft maximum is at least
    // 1 - (classes - 1) * exp(-d / tau); rows with d > 20 tau must be one-hot to 1e-6.
    const float tau = 1e-3f;
    const std::size_t rows = 1000, classes = class_logits.size();
    std::mt19937_64 rng(99), noise(99), hard_rng(99);
    auto soft = mmt::ops::gumbel_softmax(repeated_logits(rows), tau, false, rng);
    auto hard = mmt::ops::gumbel_softmax(repeated_logits(rows), tau, true, hard_rng);
    std::size_t checked = 0;
    for (std::size_t r = 0; r < rows; ++r) {
        std::vector<float> z(classes);
        for (std::size_t c = 0; c < classes; ++c) z[c] = class_logits[c] + mmt::ops::sample_gumbel(noise);
        std::size_t best = argmax(z.data(), classes);
        CHECK(argmax(&soft(r, 0), classes) == best);
        CHECK(hard(r, best) == 1.0f);
        float second = -std::numeric_limits<float>::infinity();
        for (std::size_t c = 0; c < classes; ++c)
            if (c != best) second = std::max(second, z[c]);
        if (z[best] - second > 20 * tau) {
            ++checked;
            CHECK(soft(r, best) >= 1.0f - 1e-6f);
        }
    }
    MESSAGE("tau 1e-3: " << checked << " / " << rows << " rows with a gap > 20 tau are one-hot to 1e-6");
    CHECK(checked >= rows * 95 / 100);
}

TEST_CASE("ops.gumbel_softmax: hard is exactly one-hot" * doctest::test_suite("unit")) {
    std::mt19937_64 rng(3);
    auto hard = mmt::ops::gumbel_softmax(repeated_logits(500), 0.7f, true, rng);
    for (std::size_t r = 0; r < 500; ++r) {
        std::size_t ones = 0, zeros = 0;
        for (std::size_t c = 0; c < class_logits.size(); ++c) {
            ones += hard(r, c) == 1.0f;
            zeros += hard(r, c) == 0.0f;
        }
        CHECK(ones == 1);
        CHECK(zeros == class_logits.size() - 1);
    }
    // One class only: always that class, soft or hard.
    mmt::tensor<2> single = {{3.0f}, {-2.0f}};
    CHECK(mmt::ops::gumbel_softmax(single, 1.0f, false, rng) == mmt::tensor<2>{{1.0f}, {1.0f}});
}

TEST_CASE("ops.gumbel_softmax: a seed reproduces the draws, per thread, without shared state" *
          doctest::test_suite("unit")) {
    auto logits = repeated_logits(64);
    std::mt19937_64 a(42), b(42), c(43);
    auto first = mmt::ops::gumbel_softmax(logits, 1.0f, false, a);
    CHECK(mmt::ops::gumbel_softmax(logits, 1.0f, false, b) == first);
    CHECK(mmt::ops::gumbel_softmax(logits, 1.0f, false, c) != first);
    CHECK(mmt::ops::gumbel_softmax(logits, 1.0f, false, a) != first);  // the generator advanced

    std::vector<mmt::tensor<2>> results(4);
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < results.size(); ++t)
        threads.emplace_back([&, t] {
            std::mt19937_64 rng(42);
            results[t] = mmt::ops::gumbel_softmax(logits, 1.0f, false, rng);
        });
    for (auto& thread : threads) thread.join();
    for (const auto& r : results) CHECK(r == first);
}

TEST_CASE("ops.gumbel_softmax: invalid temperature and shapes" * doctest::test_suite("unit")) {
    std::mt19937_64 rng(0);
    auto logits = repeated_logits(2);
    for (float tau : {0.0f, -1.0f, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()})
        CHECK_THROWS_WITH_AS(mmt::ops::gumbel_softmax(logits, tau, false, rng),
                             doctest::Contains("tau must be a positive finite temperature"), mmt::input_error);
    CHECK_THROWS_WITH_AS(mmt::ops::gumbel_softmax(mmt::tensor<2>::from_shape({2, 0}), 1.0f, true, rng),
                         doctest::Contains("logits [2, 0] have no classes"), mmt::shape_error);
}
