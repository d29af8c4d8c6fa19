// Session: the subscriber registry and the interest side (docs/zenoh-protocol.md section 5.3),
// kept apart from transport handling and PUSH routing in session.cpp.
#include "zenoh/keyexpr.hpp"
#include "zenoh/session.hpp"

namespace dora::zenoh {

uint32_t Session::add_subscriber(std::string key, uint64_t face, SampleCallback cb) {
    uint32_t token = next_token_++;
    subscribers_[token] = Subscriber{std::move(key), face, std::move(cb)};
    invalidate_routes();
    update_interests(token, true);
    return token;
}

void Session::remove_subscriber(uint32_t token) {
    if (subscribers_.count(token) == 0) {
        return;
    }
    update_interests(token, false);
    auto node = subscribers_.extract(token);
    if (routing_depth_ > 0) {
        retired_subscribers_.push_back(std::move(node));
    }
    invalidate_routes();
}

bool Session::visible_to(const Subscriber& sub, const Face& face) const {
    return sub.face != face.id && (sub.face == 0 || mode() == Mode::kRouter);
}

namespace {

bool interest_matches(const std::optional<std::string>& interest_key, std::string_view key) {
    return !interest_key || keyexpr::intersects(*interest_key, key);
}

}  // namespace

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
                            key.error().message()));
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
    if ((interest.options & kInterestSubscribers) != 0) {
        for (const auto& [token, sub] : subscribers_) {
            if (!visible_to(sub, face) || !interest_matches(fi.key, sub.key)) {
                continue;
            }
            if (fi.aggregate) {
                if (!fi.aggregate_declared && interest.current) {
                    // zenoh-pico matches aggregated replies by equality with its interest key.
                    send_declaration(face, reply_to, DeclKind::kSubscriber, fi.aggregate_id,
                                     fi.key ? std::string_view(*fi.key) : "**");
                }
                fi.aggregate_declared = true;
            } else {
                if (interest.current) {
                    send_declaration(face, reply_to, DeclKind::kSubscriber, token, sub.key);
                }
                fi.declared.insert(token);
            }
        }
    }
    if (interest.current) {
        send_declaration(face, reply_to, DeclKind::kFinal, 0, std::nullopt);
    }
    if (interest.future) {
        face.interests[interest.id] = std::move(fi);
    }
}

void Session::update_interests(uint32_t token, bool added) {
    const Subscriber& sub = subscribers_.at(token);
    for (auto& [id, face] : faces_) {
        if (!visible_to(sub, face) || face.transport->state() != Transport::State::kEstablished) {
            continue;
        }
        for (auto& [interest_id, fi] : face.interests) {
            if ((fi.options & kInterestSubscribers) == 0 || !interest_matches(fi.key, sub.key)) {
                continue;
            }
            if (!fi.aggregate) {
                if (added && fi.declared.insert(token).second) {
                    send_declaration(face, std::nullopt, DeclKind::kSubscriber, token, sub.key);
                } else if (!added && fi.declared.erase(token) > 0) {
                    send_declaration(face, std::nullopt, DeclKind::kUndeclareSubscriber, token,
                                     std::nullopt);
                }
                continue;
            }
            bool any = false;
            for (const auto& [other, s] : subscribers_) {
                if ((added || other != token) && visible_to(s, face) &&
                    interest_matches(fi.key, s.key)) {
                    any = true;
                    break;
                }
            }
            if (any && !fi.aggregate_declared) {
                send_declaration(face, std::nullopt, DeclKind::kSubscriber, fi.aggregate_id,
                                 fi.key ? std::string_view(*fi.key) : "**");
            } else if (!any && fi.aggregate_declared) {
                send_declaration(face, std::nullopt, DeclKind::kUndeclareSubscriber,
                                 fi.aggregate_id, std::nullopt);
            }
            fi.aggregate_declared = any;
        }
    }
}

}  // namespace dora::zenoh
