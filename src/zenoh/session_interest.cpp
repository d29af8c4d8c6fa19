// Session: the subscriber, queryable and token registries, the declarations we send and the
// interest side (docs/zenoh-protocol.md sections 5.2 and 5.3), kept apart from transport handling
// and PUSH routing in session.cpp. Subscribers, queryables and tokens are answered by one piece of
// code: an interest names the kinds it wants (S, Q, T option bits), and each kind has its
// declaration and undeclaration.
#include "zenoh/keyexpr.hpp"
#include "zenoh/session.hpp"
#include "zenoh/try.hpp"

namespace dora::zenoh {

namespace {

struct KindInfo {
    uint8_t option;
    DeclKind declare;
    DeclKind undeclare;
};

constexpr std::array<KindInfo, 3> kKinds{{
    {kInterestSubscribers, DeclKind::kSubscriber, DeclKind::kUndeclareSubscriber},
    {kInterestQueryables, DeclKind::kQueryable, DeclKind::kUndeclareQueryable},
    {kInterestTokens, DeclKind::kToken, DeclKind::kUndeclareToken},
}};

bool interest_matches(const std::optional<std::string>& interest_key, std::string_view key) {
    return !interest_key || keyexpr::intersects(*interest_key, key);
}

uint64_t declared_tag(size_t kind, uint32_t token) { return uint64_t{kind} << 32 | token; }

}  // namespace

uint32_t Session::add_subscriber(std::string key, uint64_t face, SampleCallback cb) {
    uint32_t token = next_token_++;
    subscribers_[token] = Subscriber{std::move(key), face, std::move(cb)};
    if (face != 0) {
        subscribers_changed_.request();
    }
    invalidate_routes();
    update_interests(EntityKind::kSubscriber, token, true);
    return token;
}

void Session::remove_subscriber(uint32_t token) {
    if (subscribers_.count(token) == 0) {
        return;
    }
    update_interests(EntityKind::kSubscriber, token, false);
    auto node = subscribers_.extract(token);
    if (node.mapped().face != 0) {
        subscribers_changed_.request();
    }
    if (routing_depth_ > 0) {
        retired_subscribers_.push_back(std::move(node));
    }
    invalidate_routes();
}

uint32_t Session::add_queryable(std::string key, uint64_t face, bool complete, QueryCallback cb) {
    uint32_t token = next_token_++;
    queryables_[token] = Entity{std::move(key), face, complete, std::move(cb)};
    update_interests(EntityKind::kQueryable, token, true);
    return token;
}

void Session::remove_queryable(uint32_t token) {
    if (queryables_.count(token) == 0) {
        return;
    }
    update_interests(EntityKind::kQueryable, token, false);
    queryables_.erase(token);
}

void Session::for_each_entity(
    EntityKind kind,
    const std::function<void(uint32_t, const std::string&, uint64_t, bool)>& fn) const {
    switch (kind) {
        case EntityKind::kSubscriber:
            for (const auto& [token, sub] : subscribers_) {
                fn(token, sub.key, sub.face, false);
            }
            return;
        case EntityKind::kQueryable:
            for (const auto& [token, q] : queryables_) {
                fn(token, q.key, q.face, q.complete);
            }
            return;
        case EntityKind::kToken:
            for (const auto& [token, t] : tokens_) {
                fn(token, t.key, t.face, false);
            }
            return;
    }
}

bool Session::visible_to(uint64_t owner_face, const Face& face) const {
    return owner_face != face.id && (owner_face == 0 || mode() == Mode::kRouter);
}

void Session::on_interest(Face& face, const Interest& interest) {
    if (!interest.current && !interest.future) {
        face.interests.erase(interest.id);
        return;
    }
    FaceInterest fi;
    fi.options = interest.options;
    fi.aggregate = (interest.options & kInterestAggregate) != 0;
    fi.aggregate_id = next_aggregate_++;
    if (interest.key) {
        auto key = resolve(face, *interest.key);
        if (!key) {
            log(fmt::format("zenoh session: INTEREST {} ignored: {}", interest.id,
                            escape_for_log(key.error().message())));
            if (interest.current) {
                send_declaration(face, interest.id, DeclKind::kFinal, 0, std::nullopt);
            }
            return;
        }
        fi.key = std::string(*key);
    }
    std::optional<uint64_t> reply_to;
    if (interest.current) {
        reply_to = interest.id;
    }
    for (size_t k = 0; k < kKinds.size(); ++k) {
        if ((interest.options & kKinds[k].option) == 0) {
            continue;
        }
        for_each_entity(static_cast<EntityKind>(k), [&](uint32_t token, const std::string& key,
                                                        uint64_t owner, bool complete) {
            if (!visible_to(owner, face) || !interest_matches(fi.key, key)) {
                return;
            }
            if (fi.aggregate) {
                if (!fi.aggregate_declared[k] && interest.current) {
                    // zenoh-pico matches aggregated replies by equality with its interest key.
                    send_declaration(face, reply_to, kKinds[k].declare, fi.aggregate_id,
                                     fi.key ? std::string_view(*fi.key) : "**");
                }
                fi.aggregate_declared[k] = true;
            } else {
                if (interest.current) {
                    send_declaration(face, reply_to, kKinds[k].declare, token, key, complete);
                }
                fi.declared.insert(declared_tag(k, token));
            }
        });
    }
    if (interest.current) {
        send_declaration(face, reply_to, DeclKind::kFinal, 0, std::nullopt);
    }
    if (interest.future) {
        face.interests[interest.id] = std::move(fi);
    }
}

void Session::update_interests(EntityKind kind, uint32_t token, bool added) {
    auto k = static_cast<size_t>(kind);
    std::string key;
    uint64_t owner = 0;
    bool complete = false;
    bool found = false;
    for_each_entity(kind, [&](uint32_t t, const std::string& ekey, uint64_t eface, bool c) {
        if (t == token) {
            key = ekey;
            owner = eface;
            complete = c;
            found = true;
        }
    });
    if (!found) {
        return;
    }
    for (auto& [id, face] : faces_) {
        if (!visible_to(owner, face) || face.transport->state() != Transport::State::kEstablished) {
            continue;
        }
        for (auto& [interest_id, fi] : face.interests) {
            if ((fi.options & kKinds[k].option) == 0 || !interest_matches(fi.key, key)) {
                continue;
            }
            if (!fi.aggregate) {
                uint64_t tag = declared_tag(k, token);
                if (added && fi.declared.insert(tag).second) {
                    send_declaration(face, std::nullopt, kKinds[k].declare, token, key, complete);
                } else if (!added && fi.declared.erase(tag) > 0) {
                    // Rust liveliness subscribers name the token's key in U_TOKEN.
                    send_declaration(face, std::nullopt, kKinds[k].undeclare, token,
                                     kind == EntityKind::kToken
                                         ? std::optional<std::string_view>(key)
                                         : std::nullopt);
                }
                continue;
            }
            bool any = false;
            // Plain references to the bindings: clang 14 (Debian 12's) cannot capture a structured
            // binding in a lambda.
            const Face& target = face;
            const auto& interest_key = fi.key;
            for_each_entity(
                kind, [&](uint32_t other, const std::string& okey, uint64_t oface, bool) {
                    any = any || ((added || other != token) && visible_to(oface, target) &&
                                  interest_matches(interest_key, okey));
                });
            if (any && !fi.aggregate_declared[k]) {
                send_declaration(face, std::nullopt, kKinds[k].declare, fi.aggregate_id,
                                 fi.key ? std::string_view(*fi.key) : "**");
            } else if (!any && fi.aggregate_declared[k]) {
                send_declaration(face, std::nullopt, kKinds[k].undeclare, fi.aggregate_id,
                                 std::nullopt);
            }
            fi.aggregate_declared[k] = any;
        }
    }
}

Result<Subscription> Session::declare_subscriber(std::string_view key, SampleCallback cb) {
    DORA_ZTRY(canon, keyexpr::canonize(key));
    uint32_t token = add_subscriber(canon, 0, std::move(cb));
    broadcast_declaration(DeclKind::kSubscriber, token, canon);
    return Subscription(anchor_, token);
}

void Session::undeclare_subscriber(uint32_t id) {
    auto it = subscribers_.find(id);
    if (it == subscribers_.end() || it->second.face != 0) {
        return;
    }
    broadcast_declaration(DeclKind::kUndeclareSubscriber, id, std::nullopt);
    remove_subscriber(id);
}

void Session::declare_local_entities(Face& face) {
    for (const auto& [token, sub] : subscribers_) {
        if (sub.face == 0) {
            send_declaration(face, std::nullopt, DeclKind::kSubscriber, token, sub.key);
        }
    }
    for (const auto& [token, q] : queryables_) {
        if (q.face == 0) {
            send_declaration(face, std::nullopt, DeclKind::kQueryable, token, q.key, q.complete);
        }
    }
    for (const auto& [token, t] : tokens_) {
        if (t.face == 0) {
            send_declaration(face, std::nullopt, DeclKind::kToken, token, t.key);
        }
    }
}

void Session::broadcast_declaration(DeclKind kind, uint32_t token,
                                    std::optional<std::string_view> key, bool complete) {
    if (mode() == Mode::kRouter) {
        return;  // a router declares only on interest (update_interests)
    }
    for (auto& [fid, face] : faces_) {
        if (face.transport->state() == Transport::State::kEstablished) {
            send_declaration(face, std::nullopt, kind, token, key, complete);
        }
    }
}

void Session::undeclare_entity(Subscription::Kind kind, uint32_t id) {
    switch (kind) {
        case Subscription::Kind::kSubscriber:
            undeclare_subscriber(id);
            return;
        case Subscription::Kind::kQueryable:
            if (auto it = queryables_.find(id); it != queryables_.end() && it->second.face == 0) {
                broadcast_declaration(DeclKind::kUndeclareQueryable, id, std::nullopt);
                remove_queryable(id);
            }
            return;
        case Subscription::Kind::kToken:
            if (auto it = tokens_.find(id); it != tokens_.end() && it->second.face == 0) {
                std::string key = it->second.key;
                broadcast_declaration(DeclKind::kUndeclareToken, id, key);
                remove_token(id);
            }
            return;
        case Subscription::Kind::kLivelinessSubscriber:
            if (liveliness_subscribers_.erase(id) > 0 && mode() == Mode::kClient) {
                for (auto& [fid, face] : faces_) {
                    if (face.transport->state() == Transport::State::kEstablished) {
                        Interest done;
                        done.id = id;
                        // Fails only when the face is no longer established; its close is handled
                        // by on_closed.
                        (void)face.transport->send(done);
                    }
                }
            }
            return;
    }
}

void Session::send_declaration(Face& face, std::optional<uint64_t> interest_id, DeclKind kind,
                               uint64_t id, std::optional<std::string_view> key, bool complete) {
    Declare d;
    d.interest_id = interest_id;
    d.decl.kind = kind;
    d.decl.id = id;
    d.decl.complete = complete;
    if (key) {
        d.decl.key = WireExpr{0, *key, false};
    }
    auto sent = face.transport->send(d);
    if (!sent) {
        log(fmt::format("zenoh session: declaration to face {} failed: {}", face.id,
                        sent.error().message()));
    }
}

}  // namespace dora::zenoh
