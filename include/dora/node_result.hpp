// dora::NodeError and dora::NodeResult<T>: how the node API reports failure.
//
// Every fallible call of dora::Node comes in two spellings: `send_output(...)` throws NodeError,
// `try_send_output(...)` returns a NodeResult that holds either the value (nothing, for calls
// without one) or the error message. The throwing call is the `try_` call followed by value(), so
// both say exactly the same thing. NodeResult depends on the standard library only, since node
// authors compile against the installed header.
//
//     auto sent = node.try_send_output("out", bytes);
//     if (!sent) {
//         std::cerr << "not sent: " << sent.error() << "\n";
//     }
//
// Thread safety: values; a NodeResult is used by one thread at a time like any value type.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include "dora/export.hpp"

namespace dora {

// What the throwing calls of the node API throw; what() says what went wrong and what to do.
class DORA_NODE_API NodeError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

template <typename T = void>
class [[nodiscard]] NodeResult {
  public:
    NodeResult(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit

    // A failed result carrying `message`.
    [[nodiscard]] static NodeResult failure(std::string message) {
        return NodeResult(Failure{std::move(message)});
    }

    [[nodiscard]] bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    // The value; throws NodeError with the error message when the call failed.
    [[nodiscard]] T& value() & {
        throw_if_failed();
        return std::get<0>(state_);
    }
    [[nodiscard]] const T& value() const& {
        throw_if_failed();
        return std::get<0>(state_);
    }
    [[nodiscard]] T&& value() && {
        throw_if_failed();
        return std::get<0>(std::move(state_));
    }
    // Unchecked access: only after has_value() returned true (else std::bad_variant_access).
    [[nodiscard]] T& operator*() & { return std::get<0>(state_); }
    [[nodiscard]] const T& operator*() const& { return std::get<0>(state_); }
    [[nodiscard]] T&& operator*() && { return std::get<0>(std::move(state_)); }
    [[nodiscard]] T* operator->() { return &std::get<0>(state_); }
    [[nodiscard]] const T* operator->() const { return &std::get<0>(state_); }

    // Why the call failed; empty when it did not.
    [[nodiscard]] const std::string& error() const noexcept {
        static const std::string kNone;
        return has_value() ? kNone : std::get<1>(state_).message;
    }

  private:
    struct Failure {
        std::string message;
    };
    explicit NodeResult(Failure failure) : state_(std::in_place_index<1>, std::move(failure)) {}
    void throw_if_failed() const {
        if (!has_value()) {
            throw NodeError(std::get<1>(state_).message);
        }
    }

    std::variant<T, Failure> state_;
};

template <>
class [[nodiscard]] NodeResult<void> {
  public:
    NodeResult() = default;

    [[nodiscard]] static NodeResult failure(std::string message) {
        NodeResult result;
        result.failed_ = true;
        result.error_ = std::move(message);
        return result;
    }

    [[nodiscard]] bool has_value() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return has_value(); }
    // Throws NodeError with the error message when the call failed.
    void value() const {
        if (failed_) {
            throw NodeError(error_);
        }
    }
    [[nodiscard]] const std::string& error() const noexcept { return error_; }

  private:
    bool failed_ = false;
    std::string error_;
};

}  // namespace dora
