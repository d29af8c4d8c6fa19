// The coordinator's side of the hello (control.hpp): what it sends first, and the decision on
// the peer's Hello. Pure functions, so the decision is tested and fuzzed without sockets.
//
// Rules (DESIGN.md section 5): with a token the connection is TLS from right after the challenge
// (Challenge::tls) and the proofs cover its channel binding; the protocol versions must match (the
// error names both); the role must be the one this port serves ("daemon" on the daemon port, "cli"
// on the control port); with a cluster token the peer's proof must be auth.hpp's client_proof over
// both nonces, and the Welcome carries the coordinator's own proof for the peer to check; without
// one (protected mode) only loopback peers are accepted and a remote peer is told how to configure
// a token.
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/error.hpp"
#include "message/control.hpp"

namespace dora::coordinator {

struct HelloPolicy {
    std::optional<std::string> token;
    std::string dora_version;
    std::string expected_role;  // "daemon" or "cli"
    uint16_t daemon_port = 0;   // named in the error when a peer knocks on the wrong port
    uint16_t control_port = 0;
};

// The challenge to send on accept (a fresh nonce).
[[nodiscard]] message::Challenge make_challenge(const HelloPolicy& policy);

// Accepts or refuses `hello` (any JSON frame the peer sent first). The error is the message to
// send back before closing.
// `binding` is the connection's TLS channel binding ("" on a plain connection: refused with a
// token).
[[nodiscard]] Result<message::Hello> check_hello(const HelloPolicy& policy,
                                                 const message::Challenge& challenge,
                                                 const nlohmann::json& hello, bool loopback_peer,
                                                 std::string_view binding);

// The Welcome for an accepted `hello`: the coordinator's proof of the token over both nonces and
// the binding.
[[nodiscard]] message::Welcome make_welcome(const HelloPolicy& policy,
                                            const message::Challenge& challenge,
                                            const message::Hello& hello, std::string_view binding);

}  // namespace dora::coordinator
