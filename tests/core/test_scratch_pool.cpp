// scratch_pool: a lease is a buffer of at least the size asked for; a returned
// buffer is leased again rather than allocated anew; leases held at once are
// distinct; the pool holds no more buffers than were leased at once, and no more
// bytes than it was told to keep.
#include <cstddef>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "mmt/core/scratch_pool.hpp"

using mmt::scratch_pool;

TEST_CASE("core.scratch_pool: a returned buffer is leased again for the same or a smaller size" * doctest::test_suite("unit")) {
    scratch_pool pool;
    CHECK(pool.free_buffers() == 0);
    const float* first = nullptr;
    {
        const scratch_pool::lease a = pool.take(1000);
        first = a.data();
        for (std::size_t i = 0; i < 1000; ++i) a.data()[i] = float(i);  // all of it is writable (ASan)
    }
    CHECK(pool.free_buffers() == 1);
    CHECK(pool.free_bytes() == 1000 * sizeof(float));
    {
        const scratch_pool::lease b = pool.take(600);
        CHECK(b.data() == first);
        CHECK(pool.free_buffers() == 0);
    }
    CHECK(pool.free_bytes() == 1000 * sizeof(float));
}

TEST_CASE("core.scratch_pool: leases held at once are distinct, and a larger size replaces the largest free buffer" *
          doctest::test_suite("unit")) {
    scratch_pool pool;
    {
        const scratch_pool::lease a = pool.take(100), b = pool.take(300);
        CHECK(a.data() != b.data());
    }
    CHECK(pool.free_buffers() == 2);
    CHECK(pool.free_bytes() == 400 * sizeof(float));
    {
        // 200 fits the 300 only; 500 fits neither, so the 100, the larger of those left, makes way.
        const scratch_pool::lease c = pool.take(200), d = pool.take(500);
        CHECK(pool.free_buffers() == 0);
        d.data()[499] = 1.0f;
    }
    CHECK(pool.free_buffers() == 2);
    CHECK(pool.free_bytes() == 800 * sizeof(float));
    {
        const scratch_pool::lease e = pool.take(50);  // the smallest that fits: the 300
        const scratch_pool::lease f = pool.take(400);
        CHECK(pool.free_buffers() == 0);
        CHECK(e.data() != f.data());
    }
    CHECK(pool.free_bytes() == 800 * sizeof(float));
}

TEST_CASE("core.scratch_pool: of the buffers given back, the largest that fit in keep_bytes together are kept" *
          doctest::test_suite("unit")) {
    scratch_pool pool(1000 * sizeof(float));
    {
        const scratch_pool::lease a = pool.take(600), b = pool.take(300), c = pool.take(100);
        a.data()[599] = b.data()[299] = c.data()[99] = 1.0f;
    }
    CHECK(pool.free_buffers() == 3);  // exactly keep_bytes: all kept
    CHECK(pool.free_bytes() == 1000 * sizeof(float));
    {
        // 800 fits none, so the 600 makes way; 400 fits none left, so the 300 does.
        const scratch_pool::lease d = pool.take(800), e = pool.take(400);
        d.data()[799] = e.data()[399] = 1.0f;
        CHECK(pool.free_buffers() == 1);
    }
    // Back come the 400 (kept beside the 100), then the 800: kept, with the 100 beside it; the 400 no longer fits.
    CHECK(pool.free_buffers() == 2);
    CHECK(pool.free_bytes() == (800 + 100) * sizeof(float));
    {
        const scratch_pool::lease big = pool.take(5000);  // the 800 makes way
        big.data()[4999] = 1.0f;
    }
    CHECK(pool.free_buffers() == 1);  // more than keep_bytes on its own: freed as it came back
    CHECK(pool.free_bytes() == 100 * sizeof(float));
}

TEST_CASE("core.scratch_pool: threads leasing at once each write a buffer of their own" * doctest::test_suite("unit")) {
    scratch_pool pool;
    constexpr std::size_t threads = 4, rounds = 200, size = 4096;
    std::vector<std::size_t> wrong(threads, 0);
    std::vector<std::thread> workers;
    for (std::size_t t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            for (std::size_t r = 0; r < rounds; ++r) {
                const scratch_pool::lease l = pool.take(size - r % 7);
                for (std::size_t i = 0; i < size - r % 7; ++i) l.data()[i] = float(t);
                std::this_thread::yield();
                for (std::size_t i = 0; i < size - r % 7; ++i) wrong[t] += l.data()[i] != float(t);
            }
        });
    for (auto& w : workers) w.join();
    for (std::size_t t = 0; t < threads; ++t) CHECK(wrong[t] == 0);
    CHECK(pool.free_buffers() >= 1);
    CHECK(pool.free_buffers() <= threads);
}
