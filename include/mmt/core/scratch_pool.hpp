// Float buffers that outlive a call, for activations too large to allocate afresh
// each time. glibc maps an allocation of more than 32 MiB on its own and unmaps it
// when freed, so the next call faults in every page again: wav2vec2's first
// convolution writes 65 MB at 10 s of audio, and those faults took about a fifth
// of wav2vec2_base/seconds:10 on the Zen 5 VM (540 against 416 ms with glibc told
// to keep its memory). A model keeps a pool; each call leases what it needs and
// gives it back. Calls at once get buffers of their own, so the pool holds at most
// as many as ran together, each of the largest size asked for, and of those the
// largest that fit in `keep_bytes` together: a rare long input (two minutes of audio
// in one pass leases 1.2 GB) frees what does not fit as it returns, rather than
// holding it until the model is destroyed. Buffers come from allocate_large
// (core/huge_pages.hpp), so a first call faults them in 2 MiB pages.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "mmt/core/huge_pages.hpp"

namespace mmt {

class scratch_pool {
    struct buffer {
        std::unique_ptr<float[], free_deleter> data;
        std::size_t capacity = 0;  // floats
    };

public:
    // 512 MiB: the feature encoder's pair at 30 s of audio (`mmt transcribe`'s chunks) is 295 MB.
    static constexpr std::size_t default_keep_bytes = std::size_t(512) << 20;

    explicit scratch_pool(std::size_t keep_bytes = default_keep_bytes) : keep_bytes_(keep_bytes) {}

    // A buffer of at least `count` floats (uninitialised) until it is destroyed.
    class lease {
    public:
        lease(lease&& other) noexcept : pool_(other.pool_), buffer_(std::move(other.buffer_)) { other.pool_ = nullptr; }
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        lease& operator=(lease&&) = delete;
        ~lease() {
            if (pool_) pool_->give_back(std::move(buffer_));
        }
        float* data() const { return buffer_.data.get(); }

    private:
        friend class scratch_pool;
        lease(scratch_pool* pool, buffer b) : pool_(pool), buffer_(std::move(b)) {}
        scratch_pool* pool_;
        buffer buffer_;
    };

    // The smallest free buffer that holds `count` floats; else a new one, in place of
    // the largest free buffer (which is then too small), so the pool does not grow
    // past the number of leases held at once.
    lease take(std::size_t count) {
        std::lock_guard<std::mutex> lock(mutex_);
        auto fits = free_.end();
        for (auto it = free_.begin(); it != free_.end(); ++it)
            if (it->capacity >= count && (fits == free_.end() || it->capacity < fits->capacity)) fits = it;
        if (fits == free_.end()) {
            if (!free_.empty()) free_.erase(std::max_element(free_.begin(), free_.end(), by_capacity));
            float* data = allocate_large_array<float>(count);
            if (!data) throw std::bad_alloc();
            return lease(this, buffer{std::unique_ptr<float[], free_deleter>(data), count});
        }
        buffer b = std::move(*fits);
        free_.erase(fits);
        return lease(this, std::move(b));
    }

    // What the pool holds between calls.
    std::size_t free_buffers() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return free_.size();
    }
    std::size_t free_bytes() const {
        std::lock_guard<std::mutex> lock(mutex_);
        std::size_t floats = 0;
        for (const buffer& b : free_) floats += b.capacity;
        return floats * sizeof(float);
    }

private:
    static bool by_capacity(const buffer& a, const buffer& b) { return a.capacity < b.capacity; }

    // Keeps the largest buffers that fit in keep_bytes_ together (they cost the most to
    // fault in again) and frees the rest.
    void give_back(buffer b) {
        std::lock_guard<std::mutex> lock(mutex_);
        free_.push_back(std::move(b));
        std::sort(free_.rbegin(), free_.rend(), by_capacity);  // largest first
        std::size_t kept = 0, floats = 0;
        for (std::size_t i = 0; i < free_.size(); ++i)
            if ((floats + free_[i].capacity) * sizeof(float) <= keep_bytes_) {
                floats += free_[i].capacity;
                if (kept != i) free_[kept] = std::move(free_[i]);
                ++kept;
            }
        free_.resize(kept);  // frees the buffers left behind
    }

    std::size_t keep_bytes_;
    mutable std::mutex mutex_;
    std::vector<buffer> free_;
};

}  // namespace mmt
