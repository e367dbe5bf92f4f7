// How closely a reduced-precision output follows float32's: the direction of
// embeddings and the labels read off logits. Shared by the accuracy tests on
// the fixtures and the accuracy benchmark on real-size models.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>

#include "mmt/core/xtensor.hpp"

namespace mmt::test {

// Smallest cosine similarity between matching rows of a and b.
inline double min_row_cosine(const tensor<2>& a, const tensor<2>& b) {
    double worst = 1;
    for (std::size_t r = 0; r < a.shape(0); ++r) {
        double dot = 0, na = 0, nb = 0;
        for (std::size_t i = 0; i < a.shape(1); ++i) {
            dot += double(a(r, i)) * b(r, i);
            na += double(a(r, i)) * a(r, i);
            nb += double(b(r, i)) * b(r, i);
        }
        worst = std::min(worst, dot / std::sqrt(na * nb));
    }
    return worst;
}

// [batch, seq, classes] -> [batch, seq]: the first largest class, as
// torch.argmax.
inline int_tensor<2> argmax_last(const tensor<3>& logits) {
    int_tensor<2> out = int_tensor<2>::from_shape({logits.shape(0), logits.shape(1)});
    for (std::size_t b = 0; b < logits.shape(0); ++b)
        for (std::size_t s = 0; s < logits.shape(1); ++s) {
            std::size_t best = 0;
            for (std::size_t c = 1; c < logits.shape(2); ++c)
                if (logits(b, s, c) > logits(b, s, best)) best = c;
            out(b, s) = std::int64_t(best);
        }
    return out;
}

// The fraction of positions where a and b (of one shape) hold the same label.
inline double fraction_equal(const int_tensor<2>& a, const int_tensor<2>& b) {
    if (a.shape() != b.shape()) throw std::logic_error("fraction_equal: the two label tensors differ in shape");
    std::size_t same = 0;
    for (std::size_t i = 0; i < a.size(); ++i) same += a.data()[i] == b.data()[i];
    return a.size() == 0 ? 1.0 : double(same) / double(a.size());
}

}  // namespace mmt::test
