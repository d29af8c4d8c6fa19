#include "zenoh/tcp_link.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "zenoh/try.hpp"

namespace dora::zenoh {

namespace {

constexpr int kMaxReadsPerEvent = 16;
constexpr int kMaxWritesPerCall = 64;

net::Family family_of(const Endpoint& endpoint) {
    return endpoint.ipv6 ? net::Family::kIpv6 : net::Family::kAny;
}

Result<> require_tcp(const Endpoint& endpoint, std::string_view what) {
    if (endpoint.protocol != "tcp" && endpoint.protocol != "tls") {
        return fail("{} '{}': only tcp and tls endpoints are supported here", what,
                    endpoint.to_string());
    }
    return {};
}

}  // namespace

Result<sys::UniqueFd> tcp_connect_start(const Endpoint& endpoint) {
    DORA_ZCHECK(require_tcp(endpoint, "connect"));
    DORA_ZTRY(addresses, net::resolve(endpoint.host, endpoint.port, family_of(endpoint)));
    DORA_ZTRY(fd, net::connect_start(addresses.front()));
    // Set while the handshake is still in flight: the window scale is chosen from the sysctl
    // maxima, so the larger receive buffer is usable at once.
    net::set_buffer_sizes(fd.get(), kLinkBufferBytes);
    return std::move(fd);
}

Result<std::unique_ptr<TcpListener>> TcpListener::listen(EventLoop& loop, const Endpoint& endpoint,
                                                         OnAccept on_accept, LogSink log,
                                                         std::function<bool()> shed) {
    DORA_ZCHECK(require_tcp(endpoint, "listen"));
    DORA_ZTRY(listener, net::listen_tcp(endpoint.host, endpoint.port, family_of(endpoint)));
    // Accepted sockets inherit the listener's buffer sizes.
    net::set_buffer_sizes(listener.fd.get(), kLinkBufferBytes);
    std::unique_ptr<TcpListener> out(new TcpListener(listener.port()));
    AcceptorOptions options;
    options.what = fmt::format("zenoh listener {}", endpoint.to_string());
    options.log = std::move(log);
    options.shed = std::move(shed);
    DORA_ZTRY(acceptor, Acceptor::start(loop, std::move(listener.fd), std::move(options),
                                        [on_accept = std::move(on_accept)](net::Accepted a) {
                                            on_accept(std::move(a.fd));
                                        }));
    out->acceptor_ = std::move(acceptor);
    return out;
}

BatchReader::BatchReader() : buf_(kSmallSize) {}

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

Result<BatchReader::Status> BatchReader::read(tls::ByteIo io,
                                              const std::function<bool(Bytes)>& on_batch,
                                              const std::function<bool()>& more) {
    for (int i = 0; i < kMaxReadsPerEvent; ++i) {
        if (buf_.size() < want_) {
            buf_.resize(want_);  // no batch is handed out now: nothing points into buf_
        }
        // Keep room for one whole batch after a partial one: move the partial one to the front.
        if (buf_.size() - end_ < kLengthPrefix + kMaxBatchBody && start_ > 0) {
            std::memmove(buf_.data(), buf_.data() + start_, end_ - start_);
            end_ -= start_;
            start_ = 0;
        }
        auto n = io.read_some(buf_.data() + end_, buf_.size() - end_);
        if (!n) {
            return fail(n.error());
        }
        if (!*n) {
            return Status::kAgain;
        }
        if (**n == 0) {
            return Status::kEof;
        }
        end_ += **n;
        if (!deliver(on_batch) || (more && !more())) {
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

Result<bool> BatchWriter::write(tls::ByteIo io) {
    size_t limit = batch_start_ == kNone ? buf_.size() : batch_start_;
    for (int i = 0; i < kMaxWritesPerCall && sent_ < limit; ++i) {
        auto n = io.send_some(buf_.data() + sent_, limit - sent_);
        if (!n) {
            return fail(n.error());
        }
        if (*n == 0) {
            break;  // the socket is full
        }
        sent_ += *n;
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

void BatchWriter::release_if_drained() {
    if (buf_.empty() && buf_.capacity() > kKeepCapacity) {
        // Not `buf_ = {}`: that assigns an empty initializer list, which keeps the capacity.
        buf_ = std::vector<uint8_t>();
        sys::return_free_heap();
    }
}

}  // namespace dora::zenoh
