// Session: multicast scouting (docs/zenoh-protocol.md section 6). Answering SCOUTs, and connecting
// to what the HELLOs name, kept apart from transport handling and routing in session.cpp.
#include "zenoh/session.hpp"

namespace dora::zenoh {

Result<> Session::start_scouting() {
    ScouterOptions so;
    so.multicast = options_.config.multicast;
    so.zid = zid();
    so.whatami = options_.transport.whatami;
    so.log = options_.transport.log;
    switch (mode()) {
        case Mode::kRouter:
            so.answer = true;  // routers do not autoconnect (zenohd's default)
            break;
        case Mode::kPeer:
            so.answer = true;
            so.scout_what = kWhatRouter | kWhatPeer;
            break;
        case Mode::kClient:
            // Like zenoh-pico: scout only without configured endpoints, until linked.
            if (options_.config.connect.empty()) {
                so.scout_what = kWhatRouter | kWhatPeer;
                so.should_scout = [this] { return faces_.empty(); };
            }
            break;
    }
    so.locators = [this] {
        return advertised_locators(options_.config.listen, listen_ports(),
                                   options_.config.multicast);
    };
    so.on_hello = [this](const Hello& hello, std::string_view) { on_hello(hello); };
    DORA_ZTRY(scouter, Scouter::start(loop_, std::move(so)));
    scouter_ = std::move(scouter);
    return {};
}

bool Session::linked_to(const Zid& zid) const {
    for (const auto& [id, face] : faces_) {
        if (face.transport->state() != Transport::State::kClosed &&
            face.transport->peer_zid() == zid) {
            return true;
        }
    }
    for (const auto& [id, scouted] : scouted_) {
        if (scouted == zid) {
            return true;
        }
    }
    return false;
}

void Session::on_hello(const Hello& hello) {
    if (closing_ || hello.zid == zid() || hello.whatami == WhatAmI::kClient ||
        linked_to(hello.zid)) {
        return;
    }
    if (mode() == Mode::kRouter || (mode() == Mode::kClient && !faces_.empty())) {
        return;
    }
    // Two of our peers both scout: only one of them connects, or they would link twice.
    if (mode() == Mode::kPeer && hello.whatami == WhatAmI::kPeer &&
        !std::lexicographical_compare(zid().bytes().begin(), zid().bytes().end(),
                                      hello.zid.bytes().begin(), hello.zid.bytes().end())) {
        return;
    }
    for (const auto& locator : hello.locators) {
        auto endpoint = parse_endpoint(locator);
        if (!endpoint || (endpoint->protocol != "tcp" && endpoint->protocol != "tls")) {
            continue;
        }
        if (options_.config.tls_only && endpoint->protocol != "tls") {
            if (refused_scouted_.size() < 64 && refused_scouted_.insert(hello.zid).second) {
                log(fmt::format(
                    "zenoh session: not dialling scouted {} {} at {}: with a cluster token only "
                    "tls/ links are made (this one would carry data in clear)",
                    to_string(hello.whatami), hello.zid.to_string(), escape_for_log(locator)));
            }
            continue;
        }
        auto config = tls_links_.connect_config(options_.transport, *endpoint);
        auto transport = config ? Transport::connect(loop_, *endpoint, std::move(*config), *this)
                                : Result<std::unique_ptr<Transport>>(fail(config.error()));
        if (!transport) {
            log(fmt::format("zenoh session: scouted {} at {}: {}", hello.zid.to_string(),
                            escape_for_log(locator), escape_for_log(transport.error().message())));
            continue;
        }
        log(fmt::format("zenoh session: connecting to scouted {} {} at {}",
                        to_string(hello.whatami), hello.zid.to_string(), escape_for_log(locator)));
        uint64_t id = next_face_;
        add_face(std::move(*transport), std::nullopt);
        scouted_[id] = hello.zid;
        return;
    }
}

}  // namespace dora::zenoh
