// parallel_for on the thread pool (core/thread_pool.hpp): every index once, in one
// slice per thread of at least `grain` items; a worker takes part; an exception from
// any slice reaches the caller; a parallel_for inside a slice, or on several threads
// at once, runs whole on its own thread; a forked child gets workers of its own; the
// caller runs the job alone when the system starts no worker. And the thread count
// (core/threading.hpp): from the environment or the affinity mask, and its errors.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "mmt/core/threading.hpp"
#include "support/env.hpp"
#include "support/threads.hpp"
#include "support/throws.hpp"

namespace {

using slice_list = std::vector<std::pair<std::size_t, std::size_t>>;

slice_list cut_slices(std::size_t n, std::size_t grain) {
    slice_list seen;
    std::mutex m;
    mmt::parallel_for(n, grain, [&](std::size_t begin, std::size_t end) {
        std::lock_guard<std::mutex> lock(m);
        seen.emplace_back(begin, end);
    });
    std::sort(seen.begin(), seen.end());
    return seen;
}

// Whether the two items of a job ran on two threads: a slice waits up to 10 s for
// the other to start, so a worker that exists gets its chance to take one.
bool a_worker_took_part() {
    std::thread::id ran_on[2];
    std::atomic<int> started{0};
    mmt::parallel_for(2, 1, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) ran_on[i] = std::this_thread::get_id();
        started += int(end - begin);
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (started < 2 && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    });
    return ran_on[0] != ran_on[1];
}

}  // namespace

TEST_CASE("core.thread_pool: parallel_for covers every index once, in a slice a thread of at least grain items" * doctest::test_suite("unit")) {
    for (const int threads : {1, 2, 3}) {
        mmt::test::thread_count_guard guard(threads);
        CHECK(cut_slices(0, 1).empty());
        CHECK(cut_slices(1, 1) == slice_list{{0, 1}});
        CHECK(cut_slices(100, 60) == (threads == 1 ? slice_list{{0, 100}} : slice_list{{0, 50}, {50, 100}}));
        const slice_list all = cut_slices(1000, 1);
        REQUIRE(all.size() == std::size_t(threads));
        for (std::size_t s = 0; s < all.size(); ++s) {
            CHECK(all[s].first == 1000 * s / all.size());
            CHECK(all[s].second == 1000 * (s + 1) / all.size());
        }
        std::vector<int> hits(100000, 0);
        for (int job = 0; job < 200; ++job)
            mmt::parallel_for(hits.size(), 1, [&](std::size_t begin, std::size_t end) {
                for (std::size_t i = begin; i < end; ++i) ++hits[i];
            });
        CHECK(std::count(hits.begin(), hits.end(), 200) == std::ptrdiff_t(hits.size()));
    }
}

TEST_CASE("core.thread_pool: a worker takes part, also after the count changes" * doctest::test_suite("unit")) {
    for (const int threads : {2, 4, 2}) {
        mmt::test::thread_count_guard guard(threads);
        CHECK(a_worker_took_part());
    }
    mmt::test::thread_count_guard guard(1);
    CHECK_FALSE(a_worker_took_part());
}

TEST_CASE("core.thread_pool: an exception from the caller's slice or a worker's reaches the caller" * doctest::test_suite("unit")) {
    mmt::test::thread_count_guard guard(2);
    for (const std::size_t throwing : {0, 1}) {
        std::atomic<int> finished{0};
        CHECK_THROWS_WITH_AS(mmt::parallel_for(2, 1,
                                               [&](std::size_t begin, std::size_t) {
                                                   if (begin == throwing) throw std::runtime_error("slice " + std::to_string(begin));
                                                   ++finished;
                                               }),
                             ("slice " + std::to_string(throwing)).c_str(), std::runtime_error);
        CHECK(finished == 1);  // the other slice ran to its end before the throw reached the caller
    }
    CHECK(cut_slices(10, 1) == slice_list{{0, 5}, {5, 10}});  // the pool works on after a throw
}

TEST_CASE("core.thread_pool: a parallel_for inside a slice runs whole on its thread" * doctest::test_suite("unit")) {
    mmt::test::thread_count_guard guard(2);
    std::mutex m;
    std::vector<slice_list> inner;
    mmt::parallel_for(2, 1, [&](std::size_t, std::size_t) {
        const slice_list nested = cut_slices(100, 1);
        std::lock_guard<std::mutex> lock(m);
        inner.push_back(nested);
    });
    CHECK(inner == std::vector<slice_list>{{{0, 100}}, {{0, 100}}});
}

TEST_CASE("core.thread_pool: parallel_for on several threads at once" * doctest::test_suite("unit")) {
    mmt::test::thread_count_guard guard(2);
    std::vector<std::vector<int>> hits(4, std::vector<int>(10000, 0));
    std::vector<std::thread> callers;
    for (std::size_t t = 0; t < hits.size(); ++t)
        callers.emplace_back([&hits, t] {
            for (int job = 0; job < 300; ++job)
                mmt::parallel_for(hits[t].size(), 1, [&](std::size_t begin, std::size_t end) {
                    for (std::size_t i = begin; i < end; ++i) ++hits[t][i];
                });
        });
    for (auto& c : callers) c.join();
    for (const auto& h : hits) CHECK(std::count(h.begin(), h.end(), 300) == std::ptrdiff_t(h.size()));
}

TEST_CASE("core.thread_pool: a forked child gets workers of its own" * doctest::test_suite("unit")) {
    mmt::test::thread_count_guard guard(2);
    REQUIRE(a_worker_took_part());  // the parent's pool has its worker
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) _exit(a_worker_took_part() && cut_slices(10, 1) == slice_list{{0, 5}, {5, 10}} ? 0 : 1);
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
}

TEST_CASE("core.thread_pool: where the system starts no worker, the caller runs the whole job" * doctest::test_suite("unit")) {
    mmt::test::thread_count_guard guard(4);
    const pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // The child's pool has no workers yet. Its threads get 64 MiB stacks, larger
        // than any glibc kept from the parent's threads to reuse, and address space
        // for only 4 MiB more than the child maps: no worker starts.
        pthread_attr_t attr;
        if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, std::size_t(64) << 20) != 0 ||
            pthread_setattr_default_np(&attr) != 0)
            _exit(2);
        std::ifstream statm("/proc/self/statm");
        unsigned long pages = 0;
        statm >> pages;
        const rlimit limit{rlim_t(pages) * rlim_t(sysconf(_SC_PAGESIZE)) + (rlim_t(4) << 20), RLIM_INFINITY};
        if (setrlimit(RLIMIT_AS, &limit) != 0) _exit(2);
        const slice_list whole{{0, 12}};
        _exit(cut_slices(12, 1) == whole && cut_slices(12, 1) == whole ? 0 : 1);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));  // not ended by std::terminate, as an uncaught std::system_error would
    CHECK(WEXITSTATUS(status) == 0);
}


TEST_CASE("core.threading: the count from MMT_NUM_THREADS, else OMP_NUM_THREADS, else the affinity mask" * doctest::test_suite("unit")) {
    using mmt::detail::initial_threads;
    {
        mmt::test::env_setting mmt_env("MMT_NUM_THREADS", nullptr), omp_env("OMP_NUM_THREADS", nullptr);
        CHECK(initial_threads() == mmt::detail::available_cpus());
        const pid_t child = fork();  // the CPUs the process may use: one, in a child
        REQUIRE(child >= 0);
        if (child == 0) {
            cpu_set_t one;
            CPU_ZERO(&one);
            CPU_SET(sched_getcpu(), &one);
            _exit(sched_setaffinity(0, sizeof one, &one) == 0 && initial_threads() == 1 ? 0 : 1);
        }
        int status = 0;
        REQUIRE(waitpid(child, &status, 0) == child);
        CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    {
        mmt::test::env_setting mmt_env("MMT_NUM_THREADS", nullptr), omp_env("OMP_NUM_THREADS", " 5,2");
        CHECK(initial_threads() == 5);  // OpenMP's first nesting level
        mmt::test::env_setting mmt_set("MMT_NUM_THREADS", "3");
        CHECK(initial_threads() == 3);
    }
    for (const char* bad : {"0", "abc", "4096", "2,1", "-1", "3x"}) {
        CAPTURE(bad);
        mmt::test::env_setting mmt_env("MMT_NUM_THREADS", bad);
        mmt::test::check_throws<mmt::config_error>([] { initial_threads(); }, {"MMT_NUM_THREADS", "from 1 to 4095", std::string("'") + bad + "'"});
    }
    {
        mmt::test::env_setting mmt_env("MMT_NUM_THREADS", nullptr), omp_env("OMP_NUM_THREADS", "many");
        mmt::test::check_throws<mmt::config_error>([] { initial_threads(); }, {"OMP_NUM_THREADS", "'many'"});
    }
    mmt::test::check_throws<mmt::input_error>([] { mmt::set_num_threads(0); }, {"set_num_threads", "1 to 4095", "got 0"});
    mmt::test::check_throws<mmt::input_error>([] { mmt::set_num_threads(4096); }, {"got 4096"});
    mmt::test::thread_count_guard guard(3);
    CHECK(mmt::num_threads() == 3);
    int elsewhere = 0;  // the count holds in every thread, not only the one that set it
    std::thread([&] { elsewhere = mmt::num_threads(); }).join();
    CHECK(elsewhere == 3);
}
