// pipelines::best_answer_spans on hand-made logits: HF's masking, softmax, length
// limit, tie order and its filtering after the top-k (select_starts_ends, decode_spans).
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <vector>

#include "mmt/pipelines/answer_spans.hpp"
#include "support/random.hpp"
#include "support/throws.hpp"

using namespace mmt;

namespace {

// Tokens 0..n-1 with context [first, last]: <s>/[CLS] and the question before it.
std::vector<bool> context_between(std::size_t n, std::size_t first, std::size_t last) {
    std::vector<bool> c(n, false);
    for (std::size_t i = first; i <= last; ++i) c[i] = true;
    return c;
}

// HF's probabilities for one window written out: -10000 outside, softmax, the first token 0.
std::vector<double> hf_probabilities(const std::vector<float>& logits, const std::vector<bool>& context) {
    std::vector<double> p(logits.size());
    double top = -1e300, sum = 0;
    for (std::size_t i = 0; i < p.size(); ++i) top = std::max(top, p[i] = context[i] ? logits[i] : -10000.0);
    for (double& v : p) sum += v = std::exp(v - top);
    for (double& v : p) v /= sum;
    p[0] = 0;
    return p;
}

}  // namespace

TEST_CASE("pipelines.answer_spans: the best span is inside the context, scored start x end probability" * doctest::test_suite("unit")) {
    //                          CLS   q     q    SEP   w0    w1    w2    w3    w4   SEP
    const std::vector<float> start{0.0f, 9.0f, 0.0f, 0.0f, 0.5f, 4.0f, 1.0f, 0.2f, 0.1f, 0.0f};
    const std::vector<float> end{0.0f, 0.0f, 9.0f, 0.0f, 0.1f, 0.3f, 1.0f, 5.0f, 0.2f, 0.0f};
    const auto context = context_between(10, 4, 8);
    const auto spans = pipelines::best_answer_spans(start.data(), end.data(), context, 1, 15);
    REQUIRE(spans.size() == 1);  // the question's high logits (tokens 1, 2) are masked out
    CHECK(spans[0].start == 5);
    CHECK(spans[0].end == 7);
    const auto ps = hf_probabilities(start, context), pe = hf_probabilities(end, context);
    CHECK(spans[0].score == doctest::Approx(ps[5] * pe[7]).epsilon(1e-6));

    // A span may not end before it starts, nor be longer than max_answer_len.
    const auto short_spans = pipelines::best_answer_spans(start.data(), end.data(), context, 1, 2);
    REQUIRE(short_spans.size() == 1);
    CHECK(short_spans[0].end - short_spans[0].start < 2);
    const std::vector<float> backwards_end{0, 0, 0, 0, 6.0f, 0, 0, 0, 0, 0};  // the end's best is before the start's
    const auto forward = pipelines::best_answer_spans(start.data(), backwards_end.data(), context, 1, 15);
    REQUIRE(forward.size() == 1);
    CHECK(forward[0].start <= forward[0].end);
}

TEST_CASE("pipelines.answer_spans: ties go to the lower start, then the lower end" * doctest::test_suite("unit")) {
    const std::vector<float> flat(8, 1.0f);
    const auto spans = pipelines::best_answer_spans(flat.data(), flat.data(), context_between(8, 2, 6), 3, 15);
    REQUIRE(spans.size() == 3);
    CHECK((spans[0].start == 2 && spans[0].end == 2));
    CHECK((spans[1].start == 2 && spans[1].end == 3));
    CHECK((spans[2].start == 2 && spans[2].end == 4));
}

TEST_CASE("pipelines.answer_spans: top_k is taken before the spans outside the context are dropped, as HF does" *
          doctest::test_suite("unit")) {
    // Two context tokens make three spans that score above 0; the other seven of the top
    // ten touch the question or padding and are dropped, so three come back.
    const std::vector<float> logits{0, 2, 2, 0, 1.0f, 0.5f, 0, 0};
    const auto spans = pipelines::best_answer_spans(logits.data(), logits.data(), context_between(8, 4, 5), 10, 15);
    REQUIRE(spans.size() == 3);
    for (std::size_t i = 1; i < spans.size(); ++i) CHECK(spans[i - 1].score >= spans[i].score);
    for (const auto& s : spans) CHECK((s.start >= 4 && s.end <= 5));
}

TEST_CASE("pipelines.answer_spans: random windows against every span scored by HF's formula" * doctest::test_suite("unit")) {
    for (std::uint32_t seed = 1; seed <= 20; ++seed) {
        CAPTURE(seed);
        const std::size_t n = 12 + seed % 9, first = 2 + seed % 3, last = n - 2;
        const tensor<1> start_t = test::random_tensor<1>({n}, seed, -3.0f, 3.0f), end_t = test::random_tensor<1>({n}, seed + 100, -3.0f, 3.0f);
        const std::vector<float> start(start_t.begin(), start_t.end()), end(end_t.begin(), end_t.end());
        const auto context = context_between(n, first, last);
        const std::size_t max_len = 1 + seed % 5, k = 1 + seed % 4;
        const auto ps = hf_probabilities(start, context), pe = hf_probabilities(end, context);
        double best = -1;
        for (std::size_t s = first; s <= last; ++s)
            for (std::size_t e = s; e <= last && e < s + max_len; ++e) best = std::max(best, ps[s] * pe[e]);
        const auto spans = pipelines::best_answer_spans(start.data(), end.data(), context, k, max_len);
        REQUIRE(spans.size() == k);
        CHECK(double(spans[0].score) == doctest::Approx(best).epsilon(1e-6));
        for (const auto& s : spans) {
            CHECK(s.start <= s.end);
            CHECK(s.end - s.start < max_len);
            CHECK(double(s.score) == doctest::Approx(ps[s.start] * pe[s.end]).epsilon(1e-6));
        }
    }
    const std::vector<float> one(4, 0.0f);
    test::check_throws<input_error>([&] { pipelines::best_answer_spans(one.data(), one.data(), context_between(4, 1, 2), 0, 15); },
                                    {"top_k is 0"});
}
