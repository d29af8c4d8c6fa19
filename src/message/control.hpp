// The control plane's wire format: every TCP connection (CLI -> coordinator, daemon ->
// coordinator) carries frames of a u32 little-endian length followed by that many bytes of JSON,
// one message per frame, `{"type": "<direction>.<name>", ...fields}`.
//
// Every connection opens with a hello, before anything else; it is a challenge in both directions:
//   server -> client  Challenge {protocol, dora_version, nonce (64 hex chars), token_required, tls}
//   (with a cluster token: tls is true, and both sides switch to TLS 1.3 here; see
//   tls/control_tls.hpp. Everything below is encrypted.)
//   client -> server  Hello     {protocol, dora_version, role ("cli" | "daemon"), nonce, proof}
//   server -> client  Welcome {proof} | Error {message}, then close
// With a cluster token, the client's proof is auth.hpp's client_proof over both nonces, the role
// and the TLS session's channel binding, and the Welcome's is coordinator_proof over the same: a
// client acts on nothing a coordinator sends until that proof checks (a fake coordinator cannot
// make a daemon do anything, and one in the middle cannot relay the proofs). Without a token
// both proofs are "" and the connection is plain (loopback only). A protocol mismatch is refused
// with an error naming both versions.
//
// Message types by direction: cli_to_coordinator.hpp, coordinator_to_cli.hpp,
// daemon_to_coordinator.hpp, coordinator_to_daemon.hpp.
//
// Thread safety: FrameReader is a plain value used by one thread; free functions are pure.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/error.hpp"

namespace dora::message {

// 4: ends of streams signed by the producer's daemon (DaemonRegister::stream_end_key); 3: TLS
// after the challenge with a token, proofs bound to it; 2: both sides prove the token (1 proved
// only the client).
inline constexpr int kProtocolVersion = 4;
// Large enough for a dataflow file of tens of thousands of nodes and a batch of log lines;
// anything larger is refused, by the sender before it sends and by the receiver. Kept (not raised)
// because a receiver holds a message whole and parses it into a JSON tree several times its size:
// the limit bounds what one peer can make the coordinator or a daemon hold.
inline constexpr uint32_t kMaxFrameSize = 16u << 20;
// Error code of a message refused for its size (nothing was sent; the connection is intact).
inline constexpr int kFrameTooLarge = EMSGSIZE;

// "52428800 bytes (50.0 MiB)"
[[nodiscard]] std::string size_text(uint64_t bytes);
// "the control channel carries at most 16 MiB (16777216 bytes) per message"
[[nodiscard]] std::string frame_limit_text();

// Encodes one message as a frame (length prefix + JSON).
[[nodiscard]] std::string encode_frame(const nlohmann::json& message);
// The same, or an error (code kFrameTooLarge) naming the message type, its size and the limit.
[[nodiscard]] Result<std::string> encode_frame_checked(const nlohmann::json& message);

// Takes bytes as they arrive and yields complete messages. A length over kMaxFrameSize, bytes
// that are not JSON, or JSON without a string "type" make next() fail; the connection must then
// be closed.
// After a message of kLargeFrameBytes or more, the following call to next() (made once the caller
// is done with that message) gives the memory it took back: the input buffer if nothing else is
// in it, and the heap's free memory (sys::return_free_heap). A 15 MB dataflow file would otherwise
// leave the coordinator at its high-water mark.
class FrameReader {
  public:
    void feed(std::string_view bytes) { buffer_.append(bytes); }
    // The next complete message, std::nullopt if more bytes are needed.
    [[nodiscard]] Result<std::optional<nlohmann::json>> next();
    // Bytes fed and not yet taken as messages.
    [[nodiscard]] size_t buffered() const { return buffer_.size() - offset_; }

  private:
    std::string buffer_;
    size_t offset_ = 0;
    bool large_frame_read_ = false;
};

// A control buffer above this is not kept once it is empty.
inline constexpr size_t kLargeFrameBytes = size_t{1} << 20;

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
    // TLS follows this message: the client starts its handshake, then sends its Hello encrypted.
    bool tls = false;
    static constexpr const char* kType = "hello.challenge";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Challenge, protocol, dora_version, nonce,
                                                token_required, tls)

struct Hello {
    int protocol = kProtocolVersion;
    std::string dora_version;
    std::string role;   // cli | daemon
    std::string nonce;  // the client's challenge to the coordinator
    std::string proof;
    static constexpr const char* kType = "hello.hello";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Hello, protocol, dora_version, role, nonce, proof)

struct Welcome {
    std::string proof;  // the coordinator's answer to the client's nonce ("" without a token)
    static constexpr const char* kType = "hello.welcome";
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Welcome, proof)

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

// The typed JSON of whichever message a direction's variant holds.
template <typename... Ts>
[[nodiscard]] nlohmann::json make(const std::variant<Ts...>& message) {
    return std::visit([](const auto& m) { return make(m); }, message);
}

// Both ends of a connection, named in protocol errors so the user sees which versions disagree.
struct Versions {
    std::string_view self;    // "coordinator", "daemon", "CLI"
    std::string_view ours;    // our dora version text
    std::string_view peer;    // "the daemon of machine `edge1` (10.0.0.2:41234)"
    std::string_view theirs;  // the dora version the peer gave in its hello ("" if unknown)
};

namespace detail {
template <typename Variant, size_t I = 0>
Result<Variant> decode_alternative(const nlohmann::json& message, std::string_view type,
                                   bool& matched) {
    if constexpr (I == std::variant_size_v<Variant>) {
        return Variant{};
    } else {
        using T = std::variant_alternative_t<I, Variant>;
        if (type == T::kType) {
            matched = true;
            auto parsed = parse_as<T>(message);
            if (!parsed) {
                return tl::unexpected<Error>(parsed.error());
            }
            return Variant(std::in_place_index<I>, std::move(*parsed));
        }
        return decode_alternative<Variant, I + 1>(message, type, matched);
    }
}
}  // namespace detail

// Decodes a message of one direction (a std::variant of its message structs) in one step: its
// "type" picks the struct, its fields fill it. An unknown type is a protocol error naming both
// sides' versions; malformed fields name the message type.
template <typename Variant>
[[nodiscard]] Result<Variant> decode(const nlohmann::json& message, const Versions& versions) {
    const std::string type = message.value("type", std::string());
    bool matched = false;
    auto decoded = detail::decode_alternative<Variant>(message, type, matched);
    if (!matched) {
        return fail(
            "protocol error: {} sent a message of unknown type `{}` ({}{}); this {} is {} "
            "(control protocol {}): run the same dora version on every machine",
            versions.peer, type, versions.theirs.empty() ? "version unknown" : "it runs ",
            versions.theirs, versions.self, versions.ours, kProtocolVersion);
    }
    return decoded;
}

}  // namespace dora::message
