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
// hands it to its nodes, so that a send that could not cross fails at send time.
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

struct ZenohConfig {
    Mode mode = Mode::kPeer;
    std::vector<Endpoint> connect;
    std::vector<Endpoint> listen;
    ScoutingMulticast multicast;
    uint16_t batch_size = 65535;  // transport.link.tx.batch_size
    uint64_t lease_ms = 10000;    // transport.link.tx.lease
    uint64_t keep_alive = 4;      // transport.link.tx.keep_alive: keep-alives per lease
    uint64_t max_message_size = kDefaultMaxMessageSize;  // transport.link.rx.max_message_size
    TlsKeys tls;                                         // transport.link.tls
    std::vector<std::string> unknown_keys;
};

// Parses a json5 text; `origin` names it in errors ("zenoh.json5:3:7: ...").
[[nodiscard]] Result<ZenohConfig> parse_config(std::string_view text, std::string_view origin);

// Reads and parses a file.
[[nodiscard]] Result<ZenohConfig> load_config(const std::string& path);

}  // namespace dora::zenoh
