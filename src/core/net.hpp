// The only socket code of the runtime: address resolution and formatting, listening, accepting and
// connecting TCP sockets. Every socket made here is non-blocking and close-on-exec; connected
// sockets have TCP_NODELAY (control messages and Zenoh batches are small and latency-bound).
// Errors say what was attempted on which address and carry the errno (Error::code()) so callers
// can react to one condition (EADDRINUSE, ECONNREFUSED) and add their own advice.
//
// Thread safety: free functions and plain values.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace dora::net {

// An IPv4 or IPv6 socket address.
class SocketAddress {
  public:
    SocketAddress() = default;
    [[nodiscard]] static SocketAddress from(const sockaddr* address, socklen_t length);

    [[nodiscard]] const sockaddr* get() const {
        return reinterpret_cast<const sockaddr*>(&storage_);
    }
    [[nodiscard]] socklen_t length() const { return length_; }
    [[nodiscard]] int family() const { return storage_.ss_family; }
    [[nodiscard]] uint16_t port() const;
    // The address without the port ("10.0.0.1", "::1").
    [[nodiscard]] std::string host() const;
    // "10.0.0.1:53290", "[::1]:53290".
    [[nodiscard]] std::string to_string() const;
    // 127.0.0.0/8, ::1 and IPv4-mapped 127.x.
    [[nodiscard]] bool is_loopback() const;

  private:
    sockaddr_storage storage_{};
    socklen_t length_ = 0;
};

enum class Family { kAny, kIpv4, kIpv6 };

// Resolves `host` (a name or an address literal; "" with `passive` = every interface) and `port`.
[[nodiscard]] Result<std::vector<SocketAddress>> resolve(std::string_view host, uint16_t port,
                                                         Family family = Family::kAny,
                                                         bool passive = false);

struct Listener {
    sys::UniqueFd fd;
    SocketAddress address;  // as bound: the kernel's port when 0 was asked for
    [[nodiscard]] uint16_t port() const { return address.port(); }
};

// A listening TCP socket (SO_REUSEADDR) on `host`:`port` (0 = an ephemeral port).
[[nodiscard]] Result<Listener> listen_tcp(std::string_view host, uint16_t port,
                                          Family family = Family::kAny, int backlog = 128);

struct Accepted {
    sys::UniqueFd fd;
    SocketAddress peer;
};

// One pending connection, std::nullopt when none is pending. Errors keep their errno (EMFILE ...)
// so a caller can back off.
[[nodiscard]] Result<std::optional<Accepted>> accept_tcp(int listen_fd);

// Starts a connect to `address`; completion shows as writability, then check connect_result().
[[nodiscard]] Result<sys::UniqueFd> connect_start(const SocketAddress& address);
// The outcome of a connect started by connect_start (SO_ERROR).
[[nodiscard]] Result<> connect_result(int fd);

// Connects to `host`:`port`, trying each resolved address, within `timeout` in all. The socket
// stays non-blocking.
[[nodiscard]] Result<sys::UniqueFd> connect_tcp(std::string_view host, uint16_t port,
                                                std::chrono::milliseconds timeout);

// Larger kernel buffers for bulk links (Zenoh).
void set_buffer_sizes(int fd, int bytes);

[[nodiscard]] Result<SocketAddress> local_address(int fd);
[[nodiscard]] Result<SocketAddress> peer_address(int fd);

// The local IPv4 address this machine uses to reach `host`: what other machines on that network
// can reach us at. Falls back to 127.0.0.1. (A UDP connect sends nothing; it only picks a route.)
[[nodiscard]] std::string local_address_towards(std::string_view host, uint16_t port);

// "host:port", with brackets around an IPv6 literal.
[[nodiscard]] std::string join_host_port(std::string_view host, uint16_t port);

}  // namespace dora::net
