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
    handshake_deadline_.cancel();
    pending_read_.cancel();
    if (stream_.secure() != nullptr) {
        stream_.secure()->shutdown();
    }
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

bool Channel::flush_before_switch() {
    if (!is_open()) {
        return false;
    }
    // The plain bytes before the switch (the challenge) go now: a fresh socket takes them.
    if (auto done = stream_.write_some(watch_.fd()); !done || !*done) {
        close(done ? "the peer does not read the hello challenge" : done.error().message());
        return false;
    }
    return true;
}

void Channel::arm_handshake_deadline(SteadyClock::duration timeout) {
    const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(timeout);
    handshake_deadline_ = loop_.add_timer(timeout, [this, limit] {
        if (make_secure_) {
            close(fmt::format("no TLS handshake within {} ms", limit.count()));
        } else if (handshaking_) {
            close(handshaking_->handshake_timeout(limit).message());
        }
    });
}

void Channel::start_secure(std::unique_ptr<SecureStream> secure, SteadyClock::duration timeout,
                           std::function<void()> on_established) {
    if (!flush_before_switch()) {
        return;
    }
    handshaking_ = std::move(secure);
    on_established_ = std::move(on_established);
    arm_handshake_deadline(timeout);
    handshake_step();
}

void Channel::start_secure_on_first_bytes(SecureFactory make,
                                          std::optional<SteadyClock::duration> timeout) {
    if (!flush_before_switch()) {
        return;
    }
    make_secure_ = std::move(make);
    if (timeout) {
        arm_handshake_deadline(*timeout);
    }
}

std::string Channel::binding() const {
    return stream_.secure() != nullptr ? stream_.secure()->binding() : std::string();
}

void Channel::handshake_step() {
    auto step = handshaking_->handshake();
    if (!step) {
        close(step.error().message());
        return;
    }
    if (*step != SecureStream::Step::kDone) {
        const uint32_t events =
            *step == SecureStream::Step::kWantRead ? kReadEvents : (kReadEvents | EPOLLOUT);
        writing_ = (events & EPOLLOUT) != 0;
        if (auto ok = watch_.set_events(events); !ok) {
            close(ok.error().message());
        }
        return;
    }
    handshake_deadline_.cancel();
    if (auto ok = stream_.start_secure(std::move(handshaking_)); !ok) {
        close(ok.error().message());
        return;
    }
    handshaking_.reset();
    writing_ = true;  // so that want_write() below sets the mask whatever it was
    want_write(false);
    if (on_established_) {
        auto established = std::move(on_established_);
        on_established_ = nullptr;
        established();
    }
    write_some();
    // Bytes that came with the end of the handshake are already decrypted and waiting.
    if (watch_.active() && stream_.has_pending()) {
        read_some();
    }
}

void Channel::on_events(uint32_t events) {
    if (make_secure_) {
        auto made = make_secure_();
        make_secure_ = nullptr;
        if (!made) {
            close(made.error().message());
            return;
        }
        handshaking_ = std::move(*made);
    }
    if (handshaking_) {
        handshake_step();
        return;
    }
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
        return;
    }
    // Decrypted bytes left inside TLS raise no event of the socket: read them on the next turn.
    if (watch_.active() && stream_.has_pending() && !pending_read_.active()) {
        pending_read_ = loop_.add_timer(std::chrono::milliseconds(0), [this] {
            if (watch_.active() && !handshaking_) {
                read_some();
            }
        });
    }
}

void Channel::write_some() {
    if (!watch_.active() || handshaking_ || make_secure_) {
        return;  // while TLS is set up, what is sent waits
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
