// The worker threads behind parallel_for (core/threading.hpp). A job is a number of
// slices that the caller and the workers claim one at a time; the caller works too
// and returns once every slice is done, without waiting for a worker that has not
// started. An OpenMP team ends each region at a barrier every thread must reach:
// with another program busy on one of 2 cores, the thread sharing that core ran only
// on its turns from the scheduler, every op waited for the turn, and 2 threads took
// twice the time of one (clip_b32_image/batch:1/busy_core: 117 ms against 56).
// Here a slice nobody has started is the caller's, and a worker sleeps after a short
// spin, which the scheduler rewards with a prompt turn when it is woken: 58 ms.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif
#if defined(__unix__)
#include <pthread.h>
#endif

namespace mmt::detail {

class thread_pool {
public:
    // At most this many slices a job.
    static constexpr std::size_t max_slices = 4095;

    // The process's pool (a forked child starts a pool of its own: the parent's
    // workers are not in it).
    static thread_pool& instance() {
        static std::once_flag once;
        std::call_once(once, [] {
            current() = new thread_pool;  // never freed: a worker may outlive static destruction
#if defined(__unix__)
            pthread_atfork(nullptr, nullptr, [] { current() = new thread_pool; });
#endif
        });
        return *current();
    }

    // Runs slice(s) for every s in [0, slices) on the calling thread and up to
    // `helpers` workers, and rethrows the first exception a slice threw once all
    // are done. Returns false, having run nothing, when another job holds the pool
    // (a parallel_for inside a slice, or on another thread): run the slices alone.
    template <class Slice>
    bool run(std::size_t slices, std::size_t helpers, Slice& slice) {
        if (slices == 0 || slices > max_slices || helpers == 0 || busy_.exchange(true, std::memory_order_acquire)) return false;
        struct release {
            std::atomic<bool>& busy;
            ~release() { busy.store(false, std::memory_order_release); }
        } released{busy_};
        helpers = std::min(helpers, max_helpers);
        try {
            while (workers_.size() < helpers) workers_.emplace_back([this, index = workers_.size()] { work(index); });
        } catch (const std::system_error&) {
            // A worker the system will not start (a process or address-space limit):
            // its slices go to the workers there are and the caller; the next job asks again.
            helpers = workers_.size();
            if (helpers == 0) return false;
        }

        run_ = [](void* body, std::size_t s) { (*static_cast<Slice*>(body))(s); };
        body_ = &slice;
        error_ = nullptr;
        done_.store(0, std::memory_order_relaxed);
        const std::uint64_t job = (generation(state_.load(std::memory_order_relaxed)) + 1) << 32 | std::uint64_t(helpers) << 24 | std::uint64_t(slices) << 12;
        state_.store(job, std::memory_order_seq_cst);
        if (sleepers_.load(std::memory_order_seq_cst) > 0) {
            std::lock_guard<std::mutex> lock(mutex_);  // a worker between its check and its wait holds the mutex
            wake_.notify_all();
        }
        help(job);
        // The slices a worker holds: spin a few microseconds, then give the core away a turn at a time.
        for (std::size_t spins = 0; done_.load(std::memory_order_acquire) < slices; ++spins) {
            if (spins < 4096) cpu_relax();
            else std::this_thread::yield();
        }
        if (error_) std::rethrow_exception(error_);
        return true;
    }

private:
    // state_: the job's generation (32 bits) | helpers (8) | slices (12) | next slice to claim (12).
    static constexpr std::size_t max_helpers = 255;
    static std::uint64_t generation(std::uint64_t s) { return s >> 32; }
    static std::size_t helpers_of(std::uint64_t s) { return std::size_t(s >> 24 & 0xff); }
    static std::size_t slices_of(std::uint64_t s) { return std::size_t(s >> 12 & 0xfff); }
    static std::size_t next_of(std::uint64_t s) { return std::size_t(s & 0xfff); }

    static thread_pool*& current() {
        static thread_pool* pool = nullptr;
        return pool;
    }

    static void cpu_relax() {
#if defined(__x86_64__)
        _mm_pause();
#endif
    }

    // Claims and runs slices of the job whose state was `s` until none is left.
    // The job's body stays put until every claimed slice is done, so it is read
    // only after a claim succeeds.
    void help(std::uint64_t s) {
        const std::uint64_t job = generation(s);
        while (generation(s) == job && next_of(s) < slices_of(s)) {
            if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
            try {
                run_(body_, next_of(s));
            } catch (...) {
                std::lock_guard<std::mutex> lock(mutex_);
                if (!error_) error_ = std::current_exception();
            }
            done_.fetch_add(1, std::memory_order_release);
            s = state_.load(std::memory_order_acquire);
        }
    }

    // A worker: helps with each new job it is among the helpers of. Between jobs it
    // spins for `spin` (the next op mostly follows within microseconds, and waking
    // from sleep costs tens of them), then sleeps and leaves the core to whoever
    // wants it. libgomp spins 300,000 pauses, ~6 ms. On the Zen 5 VM, idle,
    // layoutlm_base/8x128 ran as fast with 2,000 pauses (41 us) as with 20,000 and
    // 6 % slower with 200; with a busy core, 9 % faster than with 20,000.
    [[noreturn]] void work(std::size_t index) {
        constexpr auto spin = std::chrono::microseconds(50);
        std::uint64_t seen = 0;
        bool helped = true;  // a worker left out of the last job sleeps straight away
        for (;;) {
            std::uint64_t s = state_.load(std::memory_order_acquire);
            if (helped && generation(s) == seen) {
                const auto until = std::chrono::steady_clock::now() + spin;
                for (std::size_t spins = 1; generation(s) == seen; ++spins) {
                    cpu_relax();
                    if (spins % 64 == 0 && std::chrono::steady_clock::now() > until) break;
                    s = state_.load(std::memory_order_acquire);
                }
            }
            if (generation(s) == seen) {
                std::unique_lock<std::mutex> lock(mutex_);
                sleepers_.fetch_add(1, std::memory_order_seq_cst);
                while (generation(s = state_.load(std::memory_order_seq_cst)) == seen) wake_.wait(lock);
                sleepers_.fetch_sub(1, std::memory_order_relaxed);
            }
            seen = generation(s);
            helped = index < helpers_of(s);
            if (helped) help(s);
        }
    }

    std::atomic<std::uint64_t> state_{0};
    std::atomic<std::size_t> done_{0};
    std::atomic<bool> busy_{false};
    std::atomic<int> sleepers_{0};
    void (*run_)(void*, std::size_t) = nullptr;
    void* body_ = nullptr;
    std::exception_ptr error_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<std::thread> workers_;  // only grows, and only under busy_
};

}  // namespace mmt::detail
