// The control plane's wire format: every TCP connection (CLI -> coordinator, daemon ->
// coordinator) carries frames of a u32 little-endian length followed by that many bytes of JSON,
// one message per frame, `{"type": "<direction>.<name>", ...fields}`.
//
// Every connection opens with a hello, before anything else:
//   server -> client  Challenge {protocol, dora_version, nonce (64 hex chars), token_required}
//   client -> server  Hello     {protocol, dora_version, role ("cli" | "daemon"), proof}
//   server -> client  Welcome {} | Error {message}, then close
// `proof` is HMAC-SHA256(cluster token, nonce) in hex (auth.hpp), or "" without a token. A
// protocol mismatch is refused with an error naming both versions.
//
// Message types by direction: cli_to_coordinator.hpp, coordinator_to_cli.hpp,
// daemon_to_coordinator.hpp, coordinator_to_daemon.hpp.
//
// Thread safety: FrameReader is a plain value used by one thread; free functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace dora::message {

inline constexpr int kProtocolVersion = 1;
// Large enough for a dataflow file and a batch of log lines; anything larger is refused.
inline constexpr uint32_t kMaxFrameSize = 16u << 20;

// Encodes one message as a frame (length prefix + JSON).
[[nodiscard]] std::string encode_frame(const nlohmann::json& message);

// Takes bytes as they arrive and yields complete messages. A length over kMaxFrameSize, bytes
// that are not JSON, or JSON without a string "type" make next() fail; the connection must then
// be closed.
class FrameReader {
  public:
    void feed(std::string_view bytes) { buffer_.append(bytes); }
    // The next complete message, std::nullopt if more bytes are needed.
    [[nodiscard]] Result<std::optional<nlohmann::json>> next();

  private:
    std::string buffer_;
    size_t offset_ = 0;
};

// `message` with "type" set: `with_type("cli.start", json(start))`.
[[nodiscard]] nlohmann::json with_type(std::string_view type, nlohmann::json message);

// Reads a message's fields into T (a struct with NLOHMANN_DEFINE_TYPE_*); the error names the
// message type and what is wrong.
template <typename T>
[[nodiscard]] Result<T> parse_as(const nlohmann::json& message) {
    try {
        return message.get<T>();
    } catch (const nlohmann::json::exception& e) {
        return fail("malformed {} message: {}", message.value("type", std::string("?")), e.what());
    }
}

struct Challenge {
    int protocol = kProtocolVersion;
    std::string dora_version;
    std::string nonce;
    bool token_required = false;
    static constexpr const char* kType = "hello.challenge";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Challenge, protocol, dora_version, nonce,
                                                token_required)

struct Hello {
    int protocol = kProtocolVersion;
    std::string dora_version;
    std::string role;  // cli | daemon
    std::string proof;
    static constexpr const char* kType = "hello.hello";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Hello, protocol, dora_version, role, proof)

struct Welcome {
    static constexpr const char* kType = "hello.welcome";
};
inline void to_json(nlohmann::json& j, const Welcome&) { j = nlohmann::json::object(); }
inline void from_json(const nlohmann::json&, Welcome&) {}

// Any direction: a request failed, or the connection is refused.
struct ErrorMessage {
    std::string message;
    static constexpr const char* kType = "error";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ErrorMessage, message)

// Builds the typed JSON of a message struct.
template <typename T>
[[nodiscard]] nlohmann::json make(const T& message) {
    return with_type(T::kType, nlohmann::json(message));
}

}  // namespace dora::message
