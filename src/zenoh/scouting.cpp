#include "zenoh/scouting.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

namespace dora::zenoh {

namespace {

constexpr uint8_t kIdScout = 0x01;
constexpr uint8_t kIdHello = 0x02;
constexpr uint8_t kFlagScoutI = 0x08;  // in the zid/what byte: a ZID follows
constexpr uint8_t kFlagHelloL = 0x20;  // locators follow
constexpr size_t kMaxLocators = 64;
constexpr size_t kMaxDatagram = 65536;

uint8_t zid_len_nibble(const Zid& zid) {
    size_t len = zid.empty() ? 1 : zid.size();
    return static_cast<uint8_t>((len - 1) << 4);
}

Result<Scout> decode_scout(Reader& r, uint8_t h) {
    Scout m;
    DORA_ZTRY(version, r.u8("SCOUT version"));
    m.version = version;
    DORA_ZTRY(b, r.u8("SCOUT zid/what"));
    m.what = b & 0x07;
    if ((b & kFlagScoutI) != 0) {
        DORA_ZTRY(zid, r.zid_nibble(b, "SCOUT zid"));
        m.zid = zid;
    }
    if ((h & kFlagZ) != 0) {
        DORA_ZCHECK(skip_extensions(r, "SCOUT extension"));
    }
    return m;
}

Result<Hello> decode_hello(Reader& r, uint8_t h) {
    Hello m;
    DORA_ZTRY(version, r.u8("HELLO version"));
    m.version = version;
    DORA_ZTRY(b, r.u8("HELLO zid/whatami"));
    if ((b & 0x03) == 3) {
        return fail(r.error_at(r.offset() - 1, "HELLO whatami", "reserved value 3"));
    }
    m.whatami = static_cast<WhatAmI>(b & 0x03);
    DORA_ZTRY(zid, r.zid_nibble(b, "HELLO zid"));
    m.zid = zid;
    if ((h & kFlagHelloL) != 0) {
        DORA_ZTRY(n, r.zint_max("HELLO locator count", kMaxLocators));
        for (uint64_t i = 0; i < n; ++i) {
            DORA_ZTRY(locator, r.zstring("HELLO locator"));
            m.locators.emplace_back(locator);
        }
    }
    if ((h & kFlagZ) != 0) {
        DORA_ZCHECK(skip_extensions(r, "HELLO extension"));
    }
    return m;
}

}  // namespace

uint8_t what_bit(WhatAmI w) {
    switch (w) {
        case WhatAmI::kRouter:
            return kWhatRouter;
        case WhatAmI::kPeer:
            return kWhatPeer;
        case WhatAmI::kClient:
            break;
    }
    return kWhatClient;
}

void encode(Writer& w, const Scout& m) {
    w.u8(kIdScout);
    w.u8(m.version);
    uint8_t b = m.what & 0x07;
    if (m.zid) {
        b |= static_cast<uint8_t>(zid_len_nibble(*m.zid) | kFlagScoutI);
    }
    w.u8(b);
    if (m.zid) {
        w.zid_bytes(*m.zid);
    }
}

void encode(Writer& w, const Hello& m) {
    w.u8(static_cast<uint8_t>(kIdHello | flag_if(!m.locators.empty(), kFlagHelloL)));
    w.u8(m.version);
    w.u8(static_cast<uint8_t>(zid_len_nibble(m.zid) | static_cast<uint8_t>(m.whatami)));
    w.zid_bytes(m.zid);
    if (!m.locators.empty()) {
        w.zint(m.locators.size());
        for (const auto& l : m.locators) {
            w.zstring(l);
        }
    }
}

Result<ScoutingMessage> decode_scouting(Bytes datagram) {
    Reader r(datagram);
    DORA_ZTRY(h, r.u8("scouting header"));
    ScoutingMessage out;
    if ((h & kMidMask) == kIdScout) {
        DORA_ZTRY(scout, decode_scout(r, h));
        out = std::move(scout);
    } else if ((h & kMidMask) == kIdHello) {
        DORA_ZTRY(hello, decode_hello(r, h));
        out = std::move(hello);
    } else {
        return fail(r.error_at(0, "scouting header",
                               fmt::format("0x{:02x} is neither SCOUT nor HELLO", h)));
    }
    if (!r.empty()) {
        return fail(
            r.error("scouting message", fmt::format("{} bytes after the message", r.remaining())));
    }
    return out;
}

Result<MulticastGroup> resolve_multicast(const ScoutingMulticast& config) {
    MulticastGroup g;
    std::string_view text = config.address;
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || text.starts_with('[')) {
        return fail(
            "scouting.multicast.address '{}': expected an IPv4 group and a port, e.g. "
            "224.0.0.224:7446",
            text);
    }
    std::string host(text.substr(0, colon));
    std::string_view port = text.substr(colon + 1);
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 ||
        value > 65535) {
        return fail("scouting.multicast.address '{}': bad port", text);
    }
    g.group.sin_family = AF_INET;
    g.group.sin_port = htons(static_cast<uint16_t>(value));
    if (::inet_pton(AF_INET, host.c_str(), &g.group.sin_addr) != 1 ||
        !IN_MULTICAST(ntohl(g.group.sin_addr.s_addr))) {
        return fail("scouting.multicast.address '{}': '{}' is not an IPv4 multicast group", text,
                    host);
    }
    g.iface_addr.s_addr = htonl(INADDR_ANY);
    const std::string& iface = config.interface;
    if (iface.empty() || iface == "auto") {
        return g;
    }
    if (::inet_pton(AF_INET, iface.c_str(), &g.iface_addr) == 1) {
        return g;
    }
    g.ifindex = static_cast<int>(::if_nametoindex(iface.c_str()));
    if (g.ifindex == 0) {
        return fail("scouting.multicast.interface '{}': no such interface here", iface);
    }
    return g;
}

namespace {

// IPv4 addresses of up interfaces: `name` only, or all ("auto"), non-loopback first.
std::vector<std::string> interface_addresses(const std::string& name) {
    std::vector<std::string> out;
    std::vector<std::string> loopback;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) {
        return out;
    }
    bool any = name.empty() || name == "auto";
    for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET ||
            (i->ifa_flags & IFF_UP) == 0) {
            continue;
        }
        char text[INET_ADDRSTRLEN] = {};
        const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
        ::inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text));
        if (!any && name != i->ifa_name && name != text) {
            continue;
        }
        ((i->ifa_flags & IFF_LOOPBACK) != 0 ? loopback : out).emplace_back(text);
    }
    ::freeifaddrs(list);
    out.insert(out.end(), loopback.begin(), loopback.end());
    return out;
}

}  // namespace

std::vector<std::string> advertised_locators(const std::vector<Endpoint>& listen,
                                             const std::vector<uint16_t>& ports,
                                             const ScoutingMulticast& config) {
    std::vector<std::string> out;
    std::vector<std::string> hosts;
    for (size_t i = 0; i < listen.size() && i < ports.size(); ++i) {
        Endpoint ep = listen[i];
        ep.port = ports[i];
        if (ep.host != "0.0.0.0" && ep.host != "::") {
            out.push_back(ep.to_string());
            continue;
        }
        if (hosts.empty()) {
            hosts = interface_addresses(config.interface);
        }
        for (const auto& host : hosts) {
            Endpoint concrete = ep;
            concrete.host = host;
            concrete.ipv6 = false;
            out.push_back(concrete.to_string());
        }
    }
    return out;
}

namespace {

Result<sys::UniqueFd> udp_socket() {
    sys::UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd.valid()) {
        return fail(sys::errno_error("scouting: socket"));
    }
    return fd;
}

Result<> set_option(int fd, int level, int name, const void* value, socklen_t len,
                    std::string_view what) {
    if (::setsockopt(fd, level, name, value, len) != 0) {
        return fail(sys::errno_error(fmt::format("scouting: setsockopt {}", what)));
    }
    return {};
}

std::string address_text(const sockaddr_in& addr) {
    char text[INET_ADDRSTRLEN] = {};
    ::inet_ntop(AF_INET, &addr.sin_addr, text, sizeof(text));
    return fmt::format("{}:{}", text, ntohs(addr.sin_port));
}

}  // namespace

Result<std::unique_ptr<Scouter>> Scouter::start(EventLoop& loop, ScouterOptions options) {
    DORA_ZTRY(group, resolve_multicast(options.multicast));
    std::unique_ptr<Scouter> s(new Scouter(loop, std::move(options), group));
    DORA_ZCHECK(s->open());
    return s;
}

Scouter::Scouter(EventLoop& loop, ScouterOptions options, MulticastGroup group)
    : loop_(loop), options_(std::move(options)), group_(group), period_(options_.scout_period) {}

void Scouter::log(std::string_view line) const {
    if (options_.log) {
        options_.log(line);
    } else {
        fmt::print(stderr, "{}\n", line);
    }
}

Result<> Scouter::open() {
    ip_mreqn mreq{};
    mreq.imr_multiaddr = group_.group.sin_addr;
    mreq.imr_address = group_.iface_addr;
    mreq.imr_ifindex = group_.ifindex;
    DORA_ZTRY(ufd, udp_socket());
    int fd = ufd.get();
    unsigned char ttl = 1;
    unsigned char loop_on = 1;
    DORA_ZCHECK(set_option(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof(ttl), "TTL"));
    DORA_ZCHECK(set_option(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop_on, sizeof(loop_on), "LOOP"));
    DORA_ZCHECK(set_option(fd, IPPROTO_IP, IP_MULTICAST_IF, &mreq, sizeof(mreq), "IF"));
    DORA_ZTRY(unicast,
              loop_.watch(std::move(ufd), EPOLLIN, [this, fd](uint32_t) { on_datagram(fd); }));
    unicast_ = std::move(unicast);
    if (options_.answer) {
        DORA_ZTRY(mfd, udp_socket());
        int one = 1;
        DORA_ZCHECK(set_option(mfd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one), "REUSE"));
        DORA_ZCHECK(
            set_option(mfd.get(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one), "REUSEPORT"));
        // Bound to the group address: only the group's datagrams arrive here.
        if (::bind(mfd.get(), reinterpret_cast<const sockaddr*>(&group_.group),
                   sizeof(group_.group)) != 0) {
            return fail(
                sys::errno_error(fmt::format("scouting: bind {}", options_.multicast.address)));
        }
        DORA_ZCHECK(set_option(mfd.get(), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq),
                               fmt::format("IP_ADD_MEMBERSHIP {} on {}", options_.multicast.address,
                                           options_.multicast.interface)));
        int mfd_raw = mfd.get();
        DORA_ZTRY(member, loop_.watch(std::move(mfd), EPOLLIN,
                                      [this, mfd_raw](uint32_t) { on_datagram(mfd_raw); }));
        member_ = std::move(member);
    }
    if (options_.scout_what != 0) {
        timer_ = loop_.add_timer(std::chrono::milliseconds(0), [this] { tick(); });
    }
    return {};
}

void Scouter::scout_now() {
    if (options_.scout_what == 0) {
        return;
    }
    period_ = options_.scout_period;
    timer_ = loop_.add_timer(std::chrono::milliseconds(0), [this] { tick(); });
}

void Scouter::tick() {
    if (!options_.should_scout || options_.should_scout()) {
        send_scout();
    }
    auto delay = period_;
    period_ = std::min(period_ * 2, options_.scout_period * 8);
    timer_ = loop_.add_timer(delay, [this] { tick(); });
}

void Scouter::send_scout() {
    std::vector<uint8_t> out;
    Writer w(out);
    encode(w, Scout{kProtocolVersion, options_.scout_what, options_.zid});
    if (::sendto(unicast_.fd(), out.data(), out.size(), 0,
                 reinterpret_cast<const sockaddr*>(&group_.group), sizeof(group_.group)) < 0) {
        log(sys::errno_error(fmt::format("scouting: SCOUT to {}", options_.multicast.address))
                .message());
    }
}

void Scouter::on_datagram(int fd) {
    std::vector<uint8_t> buf(kMaxDatagram);
    for (int i = 0; i < 64; ++i) {
        sockaddr_in from{};
        socklen_t from_len = sizeof(from);
        ssize_t n = ::recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from),
                               &from_len);
        if (n < 0) {
            return;  // EAGAIN, or an ICMP error of an earlier send: nothing to read
        }
        auto message = decode_scouting(Bytes(buf.data(), static_cast<size_t>(n)));
        if (!message) {
            log(fmt::format("scouting: datagram from {} ignored: {}", address_text(from),
                            message.error().message()));
            continue;
        }
        if (const auto* hello = std::get_if<Hello>(&*message)) {
            if (options_.on_hello && hello->version == kProtocolVersion) {
                options_.on_hello(*hello, address_text(from));
            }
            continue;
        }
        const auto& scout = std::get<Scout>(*message);
        bool wanted = (scout.what & what_bit(options_.whatami)) != 0;
        bool self = scout.zid && *scout.zid == options_.zid;
        if (!options_.answer || !wanted || self || scout.version != kProtocolVersion) {
            continue;
        }
        Hello hello{kProtocolVersion, options_.whatami, options_.zid, {}};
        if (options_.locators) {
            hello.locators = options_.locators();
            if (hello.locators.empty()) {
                // Nothing to connect to (a peer that does not listen): an empty HELLO would only
                // send the scout after a locator that does not exist (section 6).
                continue;
            }
        }
        std::vector<uint8_t> out;
        Writer w(out);
        encode(w, hello);
        if (::sendto(unicast_.fd(), out.data(), out.size(), 0,
                     reinterpret_cast<const sockaddr*>(&from), from_len) < 0) {
            log(sys::errno_error(fmt::format("scouting: HELLO to {}", address_text(from)))
                    .message());
        }
    }
}

}  // namespace dora::zenoh
