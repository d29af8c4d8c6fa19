#include "core/net.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace dora::net {

namespace {

using Clock = std::chrono::steady_clock;

void set_nodelay(int fd) {
    int one = 1;
    // Only fails on a socket that is not TCP, which callers never pass.
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int family_hint(Family family) {
    switch (family) {
        case Family::kIpv4:
            return AF_INET;
        case Family::kIpv6:
            return AF_INET6;
        case Family::kAny:
            break;
    }
    return AF_UNSPEC;
}

}  // namespace

SocketAddress SocketAddress::from(const sockaddr* address, socklen_t length) {
    SocketAddress out;
    out.length_ = std::min<socklen_t>(length, sizeof out.storage_);
    std::memcpy(&out.storage_, address, out.length_);
    return out;
}

uint16_t SocketAddress::port() const {
    if (family() == AF_INET) {
        return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
    }
    if (family() == AF_INET6) {
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
    }
    return 0;
}

std::string SocketAddress::host() const {
    char text[INET6_ADDRSTRLEN] = {};
    if (family() == AF_INET) {
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
                    sizeof text);
    } else if (family() == AF_INET6) {
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text,
                    sizeof text);
    } else {
        return "local";
    }
    return text;
}

std::string SocketAddress::to_string() const {
    if (family() != AF_INET && family() != AF_INET6) {
        return "local";
    }
    return join_host_port(host(), port());
}

bool SocketAddress::is_loopback() const {
    if (family() == AF_INET) {
        auto ip = ntohl(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr);
        return (ip >> 24) == 127;
    }
    if (family() == AF_INET6) {
        const auto& a = reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(&a) || (IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127);
    }
    return family() == AF_UNIX;
}

std::string join_host_port(std::string_view host, uint16_t port) {
    if (host.find(':') != std::string_view::npos) {
        return fmt::format("[{}]:{}", host, port);
    }
    return fmt::format("{}:{}", host, port);
}

Result<std::vector<SocketAddress>> resolve(std::string_view host, uint16_t port, Family family,
                                           bool passive) {
    addrinfo hints{};
    hints.ai_family = family_hint(family);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    addrinfo* found = nullptr;
    std::string host_text(host);
    std::string port_text = std::to_string(port);
    int rc = ::getaddrinfo(host_text.empty() ? nullptr : host_text.c_str(), port_text.c_str(),
                           &hints, &found);
    if (rc != 0 || found == nullptr) {
        return fail("cannot resolve `{}`: {}", join_host_port(host, port), ::gai_strerror(rc));
    }
    std::vector<SocketAddress> out;
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        out.push_back(SocketAddress::from(a->ai_addr, a->ai_addrlen));
    }
    ::freeaddrinfo(found);
    return out;
}

Result<Listener> listen_tcp(std::string_view host, uint16_t port, Family family, int backlog) {
    auto addresses = resolve(host, port, family, true);
    if (!addresses) {
        return fail(addresses.error());
    }
    const SocketAddress& address = addresses->front();
    const std::string where = join_host_port(host, port);
    sys::UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return fail(sys::errno_error("socket"));
    }
    int one = 1;
    ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd.get(), address.get(), address.length()) != 0) {
        return fail(sys::errno_error(fmt::format("cannot listen on {}", where)));
    }
    if (::listen(fd.get(), backlog) != 0) {
        return fail(sys::errno_error(fmt::format("cannot listen on {}", where)));
    }
    auto bound = local_address(fd.get());
    if (!bound) {
        return fail(bound.error());
    }
    return Listener{std::move(fd), *bound};
}

Result<std::optional<Accepted>> accept_tcp(int listen_fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    int fd = ::accept4(listen_fd, reinterpret_cast<sockaddr*>(&storage), &length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) {
            return std::optional<Accepted>();
        }
        return fail(sys::errno_error("accept"));
    }
    set_nodelay(fd);
    return std::optional<Accepted>(Accepted{
        sys::UniqueFd(fd), SocketAddress::from(reinterpret_cast<sockaddr*>(&storage), length)});
}

Result<sys::UniqueFd> connect_start(const SocketAddress& address) {
    sys::UniqueFd fd(::socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return fail(sys::errno_error("socket"));
    }
    set_nodelay(fd.get());
    if (::connect(fd.get(), address.get(), address.length()) != 0 && errno != EINPROGRESS) {
        return fail(sys::errno_error(fmt::format("cannot connect to {}", address.to_string())));
    }
    return fd;
}

Result<> connect_result(int fd) {
    int err = 0;
    socklen_t length = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &length) != 0) {
        return fail(sys::errno_error("getsockopt(SO_ERROR)"));
    }
    if (err != 0) {
        return fail(sys::errno_error("connect", err));
    }
    return {};
}

Result<sys::UniqueFd> connect_tcp(std::string_view host, uint16_t port,
                                  std::chrono::milliseconds timeout) {
    auto addresses = resolve(host, port);
    if (!addresses) {
        return fail(addresses.error());
    }
    const auto deadline = Clock::now() + timeout;
    Error last;
    for (const auto& address : *addresses) {
        auto fd = connect_start(address);
        if (!fd) {
            last = fd.error();
            continue;
        }
        pollfd p{fd->get(), POLLOUT, 0};
        int ready = 0;
        do {
            auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
            ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
        } while (ready < 0 && errno == EINTR);
        if (ready <= 0) {
            last = Error::make("cannot connect to {}: timed out after {} ms", address.to_string(),
                               timeout.count())
                       .with_code(ETIMEDOUT);
            continue;
        }
        if (auto ok = connect_result(fd->get()); !ok) {
            last = ok.error().context(fmt::format("cannot connect to {}", address.to_string()));
            continue;
        }
        return fd;
    }
    return fail(last);
}

void set_buffer_sizes(int fd, int bytes) {
    // Best effort: the kernel caps the sizes at its limits, which is what we want anyway.
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

Result<SocketAddress> local_address(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
        return fail(sys::errno_error("getsockname"));
    }
    return SocketAddress::from(reinterpret_cast<sockaddr*>(&storage), length);
}

Result<SocketAddress> peer_address(int fd) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
        return fail(sys::errno_error("getpeername"));
    }
    return SocketAddress::from(reinterpret_cast<sockaddr*>(&storage), length);
}

std::string local_address_towards(std::string_view host, uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    std::string host_text(host);
    if (::getaddrinfo(host_text.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) {
        return "127.0.0.1";
    }
    std::string address = "127.0.0.1";
    sys::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (fd.valid() && ::connect(fd.get(), found->ai_addr, found->ai_addrlen) == 0) {
        if (auto local = local_address(fd.get())) {
            address = local->host();
        }
    }
    ::freeaddrinfo(found);
    return address;
}

}  // namespace dora::net
