// Session: liveliness tokens (docs/zenoh-protocol.md section 5.7). Tokens live in one registry,
// local (face 0) and declared by faces, so interests are answered for them like for subscribers
// (session_interest.cpp), liveliness subscribers are told as they come and go, and a face's
// tokens go with the face. A client learns of tokens only by asking its router: an INTEREST
// (tokens, future, plus current for history) per liveliness subscriber, and a current-only one per
// liveliness_get(), whose D_TOKEN replies are reported and not tracked.
#include "zenoh/keyexpr.hpp"
#include "zenoh/session.hpp"
#include "zenoh/try.hpp"

namespace dora::zenoh {

uint32_t Session::add_token(std::string key, uint64_t face, bool current_reply) {
    uint32_t token = next_token_++;
    auto& entity = tokens_[token];
    entity.key = std::move(key);
    entity.face = face;
    update_interests(EntityKind::kToken, token, true);
    notify_liveliness(tokens_.at(token).key, true, current_reply);
    return token;
}

void Session::remove_token(uint32_t token) {
    auto it = tokens_.find(token);
    if (it == tokens_.end()) {
        return;
    }
    update_interests(EntityKind::kToken, token, false);
    std::string key = std::move(tokens_.at(token).key);
    tokens_.erase(token);
    notify_liveliness(key, false);
}

void Session::notify_liveliness(std::string_view key, bool alive, bool current_reply) {
    // Copies: a callback may declare or undeclare liveliness subscribers.
    std::vector<TokenCallback> callbacks;
    for (const auto& [id, ls] : liveliness_subscribers_) {
        if (ls.callback && (ls.history || !current_reply) && keyexpr::intersects(ls.key, key)) {
            callbacks.push_back(ls.callback);
        }
    }
    for (const auto& cb : callbacks) {
        cb(key, alive);
    }
}

void Session::send_liveliness_interest(Face& face, uint64_t id, std::string_view key, bool current,
                                       bool future) {
    Interest interest;
    interest.id = id;
    interest.current = current;
    interest.future = future;
    interest.options = kInterestKeyExprs | kInterestTokens;
    interest.key = WireExpr{0, key, false};
    auto sent = face.transport->send(interest);
    if (!sent) {
        log(fmt::format("zenoh session: liveliness interest to face {} failed: {}", face.id,
                        sent.error().message()));
    }
}

Result<Subscription> Session::declare_token(std::string_view key) {
    DORA_ZTRY(canon, keyexpr::canonize(key));
    uint32_t token = add_token(canon, 0);
    broadcast_declaration(DeclKind::kToken, token, canon);
    return Subscription(anchor_, token, Subscription::Kind::kToken);
}

Result<Subscription> Session::declare_liveliness_subscriber(std::string_view key, TokenCallback cb,
                                                            bool history) {
    DORA_ZTRY(canon, keyexpr::canonize(key));
    uint32_t token = next_token_++;
    liveliness_subscribers_[token] = LivelinessSubscriber{canon, cb, history};
    if (mode() == Mode::kClient) {
        for (auto& [fid, face] : faces_) {
            if (face.transport->state() == Transport::State::kEstablished) {
                send_liveliness_interest(face, token, canon, history, true);
            }
        }
    }
    if (history && cb) {
        std::vector<std::string> alive;
        for (const auto& [t, entity] : tokens_) {
            if (keyexpr::intersects(canon, entity.key)) {
                alive.push_back(entity.key);
            }
        }
        for (const auto& k : alive) {
            cb(k, true);
        }
    }
    return Subscription(anchor_, token, Subscription::Kind::kLivelinessSubscriber);
}

Result<> Session::liveliness_get(std::string_view key, std::chrono::milliseconds timeout,
                                 TokenCallback on_token, std::function<void()> on_done) {
    DORA_ZTRY(canon, keyexpr::canonize(key));
    uint64_t id = next_interest_++;
    PendingLiveliness& pending = liveliness_gets_[id];
    pending.key = canon;
    pending.on_token = std::move(on_token);
    pending.on_done = std::move(on_done);
    if (mode() != Mode::kRouter) {
        // A router knows every token of its faces; clients and peers ask.
        for (auto& [fid, face] : faces_) {
            if (face.transport->state() == Transport::State::kEstablished) {
                send_liveliness_interest(face, id, canon, true, false);
                pending.faces.insert(fid);
            }
        }
    }
    pending.start = loop_.add_timer(std::chrono::milliseconds(0), [this, id] {
        auto it = liveliness_gets_.find(id);
        if (it == liveliness_gets_.end()) {
            return;
        }
        std::vector<std::string> alive;
        for (const auto& [t, entity] : tokens_) {
            if (keyexpr::intersects(it->second.key, entity.key) &&
                it->second.seen.insert(entity.key).second) {
                alive.push_back(entity.key);
            }
        }
        TokenCallback cb = it->second.on_token;
        for (const auto& k : alive) {
            if (cb) {
                cb(k, true);
            }
        }
        if (auto again = liveliness_gets_.find(id); again != liveliness_gets_.end()) {
            again->second.local_done = true;
            maybe_finish_liveliness_get(id);
        }
    });
    pending.timeout = loop_.add_timer(timeout, [this, id] { finish_liveliness_get(id); });
    return {};
}

bool Session::on_liveliness_reply(Face& face, const Declare& declare) {
    if (!declare.interest_id) {
        return false;
    }
    auto it = liveliness_gets_.find(*declare.interest_id);
    if (it == liveliness_gets_.end() || !it->second.faces.contains(face.id)) {
        return false;
    }
    auto key = resolve(face, *declare.decl.key);
    if (!key) {
        return true;
    }
    if (it->second.seen.insert(std::string(*key)).second && it->second.on_token) {
        TokenCallback cb = it->second.on_token;
        cb(*key, true);
    }
    return true;
}

void Session::on_declare_final(Face& face, uint64_t interest_id) {
    if (interest_id == kRouterSubscribersInterest && mode() == Mode::kClient) {
        face.subscribers_known = true;
        subscribers_changed_.request();
        return;
    }
    auto it = liveliness_gets_.find(interest_id);
    if (it != liveliness_gets_.end() && it->second.faces.erase(face.id) > 0) {
        maybe_finish_liveliness_get(interest_id);
    }
}

void Session::maybe_finish_liveliness_get(uint64_t id) {
    auto it = liveliness_gets_.find(id);
    if (it != liveliness_gets_.end() && it->second.local_done && it->second.faces.empty()) {
        finish_liveliness_get(id);
    }
}

void Session::finish_liveliness_get(uint64_t id) {
    auto node = liveliness_gets_.extract(id);
    if (node.empty()) {
        return;
    }
    PendingLiveliness done = std::move(node.mapped());
    if (done.on_done) {
        done.on_done();
    }
}

void Session::drop_liveliness_gets_of(uint64_t face) {
    std::vector<uint64_t> ids;
    for (auto& [id, pending] : liveliness_gets_) {
        if (pending.faces.erase(face) > 0) {
            ids.push_back(id);
        }
    }
    for (uint64_t id : ids) {
        maybe_finish_liveliness_get(id);
    }
}

}  // namespace dora::zenoh
