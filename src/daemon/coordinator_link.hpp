// The daemon's connection to the coordinator: connects (and reconnects with backoff, forever),
// switches to TLS after the challenge when the coordinator has a token, answers the hello with the
// cluster token and acts on nothing the coordinator sends until it has
// proven the token too (message/client_hello.hpp), then carries control
// messages both ways and heartbeats. Messages from the coordinator arrive decoded, one
// message::CoordinatorToDaemon each. While disconnected, outgoing messages are kept (up to a bound;
// the oldest are dropped and counted, and the count is reported) and sent after the next
// successful connection.
//
// Every reason a connection attempt failed or a connection ended reaches `on_problem`, with what
// the coordinator said when it refused this daemon (its reason names what to do).
//
// Thread safety: everything runs on the EventLoop's thread.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/event_loop.hpp"
#include "message/channel.hpp"
#include "message/client_hello.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "tls/context.hpp"

namespace dora::daemon {

struct CoordinatorLinkOptions {
    std::string host = "127.0.0.1";
    uint16_t port = 53290;
    std::optional<std::string> token;
    std::string dora_version;
    // Every heartbeat_interval: the coordinator shows a daemon silent for 3 of them unreachable.
    std::chrono::milliseconds heartbeat_interval{500};
    std::chrono::milliseconds silence_limit{10000};  // nothing received for this long: reconnect
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds max_backoff{5000};
    size_t max_queued = 100'000;
    // Makes a connected socket to the coordinator instead of TCP to host:port (tests hand one end
    // of a socketpair; each call is one connection attempt).
    std::function<Result<sys::UniqueFd>()> connector;
};

class CoordinatorLink {
  public:
    using MessageHandler = std::function<void(message::CoordinatorToDaemon message)>;
    // `on_connected` runs after every successful hello (send the registration from there);
    // `on_problem` reports why a connection attempt failed or a connection ended.
    CoordinatorLink(EventLoop& loop, CoordinatorLinkOptions options, MessageHandler on_message,
                    std::function<void()> on_connected,
                    std::function<void(const std::string&)> on_problem);
    CoordinatorLink(const CoordinatorLink&) = delete;
    CoordinatorLink& operator=(const CoordinatorLink&) = delete;

    void start();
    // Sends now if connected, else queues for the next connection.
    void send(const nlohmann::json& message);
    // Sends only if connected (registration, heartbeats): never queued.
    void send_now(const nlohmann::json& message);
    [[nodiscard]] bool connected() const { return state_ == State::kReady; }
    [[nodiscard]] std::string where() const;
    // Writes out what is buffered, blocking up to `timeout` (before exiting).
    void flush(std::chrono::milliseconds timeout);

  private:
    enum class State { kIdle, kConnecting, kHello, kReady };
    void connect();
    void on_connect_ready();
    void open_channel(sys::UniqueFd fd);
    void on_frame(nlohmann::json message);
    void on_hello_frame(const nlohmann::json& message);
    void on_ready();
    // After a challenge that announces TLS: the handshake, then the signed Hello.
    void start_tls();
    void schedule_reconnect(const std::string& why);
    void on_heartbeat_tick();

    EventLoop& loop_;
    CoordinatorLinkOptions options_;
    MessageHandler on_message_;
    std::function<void()> on_connected_;
    std::function<void(const std::string&)> on_problem_;
    State state_ = State::kIdle;
    FdWatch connecting_;  // the socket while its connect is in progress
    Timer connect_deadline_;
    std::unique_ptr<message::Channel> channel_;
    std::shared_ptr<const tls::TlsContext> tls_context_;  // made at the first TLS challenge
    // The previous connection's channel: ended inside its own callback, destroyed at the next
    // connection attempt (never from its own callbacks).
    std::unique_ptr<message::Channel> retired_;
    std::string coordinator_version_;                 // from its challenge
    std::optional<message::ClientHello> sent_hello_;  // this connection's, until the Welcome
    std::deque<nlohmann::json> queued_;               // kept while disconnected
    uint64_t dropped_ = 0;
    std::chrono::milliseconds backoff_{100};
    Timer reconnect_;
    Timer heartbeat_;
    SteadyClock::time_point last_received_;
    std::string last_problem_;
};

}  // namespace dora::daemon
