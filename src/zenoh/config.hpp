// ZENOH_CONFIG: the subset of zenohd's json5 configuration dora honours (docs/zenoh-protocol.md
// section 8), and Zenoh endpoints (`tcp/host:port`, `tcp/[v6]:port`, `tls/host:port`,
// `udp/addr:port#iface=lo`). transport.link.tls is read by tls_config.hpp.
//
// Keys the reader does not know are collected in `unknown_keys` (dotted paths) so the caller can
// warn once; values of the wrong type are errors with file, line and column.
//
// Differences from zenohd's defaults, on purpose: multicast scouting is off unless the file
// turns it on (DESIGN.md section 6: discovery without multicast by default).
//
// transport.link.rx.max_message_size (the largest message a link reassembles from fragments)
// defaults to 1 GiB, as in zenohd: a message real Zenoh carries crosses here too. The daemon also
// hands it to its nodes, so that a send that could not cross fails at send time. It also bounds
// the reassembly memory of one link (both channels together).
//
// Bounds on what a peer can make a session hold: zenohd's transport.unicast.accept_timeout,
// accept_pending and max_sessions (same defaults), and dora.limits (LinkLimits) for what zenohd
// has no key for. Zero, negative or non-integer values are refused with the key's path.
//
// Thread safety: values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "zenoh/tls_config.hpp"

namespace dora::zenoh {

enum class Mode : uint8_t { kRouter, kPeer, kClient };
[[nodiscard]] std::string_view to_string(Mode m);

struct Endpoint {
    std::string protocol;  // "tcp", "tls" or "udp"
    std::string host;      // without brackets for IPv6
    uint16_t port = 0;
    bool ipv6 = false;
    std::string iface;     // from "#iface=..."
    std::string metadata;  // from "?...", kept verbatim

    // Canonical text form, e.g. "tcp/[::1]:7447" or "udp/224.0.0.224:7447#iface=lo".
    [[nodiscard]] std::string to_string() const;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

[[nodiscard]] Result<Endpoint> parse_endpoint(std::string_view text);

struct ScoutingMulticast {
    bool enabled = false;
    std::string address = "224.0.0.224:7446";
    std::string interface = "auto";
};

inline constexpr uint64_t kDefaultMaxMessageSize = uint64_t{1} << 30;
inline constexpr const char* kMaxMessageSizeKey = "transport.link.rx.max_message_size";

// Limits dora sets where zenohd's configuration has no key (ZENOH_CONFIG's `dora.limits`).
struct LinkLimits {
    uint64_t pending_per_address = 8;  // accept_pending_per_address: of accept_pending, per address
    uint64_t declarations = 10000;     // declarations_per_link: key expressions, subscribers,
                                       // queryables, tokens and interests one link holds
    uint64_t key_expr_length = 4096;   // key_expr_length: bytes; a longer one closes the link
};
inline constexpr const char* kDeclarationsPerLinkKey = "dora.limits.declarations_per_link";
inline constexpr const char* kKeyExprLengthKey = "dora.limits.key_expr_length";

struct ZenohConfig {
    Mode mode = Mode::kPeer;
    std::vector<Endpoint> connect;
    std::vector<Endpoint> listen;
    ScoutingMulticast multicast;
    uint16_t batch_size = 65535;  // transport.link.tx.batch_size
    uint64_t lease_ms = 10000;    // transport.link.tx.lease
    uint64_t keep_alive = 4;      // transport.link.tx.keep_alive: keep-alives per lease
    uint64_t max_message_size = kDefaultMaxMessageSize;  // transport.link.rx.max_message_size
    uint64_t accept_timeout_ms = 10000;  // transport.unicast.accept_timeout: INIT/OPEN deadline
    uint64_t accept_pending = 100;       // transport.unicast.accept_pending: links not open yet
    uint64_t max_sessions = 1000;        // transport.unicast.max_sessions: established links
    LinkLimits limits;                   // dora.limits
    TlsKeys tls;                         // transport.link.tls
    std::vector<std::string> unknown_keys;
    // Not a ZENOH_CONFIG key: dora sets it with a cluster token. Only tls/ links are dialled;
    // a scouted locator of another protocol (a stranger's HELLO naming tcp/) is skipped and
    // logged, so that no data goes out in clear to whoever answers a scout.
    bool tls_only = false;
};

// Parses a json5 text; `origin` names it in errors ("zenoh.json5:3:7: ...").
[[nodiscard]] Result<ZenohConfig> parse_config(std::string_view text, std::string_view origin);

// Reads and parses a file.
[[nodiscard]] Result<ZenohConfig> load_config(const std::string& path);

// With a cluster token every link is TLS under the cluster CA: an error naming the first listen
// or connect endpoint that is not tls/ (its data would travel in clear), and what to write
// instead. `who` names the process ("the daemons", "dora router").
[[nodiscard]] Result<> check_cluster_endpoints(const ZenohConfig& config, std::string_view who);

}  // namespace dora::zenoh
