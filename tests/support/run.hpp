// Running programs from tests: a shell command line, its exit code and output.
#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mmt::test {

struct run_result {
    int exit_code = -1;
    std::string output;  // stdout, and stderr when asked for
};

// Runs a shell command line; quote arguments with quote().
inline run_result run(const std::string& command, bool with_stderr = false) {
    run_result r;
    FILE* pipe = ::popen((command + (with_stderr ? " 2>&1" : " 2>/dev/null")).c_str(), "r");
    if (!pipe) return r;
    std::array<char, 4096> buffer;
    std::size_t n;
    while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) r.output.append(buffer.data(), n);
    const int status = ::pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

// Runs a shell command line with its output discarded and returns the peak
// resident size of the process it ran, in bytes (wait4's ru_maxrss, which covers
// the command the shell execs); 0 when it failed to run or exited non-zero.
inline std::size_t peak_rss_of(const std::string& command) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execl("/bin/sh", "sh", "-c", ("exec " + command + " >/dev/null 2>&1").c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    if (pid < 0) return 0;
    int status = 0;
    struct rusage usage {};
    if (::wait4(pid, &status, 0, &usage) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 0;
    return static_cast<std::size_t>(usage.ru_maxrss) * 1024;
}

inline std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

}  // namespace mmt::test
