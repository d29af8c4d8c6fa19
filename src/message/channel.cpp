#include "message/channel.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dora::message {

namespace {
constexpr uint32_t kReadEvents = EPOLLIN | EPOLLRDHUP;
}  // namespace

Channel::Channel(EventLoop& loop, MessageHandler on_message, ClosedHandler on_closed)
    : loop_(loop), on_message_(std::move(on_message)), on_closed_(std::move(on_closed)) {}

Result<std::unique_ptr<Channel>> Channel::open(EventLoop& loop, sys::UniqueFd fd,
                                               MessageHandler on_message, ClosedHandler on_closed,
                                               size_t input_limit) {
    std::unique_ptr<Channel> channel(
        new Channel(loop, std::move(on_message), std::move(on_closed)));
    channel->stream_.set_input_limit(input_limit);
    Channel* self = channel.get();
    auto watch = loop.watch(std::move(fd), kReadEvents,
                            [self](uint32_t events) { self->on_events(events); });
    if (!watch) {
        return fail(watch.error());
    }
    channel->watch_ = std::move(*watch);
    return channel;
}

Result<> Channel::send(const nlohmann::json& message) {
    if (!is_open()) {
        return fail("the connection is closed");
    }
    if (auto ok = stream_.queue(message); !ok) {
        if (ok.error().code() != kFrameTooLarge) {
            close(ok.error().message());  // the peer does not read: the connection is useless
        }
        return ok;
    }
    write_some();
    return {};
}

void Channel::close(const std::string& reason) {
    if (!watch_.active()) {
        return;
    }
    linger_.cancel();
    watch_.reset();
    if (on_closed_) {
        auto handler = std::move(on_closed_);
        on_closed_ = nullptr;
        handler(reason);
    }
}

void Channel::close_after_flush(const std::string& reason, SteadyClock::duration linger) {
    if (!is_open()) {
        return;
    }
    closing_ = true;
    closing_reason_ = reason;
    linger_ = loop_.add_timer(linger, [this] { close(closing_reason_); });
    write_some();
}

void Channel::on_events(uint32_t events) {
    if (events & EPOLLOUT) {
        write_some();
    }
    if (watch_.active() && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        read_some();
    }
}

void Channel::read_some() {
    auto input = stream_.read_some(watch_.fd());
    if (!input) {
        close(closing_ ? closing_reason_ : input.error().message());
        return;
    }
    // Deliver what arrived, also when the peer hung up right after it.
    while (watch_.active() && !closing_) {
        auto message = stream_.next();
        if (!message) {
            close(message.error().message());
            return;
        }
        if (!*message) {
            break;
        }
        on_message_(std::move(**message));
    }
    if (*input == FramedStream::Input::kEof) {
        close(closing_ ? closing_reason_ : "the peer closed the connection");
    }
}

void Channel::write_some() {
    if (!watch_.active()) {
        return;
    }
    auto done = stream_.write_some(watch_.fd());
    if (!done) {
        close(done.error().message());
        return;
    }
    want_write(!*done);
    if (*done && closing_ && !write_shut_) {
        write_shut_ = true;
        ::shutdown(watch_.fd(), SHUT_WR);
    }
}

void Channel::want_write(bool on) {
    if (on == writing_ || !watch_.active()) {
        return;
    }
    writing_ = on;
    if (auto ok = watch_.set_events(kReadEvents | (on ? EPOLLOUT : 0u)); !ok) {
        close(ok.error().message());
    }
}

void Channel::flush_blocking(std::chrono::milliseconds timeout) {
    if (!watch_.active()) {
        return;
    }
    auto deadline = SteadyClock::now() + timeout;
    while (stream_.queued_bytes() != 0 && SteadyClock::now() < deadline) {
        auto done = stream_.write_some(watch_.fd());
        if (!done || *done) {
            return;
        }
        ::usleep(1000);
    }
}

}  // namespace dora::message
