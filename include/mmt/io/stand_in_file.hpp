// Files that stand where a download should be: a Git LFS pointer (a repository
// cloned without git-lfs) or an HTML page (a login, error or web page saved under
// the file's name). They are recognised from their first bytes, so the error says
// what the file is rather than how its bytes misread as the expected format (an
// LFS pointer read as safetensors declares a header of 5.7e18 bytes).
#pragma once

#include <cctype>
#include <string>
#include <string_view>

#include "mmt/core/error.hpp"

namespace mmt::io {

// format_error naming `where` when `head` (the file's first bytes; 64 are enough)
// is a Git LFS pointer or an HTML page instead of `expected` ("a safetensors file").
inline void check_not_stand_in(std::string_view head, const std::string& where, const char* expected) {
    if (head.substr(0, 40) == "version https://git-lfs.github.com/spec/")
        fail<format_error>(where, ": this is a Git LFS pointer, not ", expected,
                           ": download the real file (`git lfs pull` in a clone made without git-lfs, or download it from the Hub)");
    if (head.substr(0, 3) == "\xEF\xBB\xBF") head.remove_prefix(3);
    while (!head.empty() && std::isspace(static_cast<unsigned char>(head.front()))) head.remove_prefix(1);
    std::string start(head.substr(0, 14));
    for (char& c : start) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (start == "<!doctype html" || start.compare(0, 5, "<html") == 0)
        fail<format_error>(where, ": this is an HTML page, not ", expected,
                           ": download the real file (a web page was saved under its name: a login or error page, "
                           "or a /blob/ link where /resolve/ gives the file)");
}

}  // namespace mmt::io
