#include "daemon/coordinator_link.hpp"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "message/auth.hpp"
#include "message/daemon_to_coordinator.hpp"

namespace dora::daemon {

CoordinatorLink::CoordinatorLink(EventLoop& loop, CoordinatorLinkOptions options,
                                 MessageHandler on_message, std::function<void()> on_connected,
                                 std::function<void(const std::string&)> on_problem)
    : loop_(loop),
      options_(std::move(options)),
      on_message_(std::move(on_message)),
      on_connected_(std::move(on_connected)),
      on_problem_(std::move(on_problem)) {}

CoordinatorLink::~CoordinatorLink() {
    if (reconnect_timer_) loop_.cancel_timer(*reconnect_timer_);
    if (heartbeat_timer_) loop_.cancel_timer(*heartbeat_timer_);
    if (fd_.valid()) loop_.remove_fd(fd_.get());
}

void CoordinatorLink::start() {
    connect();
    auto id = loop_.add_timer(options_.heartbeat_interval, options_.heartbeat_interval, [this] {
        if (state_ == State::kReady) {
            if (std::chrono::steady_clock::now() - last_received_ > options_.silence_limit) {
                schedule_reconnect("the coordinator sent nothing for " +
                                   std::to_string(options_.silence_limit.count() / 1000) + " s");
                return;
            }
            send_now(message::make(message::DaemonHeartbeat{}));
        }
    });
    if (id) heartbeat_timer_ = *id;
}

void CoordinatorLink::disconnect() {
    if (fd_.valid()) {
        loop_.remove_fd(fd_.get());
        fd_.reset();
    }
    reader_ = message::FrameReader();
    out_.clear();
    want_write_ = false;
    state_ = State::kIdle;
}

void CoordinatorLink::schedule_reconnect(const std::string& why) {
    const bool was_ready = state_ == State::kReady;
    disconnect();
    if (on_problem_) on_problem_(why);
    if (was_ready) backoff_ = std::chrono::milliseconds(100);
    if (reconnect_timer_) loop_.cancel_timer(*reconnect_timer_);
    auto id = loop_.add_timer(backoff_, std::chrono::nanoseconds(0), [this] {
        reconnect_timer_.reset();
        connect();
    });
    if (id) reconnect_timer_ = *id;
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
}

void CoordinatorLink::connect() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(options_.port);
    if (int rc = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
        schedule_reconnect("cannot resolve coordinator address " + options_.host + ": " +
                           gai_strerror(rc));
        return;
    }
    int fd = ::socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        ::freeaddrinfo(res);
        schedule_reconnect(sys::errno_error("socket").message());
        return;
    }
    fd_.reset(fd);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int rc = ::connect(fd, res->ai_addr, res->ai_addrlen);
    ::freeaddrinfo(res);
    if (rc != 0 && errno != EINPROGRESS) {
        schedule_reconnect(
            sys::errno_error("connecting to the coordinator at " + options_.host + ":" + port)
                .message());
        return;
    }
    state_ = State::kConnecting;
    want_write_ = true;
    if (auto ok = loop_.add_fd(fd, EPOLLIN | EPOLLOUT, [this](uint32_t ev) { on_io(ev); }); !ok) {
        schedule_reconnect(ok.error().message());
    }
}

void CoordinatorLink::update_interest() {
    bool need = !out_.empty() || state_ == State::kConnecting;
    if (need != want_write_ && fd_.valid()) {
        want_write_ = need;
        (void)loop_.modify_fd(fd_.get(), EPOLLIN | (need ? EPOLLOUT : 0u));
    }
}

void CoordinatorLink::on_io(uint32_t events) {
    if (state_ == State::kConnecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            schedule_reconnect(
                fmt::format("cannot connect to the coordinator at {}:{}: {} (is it "
                            "running? start it with `dora up` or `dora "
                            "coordinator`)",
                            options_.host, options_.port, std::strerror(err)));
            return;
        }
        state_ = State::kHello;
        last_received_ = std::chrono::steady_clock::now();
        update_interest();
    }
    if (events & EPOLLIN) {
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(fd_.get(), buf, sizeof buf);
            if (n > 0) {
                reader_.feed(std::string_view(buf, static_cast<size_t>(n)));
                continue;
            }
            if (n == 0) {
                schedule_reconnect("the coordinator closed the connection");
                return;
            }
            if (errno == EAGAIN || errno == EINTR) break;
            schedule_reconnect(sys::errno_error("reading from the coordinator").message());
            return;
        }
        for (;;) {
            auto frame = reader_.next();
            if (!frame) {
                schedule_reconnect(frame.error().message());
                return;
            }
            if (!*frame) break;
            last_received_ = std::chrono::steady_clock::now();
            on_frame(**frame);
            if (state_ == State::kIdle) {
                return;  // the frame made us drop the connection
            }
        }
    }
    if ((events & EPOLLOUT) && state_ != State::kConnecting) {
        write_some();
    }
    if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN)) {
        schedule_reconnect("the connection to the coordinator failed");
    }
}

void CoordinatorLink::on_frame(const nlohmann::json& frame) {
    const std::string type = frame.value("type", "");
    if (state_ == State::kHello) {
        if (type == message::Challenge::kType) {
            auto challenge = message::parse_as<message::Challenge>(frame);
            if (!challenge) {
                schedule_reconnect(challenge.error().message());
                return;
            }
            if (challenge->protocol != message::kProtocolVersion) {
                schedule_reconnect(fmt::format(
                    "the coordinator speaks control protocol {} (dora {}), this daemon speaks {} "
                    "(dora {}): run the same dora version everywhere",
                    challenge->protocol, challenge->dora_version, message::kProtocolVersion,
                    options_.dora_version));
                return;
            }
            message::Hello hello;
            hello.dora_version = options_.dora_version;
            hello.role = "daemon";
            if (options_.token) {
                hello.proof = message::hmac_proof(*options_.token, challenge->nonce);
            } else if (challenge->token_required) {
                if (on_problem_)
                    on_problem_(std::string("the coordinator requires a cluster token and this "
                                            "daemon has none: ") +
                                message::kTokenHelp);
            }
            out_ += message::encode_frame(message::make(hello));
            write_some();
            return;
        }
        if (type == message::Welcome::kType) {
            state_ = State::kReady;
            backoff_ = std::chrono::milliseconds(100);
            if (on_connected_) on_connected_();
            while (!queued_.empty()) {
                out_ += queued_.front();
                queued_.pop_front();
            }
            if (dropped_ != 0) {
                if (on_problem_)
                    on_problem_(
                        fmt::format("{} message(s) to the coordinator were dropped while "
                                    "it was unreachable",
                                    dropped_));
                dropped_ = 0;
            }
            write_some();
            return;
        }
        if (type == message::ErrorMessage::kType) {
            schedule_reconnect("the coordinator refused this daemon: " +
                               frame.value("message", std::string("(no reason given)")));
            return;
        }
        schedule_reconnect("unexpected " + type + " before the hello finished");
        return;
    }
    if (on_message_) on_message_(frame);
}

void CoordinatorLink::write_some() {
    while (!out_.empty() && fd_.valid()) {
        ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
        if (n > 0) {
            out_.erase(0, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        schedule_reconnect(sys::errno_error("writing to the coordinator").message());
        return;
    }
    update_interest();
}

void CoordinatorLink::send_now(const nlohmann::json& m) {
    if (state_ != State::kReady) return;
    out_ += message::encode_frame(m);
    write_some();
}

void CoordinatorLink::send(const nlohmann::json& m) {
    if (state_ == State::kReady) {
        send_now(m);
        return;
    }
    queued_.push_back(message::encode_frame(m));
    while (queued_.size() > options_.max_queued) {
        queued_.pop_front();
        ++dropped_;
    }
}

void CoordinatorLink::flush(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!out_.empty() && fd_.valid() && std::chrono::steady_clock::now() < deadline) {
        ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
        if (n > 0) {
            out_.erase(0, static_cast<size_t>(n));
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            break;
        } else {
            ::usleep(1000);
        }
    }
}

}  // namespace dora::daemon
