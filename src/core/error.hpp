// Error values for the whole runtime.
//
// Inside the runtime, fallible functions return `Result<T>` (tl::expected<T, Error>) instead of
// throwing; exceptions are used only at the edges (CLI main, Python bindings, the throwing layer
// of the C++ node API). An Error carries one human-readable message that says what went wrong,
// where, and what to do; `context()` prefixes where it happened as the error travels up.
//
// Thread safety: values; no shared state.
#pragma once

#include <fmt/format.h>

#include <string>
#include <tl/expected.hpp>
#include <utility>

namespace dora {

class Error {
  public:
    Error() = default;
    explicit Error(std::string message) : message_(std::move(message)) {}

    template <typename... Args>
    [[nodiscard]] static Error make(fmt::format_string<Args...> format, Args&&... args) {
        return Error(fmt::format(format, std::forward<Args>(args)...));
    }

    [[nodiscard]] const std::string& message() const { return message_; }
    // The errno behind a system call's error (0 when the error has no such cause), so callers can
    // react to one condition (EADDRINUSE, ...) without reading the text.
    [[nodiscard]] int code() const { return code_; }
    [[nodiscard]] Error with_code(int code) && {
        code_ = code;
        return std::move(*this);
    }

    // Returns this error with "<where>: " put in front of its message (the code is kept).
    [[nodiscard]] Error context(std::string_view where) const& {
        return Error(fmt::format("{}: {}", where, message_)).with_code(code_);
    }

  private:
    std::string message_;
    int code_ = 0;
};

template <typename T = void>
using Result = tl::expected<T, Error>;

// `return fail("bad {}", x);` inside a function returning Result<T>.
template <typename... Args>
[[nodiscard]] tl::unexpected<Error> fail(fmt::format_string<Args...> format, Args&&... args) {
    return tl::unexpected<Error>(Error::make(format, std::forward<Args>(args)...));
}

[[nodiscard]] inline tl::unexpected<Error> fail(Error error) {
    return tl::unexpected<Error>(std::move(error));
}

// Exception thrown by the throwing convenience layers (C++ node API, CLI).
class Exception : public std::exception {
  public:
    explicit Exception(Error error) : error_(std::move(error)) {}
    [[nodiscard]] const char* what() const noexcept override { return error_.message().c_str(); }
    [[nodiscard]] const Error& error() const { return error_; }

  private:
    Error error_;
};

}  // namespace dora
