#include "zenoh/session.hpp"

#include "zenoh/keyexpr.hpp"
#include "zenoh/try.hpp"

namespace dora::zenoh {

namespace {

// Queued output beyond which a face is considered not to read, and samples for it are dropped.
constexpr size_t kMaxPendingBytes = size_t{256} << 20;

WhatAmI whatami_of(Mode mode) {
    switch (mode) {
        case Mode::kRouter:
            return WhatAmI::kRouter;
        case Mode::kClient:
            return WhatAmI::kClient;
        case Mode::kPeer:
            break;
    }
    return WhatAmI::kPeer;
}

}  // namespace

struct Subscription::Anchor {
    Session* session = nullptr;
};

Subscription::Subscription(Subscription&& other) noexcept
    : session_(std::move(other.session_)), id_(std::exchange(other.id_, 0)), kind_(other.kind_) {}

Subscription& Subscription::operator=(Subscription&& other) noexcept {
    if (this != &other) {
        undeclare();
        session_ = std::move(other.session_);
        id_ = std::exchange(other.id_, 0);
        kind_ = other.kind_;
    }
    return *this;
}

void Subscription::undeclare() {
    if (auto anchor = session_.lock(); anchor && id_ != 0) {
        anchor->session->undeclare_entity(kind_, id_);
    }
    session_.reset();
    id_ = 0;
}

bool Subscription::active() const {
    auto anchor = session_.lock();
    if (!anchor || id_ == 0) {
        return false;
    }
    const Session& s = *anchor->session;
    switch (kind_) {
        case Kind::kSubscriber:
            return s.subscribers_.contains(id_);
        case Kind::kQueryable:
            return s.queryables_.contains(id_);
        case Kind::kToken:
            return s.tokens_.contains(id_);
        case Kind::kLivelinessSubscriber:
            return s.liveliness_subscribers_.contains(id_);
    }
    return false;
}

Result<std::unique_ptr<Session>> Session::open(EventLoop& loop, SessionOptions options) {
    std::unique_ptr<Session> session(new Session(loop, std::move(options)));
    DORA_ZCHECK(session->start());
    return session;
}

Session::Session(EventLoop& loop, SessionOptions options)
    : loop_(loop),
      options_(std::move(options)),
      tls_links_(options_.tls_later.empty() ? TlsLinks(options_.config.tls)
                                            : TlsLinks::later(options_.tls_later)),
      anchor_(std::make_shared<Subscription::Anchor>(Subscription::Anchor{this})) {
    reap_ = loop_.defer([this] { remove_closed_faces(); });
    subscribers_changed_ = loop_.defer([this] {
        if (on_subscribers_changed_) {
            on_subscribers_changed_();
        }
    });
    options_.transport.whatami = whatami_of(options_.config.mode);
    options_.transport.batch_size = options_.config.batch_size;
    options_.transport.lease = std::chrono::milliseconds(options_.config.lease_ms);
    options_.transport.keep_alive = static_cast<unsigned>(options_.config.keep_alive);
    options_.transport.max_message_size = options_.config.max_message_size;
    options_.transport.close_on_peer_expiration = options_.config.tls.close_link_on_expiration;
    pending_ = PendingGate::create(
        {options_.config.accept_pending, options_.config.limits.pending_per_address},
        "zenoh session", [this](const std::string& line) { warn(line); });
}

Session::~Session() {
    closing_ = true;
    anchor_.reset();  // Subscriptions destroyed from here on (callbacks too) are inert
    close_publish_queue();
    dials_.clear();
    // Taken out first: closing calls on_closed, which must find nothing left to update.
    auto faces = std::move(faces_);
    faces_.clear();
    face_ids_.clear();
    for (auto& [id, face] : faces) {
        if (face.transport->state() != Transport::State::kClosed) {
            face.transport->close(kCloseGeneric);
        }
    }
}

void Session::log(std::string_view line) const {
    if (options_.transport.log) {
        options_.transport.log(line);
    } else {
        fmt::print(stderr, "{}\n", line);
    }
}

void Session::warn(std::string_view line) const {
    if (options_.transport.warn) {
        options_.transport.warn(line);
    } else {
        log(line);
    }
}

Result<> Session::start() {
    for (const auto& endpoint : options_.config.listen) {
        const bool tls = endpoint.protocol == "tls";
        if (tls && !tls_links_.waiting()) {
            DORA_ZCHECK(tls_links_.server());  // a settings error ends the start
        }
        DORA_ZTRY(
            listener,
            TcpListener::listen(
                loop_, endpoint, [this, tls](sys::UniqueFd fd) { accept(std::move(fd), tls); },
                [this](const std::string& line) { warn(line); },
                [this] { return pending_->shed_one(loop_.now(), "out of descriptors"); }));
        listeners_.push_back(std::move(listener));
    }
    for (const auto& endpoint : options_.config.connect) {
        if (endpoint.protocol == "tls" && !tls_links_.waiting()) {
            DORA_ZCHECK(tls_links_.client());  // a settings error ends the start, not each dial
        }
        connect_to(endpoint);
    }
    if (options_.config.multicast.enabled) {
        DORA_ZCHECK(start_scouting());
    }
    return {};
}

void Session::connect_to(const Endpoint& endpoint) {
    auto [it, inserted] = dials_.try_emplace(endpoint.to_string());
    if (inserted) {
        it->second.endpoint = endpoint;
        connect(endpoint);
    }
}

void Session::forget(const Endpoint& endpoint) {
    dials_.erase(endpoint.to_string());
    dials_waiting_for_tls_.erase(endpoint.to_string());
}

Result<> Session::set_tls(TlsKeys keys) {
    const bool close_on_expiration = keys.close_link_on_expiration;
    DORA_ZCHECK(tls_links_.set(std::move(keys)));
    options_.transport.close_on_peer_expiration = close_on_expiration;
    for (const auto& text : std::exchange(dials_waiting_for_tls_, {})) {
        if (auto dial = dials_.find(text); dial != dials_.end()) {
            Endpoint target = dial->second.endpoint;
            connect(target);
        }
    }
    return {};
}

std::vector<std::string> Session::dialled() const {
    std::vector<std::string> out;
    for (const auto& [key, dial] : dials_) {
        out.push_back(key);
    }
    return out;
}

std::optional<Session::DialState> Session::dial_state(const Endpoint& endpoint) const {
    auto it = dials_.find(endpoint.to_string());
    if (it == dials_.end()) {
        return std::nullopt;
    }
    return DialState{it->second.failures, it->second.delay};
}

void Session::connect(const Endpoint& endpoint) {
    if (closing_) {
        return;
    }
    if (endpoint.protocol == "tls" && tls_links_.waiting()) {
        dials_waiting_for_tls_.insert(endpoint.to_string());  // set_tls() dials it
        return;
    }
    auto config = tls_links_.connect_config(options_.transport, endpoint);
    auto transport = config ? Transport::connect(loop_, endpoint, std::move(*config), *this)
                            : Result<std::unique_ptr<Transport>>(fail(config.error()));
    if (!transport) {
        log(fmt::format("zenoh session: connect {}: {}", endpoint.to_string(),
                        transport.error().message()));
        schedule_reconnect(endpoint.to_string());
        return;
    }
    add_face(std::move(*transport), endpoint);
}

Session::Face& Session::add_face(std::unique_ptr<Transport> transport,
                                 std::optional<Endpoint> reconnect) {
    uint64_t id = next_face_++;
    face_ids_[transport.get()] = id;
    Face& face = faces_[id];
    face.id = id;
    face.transport = std::move(transport);
    face.reconnect = std::move(reconnect);
    return face;
}

std::vector<uint16_t> Session::listen_ports() const {
    std::vector<uint16_t> ports;
    for (const auto& l : listeners_) {
        ports.push_back(l->port());
    }
    return ports;
}

size_t Session::face_count() const {
    size_t n = 0;
    for (const auto& [id, face] : faces_) {
        n += face.transport->state() == Transport::State::kEstablished ? 1 : 0;
    }
    return n;
}

size_t Session::pending_bytes() const {
    size_t n = 0;
    for (const auto& [id, face] : faces_) {
        if (face.transport->state() != Transport::State::kClosed) {
            n += face.transport->pending_bytes();
        }
    }
    return n;
}

Session::Face* Session::face_of(Transport& transport) {
    auto it = face_ids_.find(&transport);
    if (it == face_ids_.end()) {
        return nullptr;
    }
    auto face = faces_.find(it->second);
    return face == faces_.end() ? nullptr : &face->second;
}

void Session::on_established(Transport& transport) {
    Face* face = face_of(transport);
    if (face == nullptr) {
        return;
    }
    face->pending.release();
    face->established = true;
    if (reading_holds_ > 0) {
        transport.set_reading(false);  // a receiver's backpressure holds every link
    }
    if (over_max_sessions(*face)) {
        return;
    }
    log(fmt::format("zenoh session: face {} opened: {} {} at {}", face->id,
                    to_string(transport.peer_whatami()), transport.peer_zid().to_string(),
                    transport.peer_address()));
    if (face->reconnect) {
        if (auto dial = dials_.find(face->reconnect->to_string()); dial != dials_.end()) {
            dial->second.failures = 0;
        }
    }
    subscribers_changed_.request();  // a client's has_remote_subscriber follows its links
    if (mode() != Mode::kRouter) {
        declare_local_entities(*face);
    }
    if (mode() == Mode::kPeer && transport.peer_whatami() != WhatAmI::kClient) {
        // Ask a peer or router for its subscribers, queryables and tokens, now and as they change
        // (Rust peers declare on interest). Never a client: it declares unasked, and a Rust
        // client treats an INTEREST from the node it is linked to as unreachable code and panics
        // (docs section 9.6).
        Interest interest;
        interest.id = face->id;
        interest.current = true;
        interest.future = true;
        interest.options =
            kInterestKeyExprs | kInterestSubscribers | kInterestQueryables | kInterestTokens;
        // Fails only when the face is no longer established; its close is handled by on_closed.
        (void)transport.send(interest);
    } else if (mode() == Mode::kClient) {
        // A router tells a client of tokens only on interest: one per liveliness subscriber.
        for (const auto& [token, ls] : liveliness_subscribers_) {
            send_liveliness_interest(*face, token, ls.key, ls.history, true);
        }
        // And of subscribers: who subscribes anywhere, now and as it changes.
        Interest interest;
        interest.id = kRouterSubscribersInterest;
        interest.current = true;
        interest.future = true;
        interest.options = kInterestKeyExprs | kInterestSubscribers;
        (void)transport.send(interest);  // fails only once closed: on_closed handles that
    }
}

void Session::on_closed(Transport& transport, const Error& reason) {
    Face* face = face_of(transport);
    if (face == nullptr) {
        return;
    }
    std::string peer =
        transport.peer_zid().empty()
            ? fmt::format("at {}", transport.peer_address())
            : fmt::format("{} {} at {}", to_string(transport.peer_whatami()),
                          transport.peer_zid().to_string(), transport.peer_address());
    // An accepted link that never opened was logged (throttled) by its transport.
    if (face->established || face->reconnect) {
        log(fmt::format("zenoh session: face {} closed ({}): {}", face->id, peer,
                        reason.message()));
    }
    face_ids_.erase(&transport);
    // We are inside the transport's callback, maybe inside a send from route(): tidy up at the
    // end of the iteration, where neither the transport nor faces_ is in use.
    closed_faces_.push_back(face->id);
    reap_.request();
}

void Session::remove_closed_faces() {
    // Moved out: a face that closes while these are removed waits for the next round.
    auto ids = std::move(closed_faces_);
    closed_faces_.clear();
    for (uint64_t id : ids) {
        remove_face(id);
    }
}

void Session::remove_face(uint64_t id) {
    auto node = faces_.extract(id);
    if (node.empty()) {
        return;
    }
    Face face = std::move(node.mapped());
    subscribers_changed_.request();
    for (const auto& [entity, token] : face.subscribers) {
        remove_subscriber(token);
    }
    for (const auto& [entity, token] : face.queryables) {
        remove_queryable(token);
    }
    for (const auto& [entity, token] : face.tokens) {
        remove_token(token);
    }
    drop_queries_of(id);
    drop_liveliness_gets_of(id);
    scouted_.erase(id);
    if (face.reconnect) {
        schedule_reconnect(face.reconnect->to_string());
    } else if (scouter_) {
        scouter_->scout_now();
    }
}

void Session::schedule_reconnect(const std::string& endpoint) {
    auto it = dials_.find(endpoint);
    if (closing_ || it == dials_.end()) {
        return;  // forgotten: not dialled again
    }
    Dial& dial = it->second;
    auto delay = options_.reconnect_delay;
    for (unsigned i = 0; i < dial.failures && delay < options_.reconnect_max_delay; ++i) {
        delay *= 2;
    }
    delay = std::min(delay, options_.reconnect_max_delay);
    ++dial.failures;
    dial.delay = delay;
    dial.retry = loop_.add_timer(delay, [this, endpoint] {
        auto d = dials_.find(endpoint);
        if (d == dials_.end()) {
            return;
        }
        d->second.delay.reset();
        Endpoint target = d->second.endpoint;  // connect() may replace this Timer (allowed)
        connect(target);
    });
}

void Session::on_message(Transport& transport, const NetworkMessage& message, Reliability, Bytes) {
    Face* face = face_of(transport);
    if (face == nullptr || !within_limits(*face, message)) {
        return;
    }
    if (const auto* push = std::get_if<Push>(&message)) {
        on_push(*face, *push);
    } else if (const auto* declare = std::get_if<Declare>(&message)) {
        on_declare(*face, *declare);
    } else if (const auto* interest = std::get_if<Interest>(&message)) {
        on_interest(*face, *interest);
    } else if (const auto* request = std::get_if<Request>(&message)) {
        on_request(*face, *request);
    } else if (const auto* response = std::get_if<Response>(&message)) {
        on_response(*face, *response);
    } else if (const auto* final = std::get_if<ResponseFinal>(&message)) {
        on_response_final(*face, final->id);
    }
}

Result<std::string_view> Session::resolve(Face& face, const WireExpr& key) {
    if (key.scope == 0) {
        return key.suffix;
    }
    if (!key.sender_mapping) {
        return fail("key scope {} refers to our declarations, and we declared none", key.scope);
    }
    auto it = face.keyexprs.find(key.scope);
    if (it == face.keyexprs.end()) {
        return fail("key scope {} was never declared", key.scope);
    }
    if (key.suffix.empty()) {
        return std::string_view(it->second);
    }
    key_buffer_ = keyexpr::join(it->second, key.suffix);
    return std::string_view(key_buffer_);
}

std::optional<std::string> Session::declared_key(Face& face, const Declaration& d,
                                                 std::string_view what) {
    auto key = resolve(face, *d.key);
    auto valid = key ? keyexpr::validate(*key) : Result<>(tl::unexpected(key.error()));
    if (!valid) {
        log(fmt::format("zenoh session: {} {} from face {} ignored: {}", what, d.id, face.id,
                        escape_for_log(valid.error().message())));
        return std::nullopt;
    }
    return std::string(*key);
}

void Session::on_declare(Face& face, const Declare& declare) {
    const Declaration& d = declare.decl;
    switch (d.kind) {
        case DeclKind::kKeyExpr: {
            // A prefix need not be a key expression on its own: only resolved, not validated.
            auto key = resolve(face, *d.key);
            if (key) {
                face.keyexprs[d.id] = std::string(*key);
            } else {
                log(fmt::format("zenoh session: D_KEYEXPR {} from face {} ignored: {}", d.id,
                                face.id, escape_for_log(key.error().message())));
            }
            return;
        }
        case DeclKind::kUndeclareKeyExpr:
            face.keyexprs.erase(d.id);
            return;
        case DeclKind::kSubscriber:
            if (auto key = declared_key(face, d, "D_SUBSCRIBER")) {
                if (auto old = face.subscribers.find(d.id); old != face.subscribers.end()) {
                    remove_subscriber(old->second);
                }
                face.subscribers[d.id] = add_subscriber(std::move(*key), face.id, nullptr);
            }
            return;
        case DeclKind::kUndeclareSubscriber:
            if (auto it = face.subscribers.find(d.id); it != face.subscribers.end()) {
                uint32_t token = it->second;
                face.subscribers.erase(it);
                remove_subscriber(token);
            }
            return;
        case DeclKind::kQueryable:
            if (auto key = declared_key(face, d, "D_QUERYABLE")) {
                if (auto old = face.queryables.find(d.id); old != face.queryables.end()) {
                    remove_queryable(old->second);
                }
                face.queryables[d.id] = add_queryable(std::move(*key), face.id, d.complete, {});
            }
            return;
        case DeclKind::kUndeclareQueryable:
            if (auto it = face.queryables.find(d.id); it != face.queryables.end()) {
                uint32_t token = it->second;
                face.queryables.erase(it);
                remove_queryable(token);
            }
            return;
        case DeclKind::kToken:
            if (on_liveliness_reply(face, declare)) {
                return;  // a reply to our liveliness_get(), not a token to track
            }
            if (auto key = declared_key(face, d, "D_TOKEN")) {
                if (auto old = face.tokens.find(d.id); old != face.tokens.end()) {
                    if (tokens_.at(old->second).key == *key) {
                        return;  // the same token again (answering another interest)
                    }
                    remove_token(old->second);
                }
                face.tokens[d.id] =
                    add_token(std::move(*key), face.id, declare.interest_id.has_value());
            }
            return;
        case DeclKind::kUndeclareToken:
            if (auto it = face.tokens.find(d.id); it != face.tokens.end()) {
                uint32_t token = it->second;
                face.tokens.erase(it);
                remove_token(token);
            }
            return;
        case DeclKind::kFinal:
            if (declare.interest_id) {
                on_declare_final(face, *declare.interest_id);
            }
            return;
        default:
            return;
    }
}

void Session::on_push(Face& face, const Push& push) {
    auto key = resolve(face, push.key);
    if (!key) {
        log(fmt::format("zenoh session: PUSH from face {} dropped: {}", face.id,
                        escape_for_log(key.error().message())));
        return;
    }
    // Copy: delivery may reuse key_buffer_ (a callback can put()).
    std::string_view view = *key;
    std::string owned;
    if (view.data() == key_buffer_.data()) {
        owned = key_buffer_;
        view = owned;
    }
    route(face.id, view, push);
}

const Session::Route& Session::route_for(std::string_view key) {
    auto it = routes_.find(key);
    if (it != routes_.end()) {
        return it->second;
    }
    Route route;
    for (const auto& [token, sub] : subscribers_) {
        if (!keyexpr::intersects(sub.key, key)) {
            continue;
        }
        if (sub.face == 0) {
            route.local.push_back(token);
        } else if (std::find(route.faces.begin(), route.faces.end(), sub.face) ==
                   route.faces.end()) {
            route.faces.push_back(sub.face);
        }
    }
    if (auto tracked = tracked_.find(key); tracked != tracked_.end()) {
        route.tracked = &tracked->second;
    }
    return routes_.emplace(std::string(key), std::move(route)).first->second;
}

void Session::route(uint64_t from_face, std::string_view key, const Push& push) {
    // Callbacks may declare, undeclare or put: the cache is only cleared once no route() is
    // running, so `route` stays valid (unordered_map keeps references across inserts).
    ++routing_depth_;
    const Route& route = route_for(key);
    const auto* put = std::get_if<Put>(&push.body);
    for (uint32_t token : route.local) {
        auto it = subscribers_.find(token);
        if (put != nullptr && it != subscribers_.end() && it->second.callback) {
            it->second.callback(Sample{key, *put});
        }
    }
    bool local = from_face == 0;
    uint64_t unsent = 0;  // copies for matching faces that were not sent
    size_t targets = route.local.size();
    Tracked* tracked = local && put != nullptr ? route.tracked : nullptr;
    if (mode() == Mode::kClient && local) {
        targets += faces_.size();
        for (auto& [id, face] : faces_) {
            unsent += send_push(face, key, push, tracked) ? 0 : 1;
        }
    } else if (mode() == Mode::kRouter || local) {
        for (uint64_t id : route.faces) {
            auto face = faces_.find(id);
            if (id == from_face) {
                continue;
            }
            ++targets;
            unsent += face != faces_.end() && send_push(face->second, key, push, tracked) ? 0 : 1;
        }
    }
    if (tracked != nullptr && count_undelivered_) {
        tracked->undelivered += targets == 0 ? 1 : unsent;
    }
    if (--routing_depth_ == 0) {
        if (routes_stale_) {
            routes_.clear();
            routes_stale_ = false;
        }
        retired_subscribers_.clear();
    }
}

void Session::invalidate_routes() {
    if (routing_depth_ > 0) {
        routes_stale_ = true;
    } else {
        routes_.clear();
    }
}

bool Session::send_push(Face& face, std::string_view key, const Push& push, Tracked* tracked) {
    if (face.transport->state() != Transport::State::kEstablished) {
        return false;
    }
    if (face.transport->pending_bytes() > kMaxPendingBytes) {
        // A face that does not read: drop for it, and say so (counted, never silent).
        ++face.dropped;
        if ((face.dropped & (face.dropped - 1)) == 0) {
            log(fmt::format("zenoh session: face {} is not reading; {} samples dropped so far",
                            face.id, face.dropped));
        }
        return false;
    }
    Push out{WireExpr{0, key, false}, push.ext, push.body, {}};
    uint64_t* written = nullptr;
    if (tracked != nullptr) {
        written = &tracked->written[face.transport->peer_zid()];
        std::get<Put>(out.body).source_info = SourceInfo{
            zid(), mode() == Mode::kClient ? kCopiesNumbered : kCopiesFromOne, *written + 1};
    }
    auto sent = face.transport->send(out);
    if (!sent) {
        log(fmt::format("zenoh session: PUSH to face {} failed: {}", face.id,
                        sent.error().message()));
        return false;
    }
    if (written != nullptr) {
        ++*written;
    }
    return true;
}

void Session::track_undelivered(const std::string& key) {
    if (tracked_.try_emplace(key).second) {
        invalidate_routes();
    }
}

void Session::untrack_undelivered(const std::string& key) {
    if (routing_depth_ > 0) {
        return;  // a route in use points at the counter: it stays (counting) rather than dangle
    }
    routes_.clear();  // they point at the counter
    routes_stale_ = false;
    tracked_.erase(key);
}

uint64_t Session::undelivered(const std::string& key) const {
    auto it = tracked_.find(key);
    return it == tracked_.end() ? 0 : it->second.undelivered;
}

void Session::on_remote_subscribers_changed(std::function<void()> changed) {
    on_subscribers_changed_ = std::move(changed);
}

bool Session::has_remote_subscriber(std::string_view key) const {
    if (mode() == Mode::kClient) {
        for (const auto& [id, face] : faces_) {
            if (!face.subscribers_known &&
                face.transport->state() == Transport::State::kEstablished) {
                return true;  // not answered yet: it may have one
            }
        }
    }
    for (const auto& [token, sub] : subscribers_) {
        if (sub.face == 0 || !keyexpr::intersects(sub.key, key)) {
            continue;
        }
        auto face = faces_.find(sub.face);
        if (face != faces_.end() &&
            face->second.transport->state() == Transport::State::kEstablished) {
            return true;
        }
    }
    return false;
}

Result<> Session::put(std::string_view key, Bytes payload, std::optional<Encoding> encoding,
                      std::optional<Bytes> attachment) {
    DORA_ZCHECK(keyexpr::validate(key));
    Push push;
    push.key = WireExpr{0, key, false};
    push.ext.qos = kDataBlockQos;
    Put body;
    body.payload = payload;
    body.encoding = encoding;
    body.attachment = attachment;
    push.body = body;
    route(0, key, push);
    return {};
}

}  // namespace dora::zenoh
