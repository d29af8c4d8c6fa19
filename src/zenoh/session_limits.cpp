// What peers can make a session hold (session.hpp, "Bounds"): accepted links before INIT/OPEN
// (PendingGate), established links (max_sessions), declarations and key-expression lengths per
// link.
#include <fmt/format.h>

#include "zenoh/session.hpp"

namespace dora::zenoh {

namespace {

// The key expression a network message names, if any.
const WireExpr* key_of(const NetworkMessage& message) {
    if (const auto* push = std::get_if<Push>(&message)) {
        return &push->key;
    }
    if (const auto* declare = std::get_if<Declare>(&message)) {
        return declare->decl.key ? &*declare->decl.key : nullptr;
    }
    if (const auto* interest = std::get_if<Interest>(&message)) {
        return interest->key ? &*interest->key : nullptr;
    }
    if (const auto* request = std::get_if<Request>(&message)) {
        return &request->key;
    }
    if (const auto* response = std::get_if<Response>(&message)) {
        return &response->key;
    }
    return nullptr;
}

std::string_view kind_name(DeclKind kind) {
    switch (kind) {
        case DeclKind::kKeyExpr:
            return "key expression";
        case DeclKind::kSubscriber:
            return "subscriber";
        case DeclKind::kQueryable:
            return "queryable";
        case DeclKind::kToken:
            return "liveliness token";
        default:
            return "declaration";
    }
}

}  // namespace

void Session::accept(sys::UniqueFd fd, bool tls) {
    std::shared_ptr<const tls::TlsContext> context;
    if (tls) {
        auto server = tls_links_.server();
        if (!server) {
            auto peer = net::peer_address(fd.get());
            log_limit(fmt::format("zenoh session: refused a tls/ link from {}: {}",
                                  peer ? peer->to_string() : std::string("an unknown address"),
                                  server.error().message()));
            return;  // closes it
        }
        context = std::move(*server);
    }
    PendingSlot slot;
    if (auto peer = net::peer_address(fd.get())) {
        const uint64_t face_id = next_face_;  // the one add_face() gives it
        auto admitted = pending_->admit(*peer, loop_.now(), [this, face_id](const std::string&) {
            if (auto face = faces_.find(face_id); face != faces_.end()) {
                face->second.transport->close(kCloseGeneric);
            }
        });
        if (!admitted) {
            return;  // over a cap (logged by the gate): the newest link is closed
        }
        slot = std::move(*admitted);
    }
    TransportConfig config = options_.transport;
    config.handshake_timeout = std::chrono::milliseconds(options_.config.accept_timeout_ms);
    config.tls = std::move(context);
    auto transport = Transport::accept(loop_, std::move(fd), std::move(config), *this);
    if (!transport) {
        log(fmt::format("zenoh session: cannot accept: {}", transport.error().message()));
        return;
    }
    add_face(std::move(*transport), std::nullopt).pending = std::move(slot);
}

void Session::log_limit(const std::string& line) {
    if (auto held = limit_log_.admit(SteadyClock::now())) {
        warn(*held == 0
                 ? line
                 : fmt::format("{} ({} more refusal(s) since the last report)", line, *held));
    }
}

bool Session::over_max_sessions(Face& face) {
    if (face_count() <= options_.config.max_sessions) {
        return false;
    }
    log_limit(
        fmt::format("zenoh session: closed the link from {}: {} links are open already (the limit, "
                    "transport.unicast.max_sessions in ZENOH_CONFIG)",
                    face.transport->peer_address(), options_.config.max_sessions));
    face.transport->close(kCloseMaxTransports);
    return true;
}

size_t Session::declarations_of(const Face& face) {
    return face.keyexprs.size() + face.subscribers.size() + face.queryables.size() +
           face.tokens.size() + face.interests.size();
}

bool Session::within_limits(Face& face, const NetworkMessage& message) {
    const auto& limits = options_.config.limits;
    if (const WireExpr* key = key_of(message)) {
        size_t length = key->suffix.size();
        if (key->scope != 0 && key->sender_mapping) {
            auto prefix = face.keyexprs.find(key->scope);
            length += prefix == face.keyexprs.end() ? 0 : prefix->second.size();
        }
        if (length > limits.key_expr_length) {
            log_limit(fmt::format(
                "zenoh session: closed the link from {}: a key expression of {} bytes is over "
                "the limit of {} ({} in ZENOH_CONFIG): '{}'",
                face.transport->peer_address(), length, limits.key_expr_length, kKeyExprLengthKey,
                escape_for_log(key->suffix, 64)));
            face.transport->close(kCloseInvalid);
            return false;
        }
    }
    std::string_view what;
    if (const auto* declare = std::get_if<Declare>(&message)) {
        const Declaration& d = declare->decl;
        const bool adds = (d.kind == DeclKind::kKeyExpr && !face.keyexprs.contains(d.id)) ||
                          (d.kind == DeclKind::kSubscriber && !face.subscribers.contains(d.id)) ||
                          (d.kind == DeclKind::kQueryable && !face.queryables.contains(d.id)) ||
                          (d.kind == DeclKind::kToken && !face.tokens.contains(d.id));
        what = adds ? kind_name(d.kind) : "";
    } else if (const auto* interest = std::get_if<Interest>(&message)) {
        what = interest->future && !face.interests.contains(interest->id) ? "interest" : "";
    }
    if (what.empty() || declarations_of(face) < limits.declarations) {
        return true;
    }
    if (face.refused_declarations++ == 0) {
        log_limit(fmt::format(
            "zenoh session: refused a {} from {}: the link holds {} declarations, the limit ({} "
            "in ZENOH_CONFIG); further ones on this link are refused without a word",
            what, face.transport->peer_address(), declarations_of(face), kDeclarationsPerLinkKey));
    }
    return false;
}

}  // namespace dora::zenoh
