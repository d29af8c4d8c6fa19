// One control-plane connection of the coordinator (a daemon or a CLI): a non-blocking socket on
// the EventLoop that yields whole messages (control.hpp framing) and buffers what it sends.
//
// Lifecycle: the owner creates it, start()s it, and learns of its end through `on_closed`
// exactly once (peer gone, bad frame, write error, or close() called). After that the object is
// inert (send() does nothing) and the owner destroys it later, outside its callbacks (the
// coordinator posts the erase to the loop). close_after_flush() sends what is queued, shuts the
// write side and waits briefly for the peer to close, so a final error message is not lost to a
// TCP reset.
//
// Before the hello succeeds the peer may send at most kMaxPreHelloBytes: an unauthenticated peer
// cannot make the coordinator buffer a 16 MiB frame.
//
// Thread safety: everything on the EventLoop's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/event_loop.hpp"
#include "core/sys.hpp"
#include "message/control.hpp"

namespace dora::coordinator {

inline constexpr size_t kMaxPreHelloBytes = 64 * 1024;
// A peer that does not read is cut off rather than making the coordinator buffer without bound.
inline constexpr size_t kMaxQueuedBytes = 64u << 20;

class Connection {
  public:
    using Id = uint64_t;
    using MessageHandler = std::function<void(Connection&, nlohmann::json)>;
    using ClosedHandler = std::function<void(Connection&, const std::string& reason)>;

    Connection(EventLoop& loop, Id id, sys::UniqueFd fd, std::string peer, bool loopback);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    [[nodiscard]] Result<> start(MessageHandler on_message, ClosedHandler on_closed);

    // Queues one message; written as the socket allows.
    void send(const nlohmann::json& message);
    // Closes now; `on_closed` runs with `reason`.
    void close(const std::string& reason);
    // Sends what is queued, then closes (with `reason`) once the peer has seen it.
    void close_after_flush(const std::string& reason);

    void set_authenticated() { authenticated_ = true; }
    [[nodiscard]] bool authenticated() const { return authenticated_; }
    [[nodiscard]] bool open() const { return fd_.valid() && !closing_; }
    [[nodiscard]] Id id() const { return id_; }
    [[nodiscard]] const std::string& peer() const { return peer_; }
    [[nodiscard]] bool loopback() const { return loopback_; }

  private:
    void on_events(uint32_t events);
    void read_some();
    void write_some();
    void set_interest(bool want_write);

    EventLoop& loop_;
    Id id_;
    sys::UniqueFd fd_;
    std::string peer_;
    bool loopback_;
    MessageHandler on_message_;
    ClosedHandler on_closed_;
    message::FrameReader reader_;
    std::string out_;
    size_t received_ = 0;
    bool authenticated_ = false;
    bool want_write_ = false;
    bool closing_ = false;     // close_after_flush() called
    bool write_shut_ = false;  // SHUT_WR done, waiting for the peer's EOF
    std::string closing_reason_;
    std::optional<EventLoop::TimerId> linger_timer_;
};

}  // namespace dora::coordinator
