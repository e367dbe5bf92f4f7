// CTC forced alignment against a naive double-precision Viterbi on random
// log-probabilities, against every path on tiny cases, on its properties (the
// targets covered in order, the greedy path when the targets are the greedy
// transcript, the same path for every checkpoint spacing), torchaudio's tie
// rules, and its errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "mmt/tokenizers/ctc_decode.hpp"
#include "mmt/tokenizers/ctc_forced_align.hpp"
#include "support/data.hpp"
#include "support/random.hpp"
#include "support/throws.hpp"

using namespace mmt;
using tokenizers::ctc_forced_align;
namespace {

using token_ids = std::vector<std::int64_t>;

constexpr double minus_inf = -std::numeric_limits<double>::infinity();

// log_softmax of uniform random logits in [-scale, scale): [frames, classes].
tensor<2> random_log_probs(std::size_t frames, std::size_t classes, std::uint32_t seed, float scale = 4.0f) {
    tensor<2> lp = test::random_tensor<2>({frames, classes}, seed, -scale, scale);
    for (std::size_t t = 0; t < frames; ++t) {
        double max = minus_inf, sum = 0.0;
        for (std::size_t v = 0; v < classes; ++v) max = std::max(max, double(lp(t, v)));
        for (std::size_t v = 0; v < classes; ++v) sum += std::exp(double(lp(t, v)) - max);
        for (std::size_t v = 0; v < classes; ++v) lp(t, v) = float(double(lp(t, v)) - max - std::log(sum));
    }
    return lp;
}

// `count` ids in [1, classes), blank 0, with repeats now and then.
token_ids random_targets(std::size_t count, std::size_t classes, std::uint32_t seed) {
    std::mt19937 gen(seed);
    std::uniform_int_distribution<std::int64_t> id(1, std::int64_t(classes) - 1);
    token_ids targets;
    for (std::size_t i = 0; i < count; ++i) targets.push_back(i && gen() % 5 == 0 ? targets.back() : id(gen));
    return targets;
}

// CTC's collapse: repeats merged, blanks dropped.
token_ids collapse(const token_ids& path, std::int64_t blank) {
    token_ids out;
    for (std::size_t t = 0; t < path.size(); ++t)
        if (path[t] != blank && (t == 0 || path[t] != path[t - 1])) out.push_back(path[t]);
    return out;
}

double path_score(const tensor<2>& lp, const token_ids& path) {
    double sum = 0.0;
    for (std::size_t t = 0; t < path.size(); ++t) sum += lp(t, std::size_t(path[t]));
    return sum;
}

// The textbook Viterbi over the blank-interleaved targets, in double, every cell of the trellis.
struct naive_result {
    double score = minus_inf;
    token_ids path;
};

naive_result naive_viterbi(const tensor<2>& lp, const token_ids& targets, std::int64_t blank) {
    const std::size_t T = lp.shape(0), S = 2 * targets.size() + 1;
    const auto label = [&](std::size_t s) { return s % 2 ? targets[s / 2] : blank; };
    std::vector<std::vector<double>> alpha(T, std::vector<double>(S, minus_inf));
    std::vector<std::vector<std::size_t>> from(T, std::vector<std::size_t>(S, 0));
    alpha[0][0] = lp(0, std::size_t(blank));
    if (S > 1) alpha[0][1] = lp(0, std::size_t(targets[0]));
    for (std::size_t t = 1; t < T; ++t)
        for (std::size_t s = 0; s < S; ++s) {
            std::size_t best = s;
            if (s >= 1 && alpha[t - 1][s - 1] > alpha[t - 1][best]) best = s - 1;
            if (s >= 3 && s % 2 == 1 && targets[s / 2] != targets[s / 2 - 1] && alpha[t - 1][s - 2] > alpha[t - 1][best]) best = s - 2;
            alpha[t][s] = alpha[t - 1][best] + lp(t, std::size_t(label(s)));
            from[t][s] = best;
        }
    naive_result r;
    std::size_t s = S == 1 || alpha[T - 1][S - 1] > alpha[T - 1][S - 2] ? S - 1 : S - 2;
    r.score = alpha[T - 1][s];
    r.path.resize(T);
    for (std::size_t t = T; t-- > 0;) {
        r.path[t] = label(s);
        s = from[t][s];
    }
    return r;
}

// Every label sequence of T frames over `classes` labels whose collapse is `targets`: the best score.
naive_result brute_force(const tensor<2>& lp, const token_ids& targets, std::int64_t blank) {
    const std::size_t T = lp.shape(0), V = lp.shape(1);
    naive_result best;
    token_ids path(T, 0);
    for (std::size_t n = 0, total = std::size_t(std::pow(double(V), double(T))); n < total; ++n) {
        for (std::size_t t = 0, k = n; t < T; ++t, k /= V) path[t] = std::int64_t(k % V);
        if (collapse(path, blank) != targets) continue;
        const double score = path_score(lp, path);
        if (score > best.score) best = {score, path};
    }
    return best;
}

// The path must spell the targets and score as the naive best; a different path is only a
// float near-tie with it.
void check_against(const tokenizers::forced_alignment& got, const tensor<2>& lp, const token_ids& targets, const naive_result& expected) {
    CHECK(collapse(got.tokens, 0) == targets);
    const double score = path_score(lp, got.tokens);
    CHECK(score == doctest::Approx(expected.score).epsilon(1e-5));
    if (got.tokens != expected.path) CHECK(std::abs(score - expected.score) < 1e-4);
    for (std::size_t t = 0; t < got.tokens.size(); ++t) CHECK(got.scores[t] == lp(t, std::size_t(got.tokens[t])));
}

}  // namespace

TEST_CASE("tokenizers.ctc_forced_align: the naive double-precision Viterbi's score and path on random log-probabilities" *
          doctest::test_suite("unit")) {
    std::size_t same_path = 0, cases = 0;
    for (std::uint32_t seed = 1; seed <= 60; ++seed) {
        const std::size_t classes = 2 + seed % 9, frames = 1 + (seed * 7) % 80;
        const token_ids targets = random_targets((seed * 13) % (frames / 2 + 1), classes, seed);
        const tensor<2> lp = random_log_probs(frames, classes, seed);
        CAPTURE(seed);
        const auto expected = naive_viterbi(lp, targets, 0);
        const auto got = ctc_forced_align(lp, targets, 0);
        check_against(got, lp, targets, expected);
        same_path += got.tokens == expected.path;
        ++cases;
    }
    MESSAGE("same path as the naive Viterbi in " << same_path << " of " << cases << " cases");
    CHECK(same_path == cases);
}

TEST_CASE("tokenizers.ctc_forced_align: the best of every path on tiny cases" * doctest::test_suite("unit")) {
    std::size_t cases = 0;
    for (std::size_t frames = 1; frames <= 6; ++frames)
        for (std::size_t count = 0; count <= 3; ++count)
            for (std::uint32_t seed = 0; seed < 4; ++seed) {
                const std::uint32_t s = std::uint32_t(100 * frames + 10 * count + seed);
                const std::size_t classes = 2 + seed % 3;  // 2..4 labels, so repeats come often
                const token_ids targets = random_targets(count, classes, s);
                std::size_t needed = targets.size();
                for (std::size_t i = 1; i < targets.size(); ++i) needed += targets[i] == targets[i - 1];
                if (needed > frames) continue;
                CAPTURE(frames);
                CAPTURE(targets.size());
                CAPTURE(seed);
                const tensor<2> lp = random_log_probs(frames, classes, s);
                const auto expected = brute_force(lp, targets, 0);
                check_against(ctc_forced_align(lp, targets, 0), lp, targets, expected);
                CHECK(ctc_forced_align(lp, targets, 0).tokens == expected.path);
                ++cases;
            }
    MESSAGE(cases << " tiny cases against every path");
    CHECK(cases > 50);
}

TEST_CASE("tokenizers.ctc_forced_align: every checkpoint spacing gives the same path" * doctest::test_suite("unit")) {
    const tensor<2> lp = random_log_probs(97, 12, 7);
    const token_ids targets = random_targets(40, 12, 7);
    const auto whole = ctc_forced_align(lp, targets, 0, {97});
    for (std::size_t k : {1, 2, 3, 5, 8, 31, 96, 200, 0}) {
        CAPTURE(k);
        const auto got = ctc_forced_align(lp, targets, 0, {k});
        CHECK(got.tokens == whole.tokens);
        CHECK(got.scores == whole.scores);
    }
}

TEST_CASE("tokenizers.ctc_forced_align: the targets covered in order, and the greedy path when they are its transcript" *
          doctest::test_suite("unit")) {
    for (std::uint32_t seed = 1; seed <= 20; ++seed) {
        CAPTURE(seed);
        const std::size_t frames = seed == 20 ? 5000 : 10 + seed * 11, classes = 3 + seed % 30;
        const tensor<2> lp = random_log_probs(frames, classes, 1000 + seed);
        token_ids greedy(frames);
        for (std::size_t t = 0; t < frames; ++t) {
            const float* row = &lp(t, 0);
            greedy[t] = std::max_element(row, row + classes) - row;
        }
        const token_ids targets = collapse(greedy, 0);
        const auto aligned = ctc_forced_align(lp, targets, 0);
        CHECK(aligned.tokens == greedy);

        // Each target is one span of at least a frame, in order, the spans never overlapping or going back.
        const auto spans = tokenizers::merge_tokens(aligned.tokens, aligned.scores, 0);
        REQUIRE(spans.size() == targets.size());
        for (std::size_t i = 0; i < spans.size(); ++i) {
            CHECK(spans[i].token == targets[i]);
            CHECK(spans[i].start < spans[i].end);
            if (i) CHECK(spans[i - 1].end <= spans[i].start);
        }
        if (!spans.empty()) CHECK(spans.back().end <= frames);
    }
}

TEST_CASE("tokenizers.ctc_forced_align: torchaudio's choices on ties and a peaked transcript" * doctest::test_suite("unit")) {
    // All paths equal: the state is kept on a tie, and the path ends in the last target.
    tensor<2> flat = tensor<2>::from_shape({4, 3});
    flat.fill(std::log(1.0f / 3));
    CHECK(ctc_forced_align(flat, {1}, 0).tokens == token_ids{1, 1, 1, 1});
    CHECK(ctc_forced_align(flat, {1, 2}, 0).tokens == token_ids{1, 2, 2, 2});
    CHECK(ctc_forced_align(flat, {1, 1}, 0).tokens == token_ids{1, 0, 1, 1});
    CHECK(ctc_forced_align(flat, {}, 0).tokens == token_ids{0, 0, 0, 0});

    // HELLO WORLD of the fixture's CTC cases: each frame's id far likelier than the rest
    // aligns back to exactly those frames, and its spans are the decoder's character offsets.
    const token_ids frames = {11, 11, 11, 5, 5, 15, 15, 15, 0, 15, 0, 8, 0, 4, 18, 18, 18, 8, 8, 13, 13, 13, 0, 15, 15, 15, 0, 14, 14, 0};
    tensor<2> peaked = tensor<2>::from_shape({frames.size(), 32});
    peaked.fill(-20.0f);
    for (std::size_t t = 0; t < frames.size(); ++t) peaked(t, std::size_t(frames[t])) = -0.01f;
    const token_ids hello_world = {11, 5, 15, 15, 8, 4, 18, 8, 13, 15, 14};
    const auto aligned = ctc_forced_align(peaked, hello_world, 0);
    CHECK(aligned.tokens == frames);
    const auto spans = tokenizers::merge_tokens(aligned.tokens, aligned.scores, 0);
    const auto tokenizer = tokenizers::wav2vec2_ctc_tokenizer::from_pretrained(test::data_path("wav2vec2-audio"));
    const auto offsets = tokenizer.decode_with_offsets(frames).char_offsets;
    REQUIRE(spans.size() == offsets.size());
    for (std::size_t i = 0; i < spans.size(); ++i) {
        CHECK(spans[i].start == std::size_t(offsets[i].start_offset));
        CHECK(spans[i].end == std::size_t(offsets[i].end_offset));
        CHECK(spans[i].score == doctest::Approx(-0.01));
    }
}

TEST_CASE("tokenizers.ctc_forced_align: merge_tokens and merge_word" * doctest::test_suite("unit")) {
    const token_ids tokens = {0, 3, 3, 0, 0, 4, 4, 4, 0, 3};
    const std::vector<float> scores = {9, 1, 2, 9, 9, 3, 4, 5, 9, 6};
    const auto spans = tokenizers::merge_tokens(tokens, scores, 0);
    REQUIRE(spans.size() == 3);
    CHECK(spans[0].token == 3);
    CHECK(spans[0].start == 1);
    CHECK(spans[0].end == 3);
    CHECK(spans[0].score == 1.5);
    CHECK(spans[1].token == 4);
    CHECK(spans[1].start == 5);
    CHECK(spans[1].end == 8);
    CHECK(spans[1].score == 4.0);
    CHECK(spans[2].start == 9);
    CHECK(spans[2].end == 10);
    const auto word = tokenizers::merge_word(spans, 0, 2);
    CHECK(word.start == 1);
    CHECK(word.end == 8);
    CHECK(word.score == doctest::Approx((1.0 + 2 + 3 + 4 + 5) / 5));
    test::check_throws<shape_error>([&] { tokenizers::merge_tokens(tokens, {1.0f}, 0); }, {"10 tokens and 1 scores"});
    test::check_throws<shape_error>([&] { tokenizers::merge_word(spans, 2, 2); }, {"spans [2, 4) of 3"});
}

TEST_CASE("tokenizers.ctc_forced_align: targets that do not fit, bad token_ids, a blank target and impossible paths are errors" *
          doctest::test_suite("unit")) {
    const tensor<2> lp = random_log_probs(5, 4, 3);
    test::check_throws<input_error>([&] { ctc_forced_align(lp, {1, 2, 3, 1, 2, 3}, 0); },
                                    {"6 targets with 0 repeats need at least 6 frames", "got 5 frames"});
    test::check_throws<input_error>([&] { ctc_forced_align(lp, {1, 1, 2, 2}, 0); },
                                    {"4 targets with 2 repeats need at least 6 frames (a blank between repeats); got 5 frames"});
    CHECK(ctc_forced_align(lp, {1, 1, 2}, 0).tokens.size() == 5);
    test::check_throws<input_error>([&] { ctc_forced_align(lp, {1, 4}, 0); }, {"target 1 is 4; expected an id in [0, 4)"});
    test::check_throws<input_error>([&] { ctc_forced_align(lp, {1, -1}, 0); }, {"target 1 is -1"});
    test::check_throws<input_error>([&] { ctc_forced_align(lp, {2, 0}, 0); }, {"target 1 is the blank id 0"});
    test::check_throws<input_error>([&] { ctc_forced_align(lp, {2}, 4); }, {"blank id 4 is outside the 4 classes"});
    test::check_throws<shape_error>([&] { ctc_forced_align(tensor<2>::from_shape({0, 4}), {}, 0); }, {"log_probs [0, 4]"});

    tensor<2> nan = lp;
    nan(2, 1) = std::numeric_limits<float>::quiet_NaN();
    test::check_throws<input_error>([&] { ctc_forced_align(nan, {1}, 0); }, {"log_probs(2, 1) is nan"});
    tensor<2> never = lp;
    for (std::size_t t = 0; t < 5; ++t) never(t, 3) = -std::numeric_limits<float>::infinity();
    test::check_throws<input_error>([&] { ctc_forced_align(never, {1, 3}, 0); }, {"every path of the 2 targets through the 5 frames has probability zero"});
}
