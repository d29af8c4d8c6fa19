// TCP helpers of the coordinator: listening sockets and what a peer's address says about it.
//
// Thread safety: free functions; no shared state.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace dora::coordinator {

struct Listener {
    sys::UniqueFd fd;
    uint16_t port = 0;  // the bound port (the kernel's choice when 0 was asked for)
};

// A non-blocking listening TCP socket on `interface` (an IPv4 or IPv6 literal) and `port`
// (0 = ephemeral). The error names the address and says what to do when it is in use.
[[nodiscard]] Result<Listener> listen_tcp(const std::string& interface, uint16_t port,
                                          std::string_view what);

struct AcceptedPeer {
    sys::UniqueFd fd;       // non-blocking, close-on-exec
    std::string address;    // "ip:port" for logs
    bool loopback = false;  // 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104
};

// Accepts one pending connection; std::nullopt-like empty fd when none is pending.
[[nodiscard]] Result<AcceptedPeer> accept_peer(int listen_fd);

// True for loopback addresses (127.0.0.0/8, ::1, IPv4-mapped 127.x).
[[nodiscard]] bool is_loopback(const sockaddr* address);

// "ip:port" of a socket address.
[[nodiscard]] std::string format_address(const sockaddr* address);

}  // namespace dora::coordinator
