// One control connection on an EventLoop (a coordinator's daemon or CLI connection, a daemon's
// link to the coordinator): a FramedStream over a watched socket that hands over whole messages in
// order and writes what is sent as the socket allows.
//
// Lifecycle: open() starts it; the owner learns of its end through `on_closed`, exactly once (the
// peer closed, a bad frame, a write error, an input limit, or close()). Messages that arrived
// before the peer closed are delivered before `on_closed` (a refusal's reason is never lost to the
// close that follows it). After the end the channel is inert (send() does nothing). As in nng, a
// channel is never destroyed from its own handlers: the owner destroys it later (a Deferred, a
// timer, or its own destruction). close_after_flush() writes what is queued, shuts the write side
// and waits briefly for the peer to hang up, so a final error message is read.
//
// start_secure() switches a channel to an encrypted stream (after the plain hello challenge): the
// channel drives its handshake on the loop, holds what is sent meanwhile and writes it encrypted
// once the handshake finished.
//
// Thread safety: the loop thread only.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/event_loop.hpp"
#include "message/framed_stream.hpp"

namespace dora::message {

class Channel {
  public:
    using MessageHandler = std::function<void(nlohmann::json message)>;
    using ClosedHandler = std::function<void(const std::string& reason)>;

    // Serves `fd` (a connected, non-blocking socket). With `input_limit` non-zero the peer may
    // send at most that many bytes until lift_input_limit() (an unauthenticated peer cannot make
    // us buffer a 16 MiB frame).
    [[nodiscard]] static Result<std::unique_ptr<Channel>> open(EventLoop& loop, sys::UniqueFd fd,
                                                               MessageHandler on_message,
                                                               ClosedHandler on_closed,
                                                               size_t input_limit = 0);
    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;

    // Queues one message; written as the socket allows. A message over kMaxFrameSize is refused
    // (error code kFrameTooLarge) and the channel stays open; any other error closes it.
    Result<> send(const nlohmann::json& message);
    // Ends the connection now; `on_closed` runs with `reason`.
    void close(const std::string& reason);
    // Sends what is queued, then ends (with `reason`) once the peer hung up or `linger` passed.
    void close_after_flush(const std::string& reason,
                           SteadyClock::duration linger = std::chrono::seconds(2));
    void lift_input_limit() { stream_.set_input_limit(0); }

    // Runs `secure`'s handshake on the loop (what is queued so far is written first, plain);
    // then every byte goes through it and `on_established` runs. A failed or late handshake
    // (over `timeout`) closes the channel with the reason.
    void start_secure(std::unique_ptr<SecureStream> secure, SteadyClock::duration timeout,
                      std::function<void()> on_established);
    // The same for a server: `make` runs once the peer's first bytes are there, so a peer that
    // connects and says nothing costs no TLS state (a flood of idle connections). Without a
    // timeout the owner's own deadline (the coordinator's for the hello) must end a silent peer.
    using SecureFactory = std::function<Result<std::unique_ptr<SecureStream>>()>;
    void start_secure_on_first_bytes(SecureFactory make,
                                     std::optional<SteadyClock::duration> timeout);
    // The encrypted session's channel binding (SecureStream::binding), "" on a plain channel.
    [[nodiscard]] std::string binding() const;
    [[nodiscard]] bool secure() const { return stream_.secure() != nullptr; }

    [[nodiscard]] bool is_open() const { return watch_.active() && !closing_; }
    // The socket (-1 once closed), e.g. to put TLS on it.
    [[nodiscard]] int fd() const { return watch_.active() ? watch_.fd() : -1; }
    [[nodiscard]] size_t queued_bytes() const { return stream_.queued_bytes(); }
    // Writes what is queued, blocking up to `timeout` (a process about to exit).
    void flush_blocking(std::chrono::milliseconds timeout);

  private:
    Channel(EventLoop& loop, MessageHandler on_message, ClosedHandler on_closed);
    void on_events(uint32_t events);
    void read_some();
    void write_some();
    void want_write(bool on);
    void handshake_step();
    // Writes the plain bytes queued before a switch to TLS; false (closed) if they do not go.
    [[nodiscard]] bool flush_before_switch();
    void arm_handshake_deadline(SteadyClock::duration timeout);

    EventLoop& loop_;
    MessageHandler on_message_;
    ClosedHandler on_closed_;
    FramedStream stream_;
    FdWatch watch_;
    Timer linger_;
    bool writing_ = false;     // EPOLLOUT is in the mask
    bool closing_ = false;     // close_after_flush() called
    bool write_shut_ = false;  // SHUT_WR done, waiting for the peer's EOF
    std::string closing_reason_;
    std::unique_ptr<SecureStream> handshaking_;  // until its handshake finished
    SecureFactory make_secure_;                  // until the peer's first bytes
    std::function<void()> on_established_;
    Timer handshake_deadline_;
    Timer pending_read_;
};

}  // namespace dora::message
