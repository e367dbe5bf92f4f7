// Error paths are checked by exception type and message: check_throws<E>(f, {parts})
// CHECKs that f() throws an E whose message contains every part, and shows the
// message it got when it does not.
#pragma once

#include <exception>
#include <initializer_list>
#include <string>
#include <typeinfo>

#include <doctest/doctest.h>

namespace mmt::test {

template <class E, class F>
void check_throws(F&& f, std::initializer_list<std::string> parts) {
    try {
        f();
    } catch (const E& e) {
        const std::string message = e.what();
        for (const auto& part : parts)
            CHECK_MESSAGE(message.find(part) != std::string::npos, "message \"" << message << "\" lacks \"" << part << "\"");
        return;
    } catch (const std::exception& e) {
        FAIL_CHECK("expected " << std::string(typeid(E).name()) << ", got " << std::string(typeid(e).name()) << ": " << std::string(e.what()));
        return;
    }
    FAIL_CHECK("expected " << std::string(typeid(E).name()) << ", nothing was thrown");
}

}  // namespace mmt::test
