#include "coordinator/connection.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dora::coordinator {

namespace {
// How long a closing connection waits for the peer to read the last message and hang up.
constexpr auto kLinger = std::chrono::seconds(2);
}  // namespace

Connection::Connection(EventLoop& loop, Id id, sys::UniqueFd fd, std::string peer, bool loopback)
    : loop_(loop), id_(id), fd_(std::move(fd)), peer_(std::move(peer)), loopback_(loopback) {}

Connection::~Connection() {
    if (linger_timer_) {
        loop_.cancel_timer(*linger_timer_);
    }
    if (fd_.valid()) {
        loop_.remove_fd(fd_.get());
    }
}

Result<> Connection::start(MessageHandler on_message, ClosedHandler on_closed) {
    on_message_ = std::move(on_message);
    on_closed_ = std::move(on_closed);
    return loop_.add_fd(fd_.get(), EPOLLIN | EPOLLRDHUP,
                        [this](uint32_t events) { on_events(events); });
}

void Connection::send(const nlohmann::json& message) {
    if (!fd_.valid() || closing_) {
        return;
    }
    if (out_.size() > kMaxQueuedBytes) {
        close(fmt::format("the peer does not read its messages ({} bytes queued)", out_.size()));
        return;
    }
    out_ += message::encode_frame(message);
    write_some();
}

void Connection::close(const std::string& reason) {
    if (!fd_.valid()) {
        return;
    }
    if (linger_timer_) {
        loop_.cancel_timer(*linger_timer_);
        linger_timer_.reset();
    }
    loop_.remove_fd(fd_.get());
    fd_.reset();
    out_.clear();
    if (on_closed_) {
        auto handler = std::move(on_closed_);
        on_closed_ = nullptr;
        handler(*this, reason);
    }
}

void Connection::close_after_flush(const std::string& reason) {
    if (!fd_.valid() || closing_) {
        return;
    }
    closing_ = true;
    closing_reason_ = reason;
    auto timer = loop_.add_timer(kLinger, std::chrono::nanoseconds(0), [this] {
        linger_timer_.reset();
        close(closing_reason_);
    });
    if (timer) {
        linger_timer_ = *timer;
    }
    write_some();
}

void Connection::on_events(uint32_t events) {
    if (events & EPOLLOUT) {
        write_some();
    }
    if (fd_.valid() && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        read_some();
    }
}

void Connection::read_some() {
    char buffer[65536];
    for (int round = 0; round < 16 && fd_.valid(); ++round) {
        ssize_t n = ::read(fd_.get(), buffer, sizeof buffer);
        if (n == 0) {
            close(closing_ ? closing_reason_ : "the peer closed the connection");
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return;
            }
            if (errno == EINTR) {
                continue;
            }
            close(closing_ ? closing_reason_ : sys::errno_error("read").message());
            return;
        }
        if (closing_) {
            continue;  // the peer's last words after ours are not looked at
        }
        received_ += static_cast<size_t>(n);
        if (!authenticated_ && received_ > kMaxPreHelloBytes) {
            close(fmt::format("sent more than {} bytes before completing the hello",
                              kMaxPreHelloBytes));
            return;
        }
        reader_.feed(std::string_view(buffer, static_cast<size_t>(n)));
        for (;;) {
            auto message = reader_.next();
            if (!message) {
                close(message.error().message());
                return;
            }
            if (!*message) {
                break;
            }
            on_message_(*this, std::move(**message));
            if (!fd_.valid() || closing_) {
                return;
            }
        }
    }
}

void Connection::write_some() {
    while (!out_.empty() && fd_.valid()) {
        ssize_t n = ::send(fd_.get(), out_.data(), out_.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_interest(true);
                return;
            }
            close(sys::errno_error("write").message());
            return;
        }
        out_.erase(0, static_cast<size_t>(n));
    }
    if (!fd_.valid()) {
        return;
    }
    set_interest(false);
    if (closing_ && !write_shut_) {
        write_shut_ = true;
        ::shutdown(fd_.get(), SHUT_WR);
    }
}

void Connection::set_interest(bool want_write) {
    if (want_write == want_write_ || !fd_.valid()) {
        return;
    }
    want_write_ = want_write;
    // Re-registering keeps to the EventLoop's public interface.
    loop_.remove_fd(fd_.get());
    uint32_t events = EPOLLIN | EPOLLRDHUP | (want_write ? EPOLLOUT : 0u);
    if (auto ok = loop_.add_fd(fd_.get(), events, [this](uint32_t e) { on_events(e); }); !ok) {
        close(ok.error().message());
    }
}

}  // namespace dora::coordinator
