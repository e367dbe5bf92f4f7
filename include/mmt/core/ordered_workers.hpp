// Work on a stream of inputs in parallel, results handed back in input order, at
// most `capacity` of them taken ahead of the consumer: what keeps decoding images
// on worker threads ahead of the forward passes without holding a whole
// collection. Worker threads are std::threads of their own, beside the ops' pool
// (core/threading.hpp): a parallel_for on a worker while a forward pass holds the
// pool runs whole on the worker's thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "mmt/core/error.hpp"

namespace mmt {

template <class Input, class Output>
class ordered_workers {
public:
    // take() gives the next input, or nullopt at the end; it is called under a lock,
    // one call at a time, so a sequential reader needs no lock of its own. process()
    // runs on `threads` worker threads. Both may throw: the exception reaches pop()
    // at the position it was thrown for, and take() is not called again after it.
    ordered_workers(std::size_t threads, std::size_t capacity, std::function<std::optional<Input>()> take,
                    std::function<Output(Input)> process)
        : take_(std::move(take)), process_(std::move(process)), slots_(capacity) {
        if (threads == 0 || capacity == 0)
            fail<input_error>("ordered_workers: expected at least 1 thread and a capacity of at least 1, got ", threads,
                              " threads and capacity ", capacity);
        for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
    }
    ordered_workers(const ordered_workers&) = delete;
    ordered_workers& operator=(const ordered_workers&) = delete;

    // Workers finish the input in hand and stop; what was not popped is dropped.
    ~ordered_workers() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
        }
        changed_.notify_all();
        for (auto& t : threads_) t.join();
    }

    // The next output in input order (waits for it); nullopt once take() has ended
    // and every output before the end was popped.
    std::optional<Output> pop() {
        std::unique_lock<std::mutex> lock(mutex_);
        slot& s = slots_[popped_ % slots_.size()];
        changed_.wait(lock, [&] { return s.ready || (ended_ && popped_ == end_); });
        if (!s.ready) return std::nullopt;
        std::optional<Output> out = std::move(s.output);
        const std::exception_ptr failure = std::exchange(s.failure, nullptr);
        s.ready = false;
        s.output.reset();
        ++popped_;
        lock.unlock();
        changed_.notify_all();
        if (failure) std::rethrow_exception(failure);
        return out;
    }

private:
    struct slot {
        bool ready = false;
        std::optional<Output> output;
        std::exception_ptr failure;
    };

    void work() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            changed_.wait(lock, [&] { return stopping_ || ended_ || taken_ < popped_ + slots_.size(); });
            if (stopping_ || ended_) return;
            const std::size_t position = taken_;
            std::optional<Input> input;
            std::exception_ptr failure;
            try {
                input = take_();
            } catch (...) {
                failure = std::current_exception();
            }
            if (!input && !failure) {
                end(position);
                return;
            }
            ++taken_;
            if (failure) end(taken_);  // the failure is the last thing popped
            lock.unlock();
            std::optional<Output> output;
            if (!failure) {
                try {
                    output.emplace(process_(std::move(*input)));
                } catch (...) {
                    failure = std::current_exception();
                }
            }
            lock.lock();
            slot& s = slots_[position % slots_.size()];
            s.output = std::move(output);
            s.failure = failure;
            s.ready = true;
            changed_.notify_all();
        }
    }

    void end(std::size_t position) {  // under the lock
        ended_ = true;
        end_ = position;
        changed_.notify_all();
    }

    std::function<std::optional<Input>()> take_;
    std::function<Output(Input)> process_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<slot> slots_;  // position p waits in slots_[p % capacity]
    std::size_t taken_ = 0;    // inputs taken so far
    std::size_t popped_ = 0;   // outputs popped so far
    bool ended_ = false;       // take() ended or threw: no position from end_ on
    std::size_t end_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> threads_;  // last: started once everything else is built
};

}  // namespace mmt
