// The io_error of a file that cannot be opened. A symbolic link whose target is
// gone (a Hugging Face cache whose blob was deleted) is named with its target:
// "No such file or directory" about a name that `ls` lists would mislead.
#pragma once

#include <cstring>
#include <filesystem>
#include <system_error>

#include "mmt/core/error.hpp"

namespace mmt::io {

inline bool is_broken_link(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::is_symlink(std::filesystem::symlink_status(path, ec)) && !std::filesystem::exists(path, ec);
}

[[noreturn]] inline void fail_broken_link(const std::filesystem::path& path) {
    std::error_code ec;
    fail<io_error>("'", path.string(), "' is a symbolic link to '", std::filesystem::read_symlink(path, ec).string(),
                   "', which does not exist (a Hugging Face cache whose blob was deleted?): download the file again");
}

// `err` is the errno of the failed open.
[[noreturn]] inline void fail_to_open(const std::filesystem::path& path, int err) {
    if (is_broken_link(path)) fail_broken_link(path);
    fail<io_error>("cannot open '", path.string(), "': ", std::strerror(err));
}

}  // namespace mmt::io
