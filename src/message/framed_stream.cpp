#include "message/framed_stream.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/sys.hpp"

namespace dora::message {

namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kReadChunk = 64 * 1024;
constexpr int kMaxReadsPerCall = 16;

int remaining_ms(Clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
}

}  // namespace

Result<std::optional<size_t>> FramedStream::read_bytes(int fd, void* buffer, size_t size) {
    if (secure_) {
        return secure_->read(buffer, size);
    }
    return sys::read_some(fd, buffer, size);
}

Result<size_t> FramedStream::send_bytes(int fd, const void* data, size_t size) {
    if (secure_) {
        return secure_->write(data, size);
    }
    return sys::send_some(fd, data, size);
}

Result<> FramedStream::start_secure(std::unique_ptr<SecureStream> secure) {
    if (queued_bytes() != 0) {
        return fail("cannot switch to TLS: {} plain bytes still wait to be sent", queued_bytes());
    }
    if (reader_.buffered() != 0) {
        return fail(
            "the peer sent {} plain bytes after the hello challenge, before TLS: it does not "
            "follow the dora control protocol",
            reader_.buffered());
    }
    secure_ = std::move(secure);
    return {};
}

Result<> FramedStream::start_secure_blocking(int fd, std::unique_ptr<SecureStream> secure,
                                             std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto step = secure->handshake();
        if (!step) {
            return fail(step.error());
        }
        if (*step == SecureStream::Step::kDone) {
            return start_secure(std::move(secure));
        }
        pollfd p{fd, static_cast<short>(*step == SecureStream::Step::kWantRead ? POLLIN : POLLOUT),
                 0};
        int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno != EINTR) {
            return fail(sys::errno_error("poll"));
        }
        if (ready == 0 && Clock::now() >= deadline) {
            return fail(secure->handshake_timeout(timeout));
        }
    }
}

Result<> FramedStream::queue(const nlohmann::json& message) {
    if (queued_bytes() > max_queued_) {
        return fail("the peer does not read its messages ({} bytes wait to be sent)",
                    queued_bytes());
    }
    auto frame = encode_frame_checked(message);
    if (!frame) {
        return fail(frame.error());
    }
    if (sent_ != 0 && sent_ == out_.size()) {
        out_.clear();
        sent_ = 0;
    }
    out_ += *frame;
    return {};
}

Result<bool> FramedStream::write_some(int fd) {
    while (sent_ < out_.size()) {
        auto n = send_bytes(fd, out_.data() + sent_, out_.size() - sent_);
        if (!n) {
            return fail(n.error());
        }
        if (*n == 0) {
            break;  // the socket is full: the rest when it is writable again
        }
        sent_ += *n;
    }
    if (sent_ == out_.size()) {
        if (out_.capacity() >= kLargeFrameBytes) {
            out_ = std::string();  // not kept at the size of a large message
            sys::return_free_heap();
        } else {
            out_.clear();
        }
        sent_ = 0;
        return true;
    }
    // Compact once the written part dominates, so the buffer does not grow without bound.
    if (sent_ > out_.size() / 2) {
        out_.erase(0, sent_);
        sent_ = 0;
    }
    return false;
}

Result<FramedStream::Input> FramedStream::read_some(int fd) {
    if (eof_) {
        return Input::kEof;
    }
    char buffer[kReadChunk];
    for (int round = 0; round < kMaxReadsPerCall; ++round) {
        auto n = read_bytes(fd, buffer, sizeof buffer);
        if (!n) {
            return fail(n.error());
        }
        if (!*n) {
            break;  // nothing more now
        }
        if (**n == 0) {
            eof_ = true;
            return Input::kEof;
        }
        received_ += **n;
        if (input_limit_ != 0 && received_ > input_limit_) {
            return fail("the peer sent more than {} bytes before completing the hello",
                        input_limit_);
        }
        reader_.feed(std::string_view(buffer, **n));
    }
    return Input::kOpen;
}

Result<> FramedStream::send_blocking(int fd, const nlohmann::json& message,
                                     std::chrono::milliseconds timeout) {
    if (auto ok = queue(message); !ok) {
        return ok;
    }
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto done = write_some(fd);
        if (!done) {
            return fail(done.error());
        }
        if (*done) {
            return {};
        }
        pollfd p{fd, POLLOUT, 0};
        int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno != EINTR) {
            return fail(sys::errno_error("poll"));
        }
        if (ready == 0) {
            return fail("the peer did not take the message within {} ms", timeout.count());
        }
    }
}

Result<std::optional<nlohmann::json>> FramedStream::receive_blocking(
    int fd, std::chrono::milliseconds timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
        auto message = next();
        if (!message || *message) {
            return message;
        }
        if (eof_) {
            return fail("the connection was closed by the peer");
        }
        if (has_pending()) {  // decrypted already: the socket may have nothing more to say
            if (auto input = read_some(fd); !input) {
                return fail(input.error());
            }
            continue;
        }
        pollfd p{fd, POLLIN, 0};
        int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno != EINTR) {
            return fail(sys::errno_error("poll"));
        }
        if (ready <= 0) {
            if (Clock::now() >= deadline) {
                return std::optional<nlohmann::json>();
            }
            continue;
        }
        if (auto input = read_some(fd); !input) {
            return fail(input.error());
        }
    }
}

}  // namespace dora::message
