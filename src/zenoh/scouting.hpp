// Zenoh multicast scouting (docs/zenoh-protocol.md section 6): the SCOUT and HELLO messages, and a
// Scouter that sends SCOUTs to the multicast group (224.0.0.224:7446 by default, TTL 1) and
// collects the HELLOs sent back, and/or joins the group and answers SCOUTs that ask for what we
// are.
//
// Multicast is opt-in (scouting.multicast.enabled); tests run it only inside a private network
// namespace. Only IPv4 groups are supported. `interface` is "auto" (the kernel's choice), an
// interface name ("lo", "eth0") or one of its IPv4 addresses.
//
// Thread safety: messages are values and functions; a Scouter belongs to one EventLoop and is
// used on its thread only, where its callbacks run.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "core/sys.hpp"
#include "zenoh/codec.hpp"
#include "zenoh/config.hpp"
#include "zenoh/transport_msg.hpp"

namespace dora::zenoh {

// The `what` bitmap of a SCOUT.
inline constexpr uint8_t kWhatRouter = 1;
inline constexpr uint8_t kWhatPeer = 2;
inline constexpr uint8_t kWhatClient = 4;
[[nodiscard]] uint8_t what_bit(WhatAmI w);

struct Scout {
    uint8_t version = kProtocolVersion;
    uint8_t what = kWhatRouter | kWhatPeer;
    std::optional<Zid> zid;
};

struct Hello {
    uint8_t version = kProtocolVersion;
    WhatAmI whatami = WhatAmI::kRouter;
    Zid zid;
    std::vector<std::string> locators;
};

using ScoutingMessage = std::variant<Scout, Hello>;

void encode(Writer& w, const Scout& m);
void encode(Writer& w, const Hello& m);
// Decodes one datagram holding exactly one SCOUT or HELLO.
[[nodiscard]] Result<ScoutingMessage> decode_scouting(Bytes datagram);

// A resolved multicast group and the interface to use it on.
struct MulticastGroup {
    sockaddr_in group{};
    in_addr iface_addr{};  // INADDR_ANY for "auto"
    int ifindex = 0;       // 0 for "auto" or an address
};
[[nodiscard]] Result<MulticastGroup> resolve_multicast(const ScoutingMulticast& config);

// What a HELLO should advertise for our listeners: their endpoints with the real ports, and an
// unspecified host (0.0.0.0, ::) replaced by the IPv4 addresses of the scouting interface
// (of every up interface for "auto", non-loopback ones first).
[[nodiscard]] std::vector<std::string> advertised_locators(const std::vector<Endpoint>& listen,
                                                           const std::vector<uint16_t>& ports,
                                                           const ScoutingMulticast& config);

struct ScouterOptions {
    ScoutingMulticast multicast;
    Zid zid = Zid::random();
    WhatAmI whatami = WhatAmI::kClient;
    // Join the group and answer SCOUTs whose `what` includes us with a HELLO.
    bool answer = false;
    // What to scout for (bitmap); 0: never send SCOUT.
    uint8_t scout_what = 0;
    // SCOUT is sent at once, then again after `scout_period`, doubling up to 8 times that,
    // while `should_scout()` (if set) holds.
    std::chrono::milliseconds scout_period{250};
    std::function<bool()> should_scout;
    std::function<std::vector<std::string>()> locators;  // for HELLO
    // Every HELLO received (including our own, if we answer too); `from` is "ip:port".
    std::function<void(const Hello&, std::string_view from)> on_hello;
    std::function<void(std::string_view)> log;  // default: stderr
};

class Scouter {
  public:
    [[nodiscard]] static Result<std::unique_ptr<Scouter>> start(EventLoop& loop,
                                                                ScouterOptions options);
    Scouter(const Scouter&) = delete;
    Scouter& operator=(const Scouter&) = delete;

    // Sends a SCOUT now and restarts the backoff (e.g. after losing the last connection).
    void scout_now();

  private:
    Scouter(EventLoop& loop, ScouterOptions options, MulticastGroup group);
    [[nodiscard]] Result<> open();
    void on_datagram(int fd);
    void send_scout();
    void tick();
    void log(std::string_view line) const;

    EventLoop& loop_;
    ScouterOptions options_;
    MulticastGroup group_;
    FdWatch unicast_;  // sends SCOUT and HELLO, receives HELLOs
    FdWatch member_;   // joined to the group: receives SCOUTs
    std::chrono::milliseconds period_;
    Timer timer_;
};

}  // namespace dora::zenoh
