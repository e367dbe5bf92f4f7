// CTC forced alignment: the most likely CTC path constrained to a known target
// sequence, with the semantics of torchaudio.functional.forced_align (torchaudio
// 2.1+, its CPU kernel): Viterbi over the trellis of the blank-interleaved targets
// (S = 2 L + 1 states: blank, t0, blank, t1, ..., blank), a state reached from
// itself, the one before, or two before when that skips a blank between two
// different targets; ties keep the state (then the one before), the path ends in
// the last target when the final blank is not strictly better, and scores
// accumulate in float as the kernel's do for float32 log-probabilities. Then
// merge_tokens's token spans, and word spans as the torchaudio tutorial scores them.
//
// Memory: torchaudio keeps a byte of backpointer for each of the T x S cells, 19 GB
// for an hour of speech (T = 180,000 frames of 20 ms, S = 108,000 states at 15
// characters a second). Here the forward pass keeps its column of scores every K
// frames (checkpoints), and the backtrace recomputes one segment of K frames at a
// time from its checkpoint, with 2-bit backpointers (a cell comes from s, s - 1 or
// s - 2). With K = 4 ceil(sqrt(T)) that is about 2 S sqrt(T) bytes (S sqrt(T) of
// checkpoints, S sqrt(T) of backpointers): 92 MB for that hour, for one more
// forward pass of time. The result is the same for every K.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "mmt/core/error.hpp"
#include "mmt/core/xtensor.hpp"

namespace mmt::tokenizers {

// torchaudio's (paths, scores) for one utterance.
struct forced_alignment {
    std::vector<std::int64_t> tokens;  // [frames]: each frame's token, a target or the blank
    std::vector<float> scores;         // [frames]: log_probs(t, tokens[t])
};

struct forced_align_options {
    // Frames between checkpoints of the forward pass; 0: 4 ceil(sqrt(frames)). Any value gives
    // the same path: it trades memory (checkpoints ~ frames / K, backpointers ~ K) only.
    std::size_t segment_frames = 0;
};

namespace detail {

// The trellis of one target sequence: state s is the blank when even, targets[s / 2] when odd.
class ctc_trellis {
public:
    ctc_trellis(const tensor<2>& log_probs, const std::vector<std::int64_t>& targets, std::int64_t blank)
        : lp_(log_probs), targets_(targets), blank_(blank), frames_(log_probs.shape(0)), states_(2 * targets.size() + 1) {}

    std::size_t frames() const { return frames_; }
    std::size_t states() const { return states_; }
    std::int64_t token(std::size_t s) const { return s % 2 ? targets_[s / 2] : blank_; }

    // Column of frame 0: the path starts in the first blank or the first target.
    void first(std::vector<float>& alpha) const {
        alpha.assign(states_, minus_inf);
        const float* row = lp_.data();
        for (std::size_t s = lo(0); s < hi(0); ++s) alpha[s] = row[token(s)];
    }

    // Column of frame t >= 1 from the column of t - 1, and each state's step back (0, 1 or
    // 2) into `back` (2 bits a state) when not null.
    void step(std::size_t t, const std::vector<float>& prev, std::vector<float>& cur, std::uint8_t* back) const {
        cur.assign(states_, minus_inf);
        const float* row = lp_.data() + t * lp_.shape(1);
        for (std::size_t s = lo(t); s < hi(t); ++s) {
            const float x0 = prev[s];
            const float x1 = s >= 1 ? prev[s - 1] : minus_inf;
            const float x2 = can_skip(s) ? prev[s - 2] : minus_inf;
            unsigned from = 0;
            float best = x0;
            if (x2 > x1 && x2 > x0) {
                from = 2;
                best = x2;
            } else if (x1 > x0) {
                from = 1;
                best = x1;
            }
            cur[s] = best + row[token(s)];
            if (back) back[s / 4] = std::uint8_t(back[s / 4] | (from << (2 * (s % 4))));
        }
    }

    static unsigned step_back(const std::uint8_t* back, std::size_t s) { return (back[s / 4] >> (2 * (s % 4))) & 3u; }

private:
    static constexpr float minus_inf = -std::numeric_limits<float>::infinity();

    // A target may follow the one two states back directly when they differ (no blank needed).
    bool can_skip(std::size_t s) const { return s % 2 == 1 && s >= 3 && targets_[s / 2] != targets_[s / 2 - 1]; }

    // States [lo(t), hi(t)) of frame t can be reached from the start at most two states a
    // frame and can still reach the last target or blank by frame T - 1; the others stay
    // -inf. torchaudio's band is narrower by the blanks repeats need, which changes no
    // score of a state on a path.
    std::size_t hi(std::size_t t) const { return std::min(states_, 2 * t + 2); }
    std::size_t lo(std::size_t t) const {
        const std::size_t advance = 2 * (frames_ - 1 - t);  // at most two states a frame until the last frame
        return states_ >= advance + 2 ? states_ - 2 - advance : 0;
    }

    const tensor<2>& lp_;
    const std::vector<std::int64_t>& targets_;
    std::int64_t blank_;
    std::size_t frames_, states_;
};

inline void check_forced_align_inputs(const tensor<2>& log_probs, const std::vector<std::int64_t>& targets, std::int64_t blank) {
    const std::size_t frames = log_probs.shape(0), classes = log_probs.shape(1);
    if (frames == 0 || classes == 0)
        fail<shape_error>("ctc_forced_align: log_probs [", frames, ", ", classes, "]; expected at least one frame and one class");
    if (blank < 0 || std::size_t(blank) >= classes)
        fail<input_error>("ctc_forced_align: blank id ", blank, " is outside the ", classes, " classes of log_probs");
    std::size_t repeats = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        if (targets[i] == blank)
            fail<input_error>("ctc_forced_align: target ", i, " is the blank id ", blank, "; targets must not contain the blank");
        if (targets[i] < 0 || std::size_t(targets[i]) >= classes)
            fail<input_error>("ctc_forced_align: target ", i, " is ", targets[i], "; expected an id in [0, ", classes, ")");
        if (i && targets[i] == targets[i - 1]) ++repeats;
    }
    if (frames < targets.size() + repeats)
        fail<input_error>("ctc_forced_align: ", targets.size(), " targets with ", repeats, " repeats need at least ", targets.size() + repeats,
                          " frames (a blank between repeats); got ", frames, " frames");
    for (std::size_t t = 0; t < frames; ++t)
        for (std::size_t v = 0; v < classes; ++v)
            if (std::isnan(log_probs(t, v)) || log_probs(t, v) == std::numeric_limits<float>::infinity())
                fail<input_error>("ctc_forced_align: log_probs(", t, ", ", v, ") is ", log_probs(t, v), "; expected a log-probability");
}

}  // namespace detail

// log_probs: [frames, classes] log-probabilities (log_softmax of the logits); targets: [L]
// ids, none the blank. input_error when the targets cannot fit the frames, an id is out
// of range, or every path has probability zero.
inline forced_alignment ctc_forced_align(const tensor<2>& log_probs, const std::vector<std::int64_t>& targets, std::int64_t blank,
                                         const forced_align_options& options = {}) {
    detail::check_forced_align_inputs(log_probs, targets, blank);
    const detail::ctc_trellis trellis(log_probs, targets, blank);
    const std::size_t T = trellis.frames(), S = trellis.states();
    std::size_t K = options.segment_frames;
    if (K == 0) K = 4 * std::size_t(std::ceil(std::sqrt(double(T))));

    // Forward: the column of every frame t with t % K == 0 is kept.
    std::vector<std::vector<float>> checkpoints;
    std::vector<float> alpha, next;
    trellis.first(alpha);
    for (std::size_t t = 1; t < T; ++t) {
        if ((t - 1) % K == 0) checkpoints.push_back(alpha);
        trellis.step(t, alpha, next, nullptr);
        alpha.swap(next);
    }
    std::size_t state = S == 1 || alpha[S - 1] > alpha[S - 2] ? S - 1 : S - 2;
    if (alpha[state] == -std::numeric_limits<float>::infinity())
        fail<input_error>("ctc_forced_align: every path of the ", targets.size(), " targets through the ", T,
                          " frames has probability zero (-inf log-probabilities)");

    // Backtrace, a segment of frames (first, last] at a time from its checkpoint at `first`.
    forced_alignment out;
    out.tokens.resize(T);
    out.scores.resize(T);
    const std::size_t row_bytes = (S + 3) / 4;
    std::vector<std::uint8_t> back;
    for (std::size_t k = checkpoints.size(); k-- > 0;) {
        const std::size_t first = k * K, last = std::min(T - 1, first + K);
        back.assign((last - first) * row_bytes, 0);
        alpha = checkpoints[k];
        for (std::size_t t = first + 1; t <= last; ++t) {
            trellis.step(t, alpha, next, &back[(t - first - 1) * row_bytes]);
            alpha.swap(next);
        }
        for (std::size_t t = last; t > first; --t) {
            out.tokens[t] = trellis.token(state);
            state -= detail::ctc_trellis::step_back(&back[(t - first - 1) * row_bytes], state);
        }
        checkpoints[k] = {};
    }
    out.tokens[0] = trellis.token(state);
    for (std::size_t t = 0; t < T; ++t) out.scores[t] = log_probs(t, std::size_t(out.tokens[t]));
    return out;
}

// torchaudio's TokenSpan: frames [start, end) of one token, score the mean of its frames' scores.
struct token_span {
    std::int64_t token = 0;
    std::size_t start = 0;
    std::size_t end = 0;
    double score = 0.0;
};

// torchaudio.functional.merge_tokens: runs of one token, blanks dropped. `scores` are
// whatever is to be averaged ([frames], e.g. forced_alignment::scores or their exp).
inline std::vector<token_span> merge_tokens(const std::vector<std::int64_t>& tokens, const std::vector<float>& scores, std::int64_t blank) {
    if (tokens.size() != scores.size())
        fail<shape_error>("merge_tokens: ", tokens.size(), " tokens and ", scores.size(), " scores; expected one score a frame");
    std::vector<token_span> spans;
    for (std::size_t start = 0, end = 0; start < tokens.size(); start = end) {
        double sum = 0.0;
        for (end = start; end < tokens.size() && tokens[end] == tokens[start]; ++end) sum += scores[end];
        if (tokens[start] != blank) spans.push_back({tokens[start], start, end, sum / double(end - start)});
    }
    return spans;
}

// Frames [start, end) of a word and its score: the mean over the frames of its tokens
// (each token's score weighted by its length), as torchaudio's alignment tutorial scores words.
struct word_span {
    std::size_t start = 0;
    std::size_t end = 0;
    double score = 0.0;
};

// The word made of spans [first, first + count), count >= 1.
inline word_span merge_word(const std::vector<token_span>& spans, std::size_t first, std::size_t count) {
    if (count == 0 || first + count > spans.size())
        fail<shape_error>("merge_word: spans [", first, ", ", first + count, ") of ", spans.size(), "; expected at least one span");
    double weighted = 0.0;
    std::size_t frames = 0;
    for (std::size_t i = first; i < first + count; ++i) {
        weighted += spans[i].score * double(spans[i].end - spans[i].start);
        frames += spans[i].end - spans[i].start;
    }
    return {spans[first].start, spans[first + count - 1].end, weighted / double(frames)};
}

}  // namespace mmt::tokenizers
