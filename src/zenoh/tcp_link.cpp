#include "zenoh/tcp_link.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace dora::zenoh {

namespace {

constexpr size_t kReadChunk = 256 * 1024;
constexpr int kMaxReadsPerEvent = 16;
constexpr int kMaxWritesPerCall = 64;
constexpr int kMaxAcceptsPerEvent = 64;

struct Resolved {
    sockaddr_storage addr{};
    socklen_t len = 0;
    int family = AF_INET;
};

Result<Resolved> resolve(const Endpoint& ep, bool passive) {
    addrinfo hints{};
    hints.ai_family = ep.ipv6 ? AF_INET6 : AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    hints.ai_flags |= AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string port = std::to_string(ep.port);
    int rc = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr) {
        return fail("resolve '{}': {}", ep.to_string(), ::gai_strerror(rc));
    }
    Resolved out;
    std::memcpy(&out.addr, res->ai_addr, res->ai_addrlen);
    out.len = res->ai_addrlen;
    out.family = res->ai_family;
    ::freeaddrinfo(res);
    return out;
}

}  // namespace

void tune_socket(int fd) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int size = 4 * 1024 * 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

Result<sys::UniqueFd> tcp_connect_start(const Endpoint& endpoint) {
    if (endpoint.protocol != "tcp") {
        return fail("connect '{}': only tcp endpoints are supported here", endpoint.to_string());
    }
    auto addr = resolve(endpoint, false);
    if (!addr) {
        return fail(addr.error());
    }
    sys::UniqueFd fd(::socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return fail(sys::errno_error("socket"));
    }
    tune_socket(fd.get());
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr->addr), addr->len) != 0 &&
        errno != EINPROGRESS) {
        return fail(sys::errno_error(fmt::format("connect {}", endpoint.to_string())));
    }
    return fd;
}

Result<> check_connected(int fd) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) {
        return fail(sys::errno_error("getsockopt(SO_ERROR)"));
    }
    if (err != 0) {
        return fail(sys::errno_error("connect", err));
    }
    return {};
}

Result<std::unique_ptr<TcpListener>> TcpListener::listen(EventLoop& loop, const Endpoint& endpoint,
                                                         OnAccept on_accept) {
    if (endpoint.protocol != "tcp") {
        return fail("listen '{}': only tcp endpoints are supported here", endpoint.to_string());
    }
    auto addr = resolve(endpoint, true);
    if (!addr) {
        return fail(addr.error());
    }
    sys::UniqueFd fd(::socket(addr->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return fail(sys::errno_error("socket"));
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&addr->addr), addr->len) != 0) {
        return fail(sys::errno_error(fmt::format("bind {}", endpoint.to_string())));
    }
    if (::listen(fd.get(), 128) != 0) {
        return fail(sys::errno_error("listen"));
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof(bound);
    if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &len) != 0) {
        return fail(sys::errno_error("getsockname"));
    }
    uint16_t port = bound.ss_family == AF_INET6
                        ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                        : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    int raw = fd.get();
    std::unique_ptr<TcpListener> listener(
        new TcpListener(loop, std::move(fd), port, std::move(on_accept)));
    auto added = loop.add_fd(raw, EPOLLIN, listener.get());
    if (!added) {
        return fail(added.error());
    }
    return listener;
}

TcpListener::TcpListener(EventLoop& loop, sys::UniqueFd fd, uint16_t port, OnAccept on_accept)
    : loop_(loop), fd_(std::move(fd)), port_(port), on_accept_(std::move(on_accept)) {}

TcpListener::~TcpListener() { loop_.remove_fd(fd_.get()); }

void TcpListener::on_ready(uint32_t) {
    for (int i = 0; i < kMaxAcceptsPerEvent; ++i) {
        sys::UniqueFd fd(::accept4(fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (!fd.valid()) {
            return;  // EAGAIN, or a transient error the next readiness retries
        }
        tune_socket(fd.get());
        on_accept_(std::move(fd));
    }
}

BatchReader::BatchReader() : buf_(kReadChunk + kLengthPrefix + kMaxBatchBody) {}

bool BatchReader::deliver(const std::function<bool(Bytes)>& on_batch) {
    while (end_ - start_ >= kLengthPrefix) {
        size_t len = buf_[start_] | static_cast<size_t>(buf_[start_ + 1]) << 8;
        if (end_ - start_ < kLengthPrefix + len) {
            break;
        }
        Bytes batch(buf_.data() + start_ + kLengthPrefix, len);
        start_ += kLengthPrefix + len;
        if (!on_batch(batch)) {
            return false;
        }
    }
    if (start_ == end_) {
        start_ = end_ = 0;
    }
    return true;
}

Result<BatchReader::Status> BatchReader::read(int fd, const std::function<bool(Bytes)>& on_batch) {
    for (int i = 0; i < kMaxReadsPerEvent; ++i) {
        // Keep room for one whole batch after a partial one: move the partial one to the front.
        if (buf_.size() - end_ < kLengthPrefix + kMaxBatchBody && start_ > 0) {
            std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
            end_ -= start_;
            start_ = 0;
        }
        ssize_t n = ::recv(fd, buf_.data() + end_, buf_.size() - end_, 0);
        if (n == 0) {
            return Status::kEof;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return Status::kAgain;
            }
            return fail(sys::errno_error("recv"));
        }
        end_ += static_cast<size_t>(n);
        if (!deliver(on_batch)) {
            return Status::kAgain;
        }
    }
    return Status::kAgain;
}

void BatchWriter::open_batch() {
    if (batch_start_ != kNone) {
        return;
    }
    batch_start_ = buf_.size();
    buf_.push_back(0);
    buf_.push_back(0);
}

size_t BatchWriter::batch_body_size() const {
    return batch_start_ == kNone ? 0 : buf_.size() - batch_start_ - kLengthPrefix;
}

void BatchWriter::close_batch() {
    if (batch_start_ == kNone) {
        return;
    }
    size_t len = batch_body_size();
    if (len == 0) {
        buf_.resize(batch_start_);
    } else {
        buf_[batch_start_] = static_cast<uint8_t>(len & 0xff);
        buf_[batch_start_ + 1] = static_cast<uint8_t>(len >> 8);
    }
    batch_start_ = kNone;
}

Result<bool> BatchWriter::write(int fd) {
    size_t limit = batch_start_ == kNone ? buf_.size() : batch_start_;
    for (int i = 0; i < kMaxWritesPerCall && sent_ < limit; ++i) {
        ssize_t n = ::send(fd, buf_.data() + sent_, limit - sent_, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            return fail(sys::errno_error("send"));
        }
        sent_ += static_cast<size_t>(n);
    }
    if (sent_ == buf_.size()) {
        buf_.clear();
        sent_ = 0;
        return true;
    }
    // Reclaim the written front once it dominates, when no batch is being built.
    if (batch_start_ == kNone && sent_ > (1u << 20) && sent_ * 2 > buf_.size()) {
        buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(sent_));
        sent_ = 0;
    }
    return sent_ == limit && batch_start_ == kNone;
}

}  // namespace dora::zenoh
