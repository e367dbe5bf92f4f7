// Element-wise comparison of two tensors that reports the max absolute and
// relative error and the worst index, so a parity failure says where it is.
#pragma once

#include <cmath>
#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/core/xtensor.hpp"

namespace mmt::test {

struct closeness {
    double max_abs = 0;
    double max_rel = 0;
    std::vector<std::size_t> worst_index;
    bool shapes_match = true;
    bool finite = true;
    std::string describe() const {
        std::ostringstream out;
        out << "max abs " << max_abs << ", max rel " << max_rel << " at [";
        for (std::size_t i = 0; i < worst_index.size(); ++i) out << (i ? "," : "") << worst_index[i];
        out << "]";
        return out.str();
    }
};

template <class A, class B>
closeness measure_closeness(const A& actual, const B& expected) {
    closeness c;
    std::vector<std::size_t> a_shape(actual.shape().begin(), actual.shape().end());
    std::vector<std::size_t> e_shape(expected.shape().begin(), expected.shape().end());
    if (a_shape != e_shape) {
        c.shapes_match = false;
        return c;
    }
    xt::xarray<double> a = xt::cast<double>(actual);
    xt::xarray<double> e = xt::cast<double>(expected);
    std::size_t worst = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        double x = a.flat(i), y = e.flat(i);
        if (!std::isfinite(x) || !std::isfinite(y)) {
            if (!(std::isnan(x) && std::isnan(y)) && x != y) c.finite = false;
            continue;
        }
        double diff = std::fabs(x - y);
        if (diff > c.max_abs) {
            c.max_abs = diff;
            worst = i;
        }
        double rel = diff / std::max(std::fabs(y), 1e-12);
        if (rel > c.max_rel && std::fabs(y) > 1e-6) c.max_rel = rel;
    }
    c.worst_index.resize(e_shape.size());
    for (std::size_t d = e_shape.size(); d-- > 0;) {
        c.worst_index[d] = worst % e_shape[d];
        worst /= e_shape[d];
    }
    return c;
}

// CHECKs that every element agrees within `abs_tol` and returns the figures.
template <class A, class B>
closeness check_close(const A& actual, const B& expected, double abs_tol, const std::string& what) {
    closeness c = measure_closeness(actual, expected);
    if (!c.shapes_match) {
        auto str = [](const auto& shape) {
            std::string s = "[";
            for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
            return s + "]";
        };
        FAIL_CHECK(what << ": shape " << str(actual.shape()) << " vs expected " << str(expected.shape()));
        return c;
    }
    CHECK_MESSAGE(c.finite, what << ": non-finite values differ");
    CHECK_MESSAGE(c.max_abs <= abs_tol, what << ": " << c.describe() << " exceeds " << abs_tol);
    MESSAGE(what << ": " << c.describe());
    return c;
}

}  // namespace mmt::test
