// An environment variable set (or, with nullptr, unset) for a scope and put back
// as it was afterwards, for tests of what the library reads from the environment.
#pragma once

#include <cstdlib>
#include <string>

namespace mmt::test {

class env_setting {
public:
    env_setting(const char* name, const char* value) : name_(name) {
        const char* before = std::getenv(name);
        had_ = before != nullptr;
        if (had_) before_ = before;
        if (value) setenv(name, value, 1);
        else unsetenv(name);
    }
    env_setting(const env_setting&) = delete;
    env_setting& operator=(const env_setting&) = delete;
    ~env_setting() {
        if (had_) setenv(name_, before_.c_str(), 1);
        else unsetenv(name_);
    }

private:
    const char* name_;
    bool had_ = false;
    std::string before_;
};

}  // namespace mmt::test
