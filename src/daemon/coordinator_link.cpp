#include "daemon/coordinator_link.hpp"

#include <sys/epoll.h>

#include "core/log_text.hpp"
#include "core/net.hpp"
#include "message/client_hello.hpp"
#include "message/daemon_to_coordinator.hpp"
#include "tls/control_tls.hpp"

namespace dora::daemon {

CoordinatorLink::CoordinatorLink(EventLoop& loop, CoordinatorLinkOptions options,
                                 MessageHandler on_message, std::function<void()> on_connected,
                                 std::function<void(const std::string&)> on_problem)
    : loop_(loop),
      options_(std::move(options)),
      on_message_(std::move(on_message)),
      on_connected_(std::move(on_connected)),
      on_problem_(std::move(on_problem)) {}

std::string CoordinatorLink::where() const {
    return net::join_host_port(options_.host, options_.port);
}

void CoordinatorLink::start() {
    connect();
    heartbeat_ = loop_.add_periodic(options_.heartbeat_interval, [this] { on_heartbeat_tick(); });
}

void CoordinatorLink::on_heartbeat_tick() {
    if (state_ != State::kReady) {
        return;
    }
    if (loop_.now() - last_received_ > options_.silence_limit) {
        schedule_reconnect(fmt::format("the coordinator at {} sent nothing for {} s", where(),
                                       options_.silence_limit.count() / 1000));
        return;
    }
    send_now(message::make(message::DaemonHeartbeat{}));
}

void CoordinatorLink::connect() {
    retired_.reset();
    if (options_.connector) {
        auto fd = options_.connector();
        if (!fd) {
            schedule_reconnect(fd.error().message());
            return;
        }
        open_channel(std::move(*fd));
        return;
    }
    auto addresses = net::resolve(options_.host, options_.port);
    if (!addresses) {
        schedule_reconnect(addresses.error().message());
        return;
    }
    auto fd = net::connect_start(addresses->front());
    if (!fd) {
        schedule_reconnect(fd.error().message());
        return;
    }
    auto watch = loop_.watch(std::move(*fd), EPOLLOUT, [this](uint32_t) { on_connect_ready(); });
    if (!watch) {
        schedule_reconnect(watch.error().message());
        return;
    }
    connecting_ = std::move(*watch);
    state_ = State::kConnecting;
    connect_deadline_ = loop_.add_timer(options_.connect_timeout, [this] {
        schedule_reconnect(fmt::format("connecting to the coordinator at {} timed out after {} s",
                                       where(), options_.connect_timeout.count() / 1000));
    });
}

void CoordinatorLink::on_connect_ready() {
    connect_deadline_.cancel();
    if (auto ok = net::connect_result(connecting_.fd()); !ok) {
        schedule_reconnect(fmt::format(
            "cannot connect to the coordinator at {}: {} (is it running? start it with `dora up` "
            "or `dora coordinator`)",
            where(), ok.error().message()));
        return;
    }
    open_channel(connecting_.release());
}

void CoordinatorLink::open_channel(sys::UniqueFd fd) {
    auto channel = message::Channel::open(
        loop_, std::move(fd), [this](nlohmann::json m) { on_frame(std::move(m)); },
        [this](const std::string& reason) {
            if (state_ != State::kIdle) {  // not a close this link asked for
                schedule_reconnect(fmt::format("the connection to the coordinator at {} ended: {}",
                                               where(), reason));
            }
        });
    if (!channel) {
        schedule_reconnect(channel.error().message());
        return;
    }
    channel_ = std::move(*channel);
    state_ = State::kHello;
    sent_hello_.reset();
    last_received_ = loop_.now();
}

void CoordinatorLink::on_frame(nlohmann::json message) {
    last_received_ = loop_.now();
    if (state_ == State::kHello) {
        on_hello_frame(message);
        return;
    }
    if (state_ != State::kReady) {
        return;
    }
    auto decoded = message::decode<message::CoordinatorToDaemon>(
        message,
        message::Versions{"daemon", options_.dora_version,
                          fmt::format("the coordinator at {}", where()), coordinator_version_});
    if (!decoded) {
        // A newer coordinator may send what we do not know: report it, keep the connection.
        if (on_problem_) on_problem_(decoded.error().message());
        return;
    }
    on_message_(std::move(*decoded));
}

void CoordinatorLink::on_hello_frame(const nlohmann::json& message) {
    const std::string type = message.value("type", std::string());
    if (type == message::ErrorMessage::kType) {
        // Its reason is shown escaped: before the token is proven, the peer may be anyone.
        schedule_reconnect(
            fmt::format("the coordinator at {} refused this daemon: {}", where(),
                        escape_for_log(message.value("message", std::string("(no reason)")))));
        return;
    }
    if (!sent_hello_) {
        auto hello =
            message::answer_challenge(message, "daemon", options_.dora_version, options_.token);
        if (!hello) {
            schedule_reconnect(
                fmt::format("coordinator at {}: {}", where(), hello.error().message()));
            return;
        }
        coordinator_version_ = hello->coordinator_version;
        sent_hello_ = std::move(*hello);
        if (!sent_hello_->tls) {
            message::sign_hello(*sent_hello_, options_.token, "");
            channel_->send(message::make(sent_hello_->hello));
            return;
        }
        start_tls();
        return;
    }
    // Nothing but its Welcome is taken from the coordinator before it proved the token.
    if (auto ok = message::check_welcome(message, *sent_hello_, options_.token); !ok) {
        schedule_reconnect(fmt::format("coordinator at {}: {}", where(), ok.error().message()));
        return;
    }
    on_ready();
}

void CoordinatorLink::start_tls() {
    if (!tls_context_) {
        auto context = tls::control_client_context();
        if (!context) {
            schedule_reconnect(context.error().message());
            return;
        }
        tls_context_ = std::move(*context);
    }
    auto secure = tls::control_client_stream(tls_context_, channel_->fd(), options_.host, where());
    if (!secure) {
        schedule_reconnect(secure.error().message());
        return;
    }
    // The Hello goes once the session is up: its proof covers the session's channel binding.
    channel_->start_secure(std::move(*secure), options_.connect_timeout, [this] {
        message::sign_hello(*sent_hello_, options_.token, channel_->binding());
        channel_->send(message::make(sent_hello_->hello));
    });
}

void CoordinatorLink::on_ready() {
    state_ = State::kReady;
    last_problem_.clear();
    backoff_ = std::chrono::milliseconds(100);
    if (on_connected_) on_connected_();
    while (!queued_.empty() && state_ == State::kReady) {
        channel_->send(queued_.front());
        queued_.pop_front();
    }
    if (dropped_ != 0) {
        if (on_problem_) {
            on_problem_(fmt::format(
                "{} message(s) to the coordinator were dropped while it was unreachable (more "
                "than {} waited)",
                dropped_, options_.max_queued));
        }
        dropped_ = 0;
    }
}

void CoordinatorLink::schedule_reconnect(const std::string& why) {
    if (reconnect_.active()) {
        return;  // already scheduled: this is the same failure seen again (e.g. the close after it)
    }
    const bool was_ready = state_ == State::kReady;
    state_ = State::kIdle;
    connect_deadline_.cancel();
    connecting_.reset();
    if (channel_) {
        // May run inside the channel's own callback: end it now, destroy it later.
        auto channel = std::move(channel_);
        channel->close("reconnecting");
        retired_ = std::move(channel);
    }
    if (was_ready) {
        backoff_ = std::chrono::milliseconds(100);
    }
    // The same failure on every retry is said once (a refused daemon would otherwise repeat the
    // coordinator's reason every few seconds forever).
    if (on_problem_ && why != last_problem_) {
        on_problem_(fmt::format("{} (retrying every {} s at most)", why,
                                options_.max_backoff.count() / 1000));
    }
    last_problem_ = why;
    reconnect_ = loop_.add_timer(backoff_, [this] { connect(); });
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
}

void CoordinatorLink::send_now(const nlohmann::json& message) {
    if (state_ == State::kReady) {
        channel_->send(message);
    }
}

void CoordinatorLink::send(const nlohmann::json& message) {
    if (state_ == State::kReady) {
        channel_->send(message);
        return;
    }
    queued_.push_back(message);
    while (queued_.size() > options_.max_queued) {
        queued_.pop_front();
        ++dropped_;
    }
}

void CoordinatorLink::flush(std::chrono::milliseconds timeout) {
    if (channel_) {
        channel_->flush_blocking(timeout);
    }
}

}  // namespace dora::daemon
