// Test support: TCP ports for tests that must not meet anything else running on the machine.
//
// Thread safety: free functions, no shared state.
#pragma once

#include <cstdint>

namespace dora::testing {

// A loopback TCP port nobody listens on right now (the kernel's pick of an ephemeral port).
// For pointing a client at a port where nothing answers; a server under test should bind port 0
// itself and report the port it got, which has no race.
[[nodiscard]] uint16_t free_tcp_port();

// True when something accepts TCP connections on 127.0.0.1:`port`.
[[nodiscard]] bool tcp_port_answers(uint16_t port);

}  // namespace dora::testing
