// The control plane's byte stream over one TCP socket: outgoing frames queued and written as the
// socket takes them, incoming bytes cut into messages (control.hpp framing). The socket is not
// owned (its owner watches it on an event loop, or polls it); every call gets the descriptor.
// Used by every control connection: the coordinator's connections and the daemon's link through
// Channel (channel.hpp), the CLI directly with the blocking helpers.
//
// Limits: a message over kMaxFrameSize is refused before it is queued; a peer that sends a frame
// over kMaxFrameSize, or (before set_input_limit(0)) more than
// the input limit in all, fails the stream; a peer that does not read its messages fails it once
// more than `max_queued` bytes wait.
//
// After start_secure() every byte goes through a SecureStream (secure_stream.hpp): the hello's
// challenge is the only plain message on a connection with a cluster token.
//
// Thread safety: one thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "message/control.hpp"
#include "message/secure_stream.hpp"

namespace dora::message {

inline constexpr size_t kMaxQueuedBytes = 64u << 20;

class FramedStream {
  public:
    explicit FramedStream(size_t max_queued = kMaxQueuedBytes) : max_queued_(max_queued) {}

    // Appends one message to the output; fails when the peer has left too much unread, or (code
    // kFrameTooLarge, nothing queued, the stream still usable) when the message is over
    // kMaxFrameSize.
    [[nodiscard]] Result<> queue(const nlohmann::json& message);
    // Writes what the socket takes now; true once nothing is left.
    [[nodiscard]] Result<bool> write_some(int fd);
    [[nodiscard]] size_t queued_bytes() const { return out_.size() - sent_; }

    enum class Input { kOpen, kEof };
    // Reads what the socket has (a bounded amount, so other work gets its turn) into the input
    // buffer. Complete messages are then taken with next(); kEof after the peer closed (the
    // messages before the end are still there to take).
    [[nodiscard]] Result<Input> read_some(int fd);
    // The next complete message, std::nullopt if more bytes are needed.
    [[nodiscard]] Result<std::optional<nlohmann::json>> next() { return reader_.next(); }

    // Bytes a peer may send in all before the limit is lifted (0: no limit).
    void set_input_limit(size_t bytes) { input_limit_ = bytes; }

    // From now on every byte goes through `secure`, whose handshake has finished (Channel drives
    // it on a loop; start_secure_blocking here). Refused while plain bytes wait to be sent or
    // were received and not taken: they would be read or sent on the wrong side of the switch.
    [[nodiscard]] Result<> start_secure(std::unique_ptr<SecureStream> secure);
    // The handshake with poll, then start_secure(); the deadline's error names who did not answer.
    [[nodiscard]] Result<> start_secure_blocking(int fd, std::unique_ptr<SecureStream> secure,
                                                 std::chrono::milliseconds timeout);
    [[nodiscard]] SecureStream* secure() const { return secure_.get(); }
    // Decrypted bytes wait inside the secure stream: read_some() without waiting for the socket.
    [[nodiscard]] bool has_pending() const { return secure_ && secure_->has_pending(); }

    // Blocking forms (poll) for a client without an event loop.
    [[nodiscard]] Result<> send_blocking(int fd, const nlohmann::json& message,
                                         std::chrono::milliseconds timeout);
    // The next message within `timeout` (std::nullopt when none came); an error once the peer
    // closed or sent something unreadable.
    [[nodiscard]] Result<std::optional<nlohmann::json>> receive_blocking(
        int fd, std::chrono::milliseconds timeout);

  private:
    [[nodiscard]] Result<std::optional<size_t>> read_bytes(int fd, void* buffer, size_t size);
    [[nodiscard]] Result<size_t> send_bytes(int fd, const void* data, size_t size);

    size_t max_queued_;
    std::unique_ptr<SecureStream> secure_;
    std::string out_;
    size_t sent_ = 0;
    FrameReader reader_;
    size_t received_ = 0;
    size_t input_limit_ = 0;
    bool eof_ = false;
};

}  // namespace dora::message
