// A read-only memory map of a whole file (POSIX), so images and audio are
// decoded without copying them into the heap first. If another process truncates
// the file while it is mapped, touching a page past the new end raises SIGBUS, as
// for every mapped reader; checkpoints are read with pread instead (byte_source.hpp).
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <utility>

#include "mmt/core/error.hpp"
#include "mmt/io/open_error.hpp"

namespace mmt::io {

class mapped_file {
public:
    explicit mapped_file(const std::filesystem::path& path) : path_(path) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) fail_to_open(path, errno);
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            int err = errno;
            ::close(fd);
            fail<io_error>("cannot stat '", path.string(), "': ", std::strerror(err));
        }
        if (!S_ISREG(st.st_mode)) {
            ::close(fd);
            fail<io_error>("'", path.string(), "' is not a regular file");
        }
        size_ = static_cast<std::size_t>(st.st_size);
        if (size_ > 0) {
            void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                int err = errno;
                ::close(fd);
                fail<io_error>("cannot map '", path.string(), "': ", std::strerror(err));
            }
            data_ = static_cast<const unsigned char*>(p);
        }
        ::close(fd);
    }
    mapped_file(const mapped_file&) = delete;
    mapped_file& operator=(const mapped_file&) = delete;
    mapped_file(mapped_file&& other) noexcept
        : path_(std::move(other.path_)), data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
    mapped_file& operator=(mapped_file&& other) noexcept {
        if (this != &other) {
            unmap();
            path_ = std::move(other.path_);
            data_ = std::exchange(other.data_, nullptr);
            size_ = std::exchange(other.size_, 0);
        }
        return *this;
    }
    ~mapped_file() { unmap(); }

    const unsigned char* data() const { return data_; }
    std::size_t size() const { return size_; }
    const std::filesystem::path& path() const { return path_; }

private:
    void unmap() {
        if (data_) ::munmap(const_cast<unsigned char*>(data_), size_);
        data_ = nullptr;
    }

    std::filesystem::path path_;
    const unsigned char* data_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace mmt::io
