// Running programs from tests: a shell command line, its exit code and output.
#pragma once

#include <array>
#include <cstddef>
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

// Starts a shell command line with its output discarded and returns at once: the
// process id, which is the command's (the shell execs it), for wait_for or kill.
inline pid_t spawn(const std::string& command) {
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execl("/bin/sh", "sh", "-c", ("exec " + command + " >/dev/null 2>&1").c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    return pid;
}

struct finished_process {
    int exit_code = -1;         // -1 when it was killed by a signal or could not be started
    std::size_t peak_rss = 0;  // bytes: wait4's ru_maxrss
};

// Waits for a process that spawn started.
inline finished_process wait_for(pid_t pid) {
    finished_process r;
    int status = 0;
    struct rusage usage {};
    if (pid <= 0 || ::wait4(pid, &status, 0, &usage) != pid) return r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.peak_rss = static_cast<std::size_t>(usage.ru_maxrss) * 1024;
    return r;
}

// The peak resident size of a shell command line run to its end, in bytes; 0 when
// it failed to run or exited non-zero.
inline std::size_t peak_rss_of(const std::string& command) {
    const finished_process r = wait_for(spawn(command));
    return r.exit_code == 0 ? r.peak_rss : 0;
}

inline std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

}  // namespace mmt::test
