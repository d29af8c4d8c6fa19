// The daemon's connection to the coordinator: connects (and reconnects with backoff, forever),
// does the hello with the cluster token, then carries control messages both ways and heartbeats.
// While disconnected, outgoing messages are kept (up to a bound; the oldest are dropped and
// counted) and sent after the next successful connection.
//
// Thread safety: everything runs on the EventLoop's thread.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "core/event_loop.hpp"
#include "core/sys.hpp"
#include "message/control.hpp"

namespace dora::daemon {

struct CoordinatorLinkOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 53290;
    std::optional<std::string> token;
    std::string dora_version;
    std::chrono::milliseconds heartbeat_interval{2000};
    std::chrono::milliseconds silence_limit{10000};  // no message for this long: reconnect
    std::chrono::milliseconds max_backoff{5000};
    size_t max_queued = 100'000;
};

class CoordinatorLink {
  public:
    using MessageHandler = std::function<void(const nlohmann::json&)>;
    // `on_connected` runs after every successful hello (send the registration from there);
    // `on_problem` reports why a connection attempt failed or a connection dropped.
    CoordinatorLink(EventLoop& loop, CoordinatorLinkOptions options, MessageHandler on_message,
                    std::function<void()> on_connected,
                    std::function<void(const std::string&)> on_problem);
    ~CoordinatorLink();
    CoordinatorLink(const CoordinatorLink&) = delete;
    CoordinatorLink& operator=(const CoordinatorLink&) = delete;

    void start();
    // Sends now if connected, else queues for the next connection.
    void send(const nlohmann::json& message);
    // Sends only if connected (registration, heartbeats): never queued.
    void send_now(const nlohmann::json& message);
    [[nodiscard]] bool connected() const { return state_ == State::kReady; }
    // Writes out what is buffered, blocking up to `timeout` (before exiting).
    void flush(std::chrono::milliseconds timeout);

  private:
    enum class State { kIdle, kConnecting, kHello, kReady };
    void connect();
    void schedule_reconnect(const std::string& why);
    void on_io(uint32_t events);
    void on_frame(const nlohmann::json& message);
    void write_some();
    void update_interest();
    void disconnect();

    EventLoop& loop_;
    CoordinatorLinkOptions options_;
    MessageHandler on_message_;
    std::function<void()> on_connected_;
    std::function<void(const std::string&)> on_problem_;
    State state_ = State::kIdle;
    sys::UniqueFd fd_;
    message::FrameReader reader_;
    std::string out_;                 // bytes to write on the current connection
    std::deque<std::string> queued_;  // frames kept while disconnected
    uint64_t dropped_ = 0;
    std::chrono::milliseconds backoff_{100};
    std::optional<EventLoop::TimerId> reconnect_timer_;
    std::optional<EventLoop::TimerId> heartbeat_timer_;
    std::chrono::steady_clock::time_point last_received_;
    bool want_write_ = false;
};

}  // namespace dora::daemon
