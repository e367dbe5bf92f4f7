// ordered_workers: inputs processed on several threads come back in input order,
// never more than `capacity` taken ahead of the consumer, and an exception reaches
// the consumer at the position it was thrown for.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "mmt/core/ordered_workers.hpp"
#include "support/throws.hpp"

using mmt::ordered_workers;

namespace {
// take() for the inputs 0, 1, ..., count - 1.
auto counting_to(std::size_t count) {
    return [count, next = std::size_t{0}]() mutable -> std::optional<std::size_t> {
        if (next == count) return std::nullopt;
        return next++;
    };
}
}  // namespace

TEST_CASE("core.ordered_workers: outputs come in input order whatever order the workers finish in" * doctest::test_suite("unit")) {
    ordered_workers<std::size_t, std::size_t> workers(4, 9, counting_to(300), [](std::size_t i) {
        std::this_thread::sleep_for(std::chrono::microseconds((i * 7919) % 200));  // later inputs often finish first
        return i * i;
    });
    for (std::size_t i = 0; i < 300; ++i) {
        const auto out = workers.pop();
        REQUIRE(out);
        CHECK(*out == i * i);
    }
    CHECK_FALSE(workers.pop());
    CHECK_FALSE(workers.pop());  // and stays ended
}

TEST_CASE("core.ordered_workers: at most `capacity` inputs are taken ahead of the consumer" * doctest::test_suite("unit")) {
    std::atomic<std::size_t> taken{0}, popped{0}, most_ahead{0};
    ordered_workers<std::size_t, std::size_t> workers(
        3, 5,
        [&, next = counting_to(100)]() mutable {
            const auto input = next();
            if (input) most_ahead = std::max<std::size_t>(most_ahead, ++taken - popped);
            return input;
        },
        [](std::size_t i) { return i; });
    for (std::size_t i = 0; i < 100; ++i) {
        std::this_thread::sleep_for(std::chrono::microseconds(50));  // a slow consumer: the workers wait for room
        ++popped;  // before the pop frees the slot, so taken - popped never overstates the lead
        REQUIRE(workers.pop() == i);
    }
    CHECK(most_ahead <= 5);
    CHECK(most_ahead >= 1);
}

TEST_CASE("core.ordered_workers: an exception reaches pop at the position it was thrown for" * doctest::test_suite("unit")) {
    SUBCASE("from process: the inputs before and after it come through") {
        ordered_workers<std::size_t, std::size_t> workers(2, 4, counting_to(20), [](std::size_t i) {
            if (i == 7) throw std::runtime_error("input 7 is bad");
            return i;
        });
        for (std::size_t i = 0; i < 7; ++i) CHECK(workers.pop() == i);
        mmt::test::check_throws<std::runtime_error>([&] { workers.pop(); }, {"input 7 is bad"});
        for (std::size_t i = 8; i < 20; ++i) CHECK(workers.pop() == i);
        CHECK_FALSE(workers.pop());
    }
    SUBCASE("from take: the end of the inputs") {
        ordered_workers<std::size_t, std::size_t> workers(
            2, 4,
            [next = counting_to(20)]() mutable {
                const auto input = next();
                if (input == 10u) throw std::runtime_error("the source failed at 10");
                return input;
            },
            [](std::size_t i) { return i; });
        for (std::size_t i = 0; i < 10; ++i) CHECK(workers.pop() == i);
        mmt::test::check_throws<std::runtime_error>([&] { workers.pop(); }, {"the source failed at 10"});
        CHECK_FALSE(workers.pop());
    }
}

TEST_CASE("core.ordered_workers: destroyed with outputs not popped, it stops its workers" * doctest::test_suite("unit")) {
    std::atomic<std::size_t> processed{0};
    {
        ordered_workers<std::size_t, std::size_t> workers(3, 6, counting_to(1000), [&](std::size_t i) {
            ++processed;
            return i;
        });
        CHECK(workers.pop() == 0u);
    }
    CHECK(processed <= 7);  // the one popped and at most capacity more
    mmt::test::check_throws<mmt::input_error>(
        [] { ordered_workers<int, int>(0, 1, [] { return std::optional<int>(); }, [](int i) { return i; }); }, {"at least 1 thread"});
}
