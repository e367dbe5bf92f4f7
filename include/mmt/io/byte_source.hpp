// Bytes read at any offset, from a file (POSIX pread) or from memory.
//
// Checkpoints are read this way rather than memory-mapped: with a mapping, a file
// truncated by another process after it was opened (a download restarted, a
// training job rewriting its checkpoint) kills the reader with SIGBUS at the first
// touch of a page past the new end; with pread it is a short read, reported as an
// io_error. The bytes are copied once either way, since models copy their weights
// out at load. Reads keep no file position, so one source serves many threads.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "mmt/core/error.hpp"
#include "mmt/core/threading.hpp"
#include "mmt/io/open_error.hpp"

namespace mmt::io {

class byte_source {
public:
    // A regular file; io_error naming it when it cannot be opened.
    static byte_source open(const std::filesystem::path& path) {
        byte_source s;
        s.name_ = path;
        s.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (s.fd_ < 0) fail_to_open(path, errno);
        struct stat st {};
        if (::fstat(s.fd_, &st) != 0) fail<io_error>("cannot stat '", path.string(), "': ", std::strerror(errno));
        if (!S_ISREG(st.st_mode)) fail<io_error>("'", path.string(), "' is not a regular file");
        s.size_ = static_cast<std::size_t>(st.st_size);
        return s;
    }

    // Bytes held in memory; `name` stands for the path in messages.
    static byte_source from_bytes(std::string bytes, std::filesystem::path name) {
        byte_source s;
        s.name_ = std::move(name);
        s.memory_ = std::move(bytes);
        s.size_ = s.memory_.size();
        return s;
    }

    byte_source(const byte_source&) = delete;
    byte_source& operator=(const byte_source&) = delete;
    byte_source(byte_source&& other) noexcept
        : name_(std::move(other.name_)), memory_(std::move(other.memory_)), fd_(std::exchange(other.fd_, -1)),
          size_(other.size_) {}
    byte_source& operator=(byte_source&&) = delete;
    ~byte_source() {
        if (fd_ >= 0) ::close(fd_);
    }

    const std::filesystem::path& name() const { return name_; }
    // The size when opened; reads are checked against it.
    std::size_t size() const { return size_; }

    // Bytes [offset, offset + count) into `out`. io_error when they lie past the size
    // at open, or when the file has since been cut shorter.
    void read(std::size_t offset, std::size_t count, void* out) const {
        if (offset > size_ || count > size_ - offset)
            fail<io_error>("'", name_.string(), "': bytes [", offset, ", ", offset + count, ") lie past its end (",
                           size_, " bytes)");
        if (fd_ < 0) {
            if (count > 0) std::memcpy(out, memory_.data() + offset, count);
            return;
        }
        // A large read in 1 MiB slices on all threads: copying out of the page cache
        // is a fifth of loading a model, and one thread leaves the others waiting.
        constexpr std::size_t slice = std::size_t(1) << 20;
        parallel_for((count + slice - 1) / slice, 2, [&](std::size_t s0, std::size_t s1) {
            const std::size_t begin = s0 * slice, end = std::min(count, s1 * slice);
            pread_all(offset + begin, end - begin, static_cast<unsigned char*>(out) + begin, offset, count);
        });
    }

private:
    // Bytes [at, at + n) of the file, part of the caller's read of [offset, offset + count).
    void pread_all(std::size_t at, std::size_t n, unsigned char* dst, std::size_t offset, std::size_t count) const {
        for (std::size_t done = 0; done < n;) {
            const ssize_t got = ::pread(fd_, dst + done, n - done, static_cast<off_t>(at + done));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) fail<io_error>("cannot read '", name_.string(), "': ", std::strerror(errno));
            if (got == 0)
                fail<io_error>("'", name_.string(), "' ends at byte ", at + done, " while reading bytes [", offset,
                               ", ", offset + count, "); it had ", size_,
                               " bytes when opened: was it truncated or replaced by another process?");
            done += static_cast<std::size_t>(got);
        }
    }

    byte_source() = default;

    std::filesystem::path name_;
    std::string memory_;  // the bytes, when not a file
    int fd_ = -1;
    std::size_t size_ = 0;
};

}  // namespace mmt::io
