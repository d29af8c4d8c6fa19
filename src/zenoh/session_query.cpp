// Session: queries (docs/zenoh-protocol.md section 5.5). A REQUEST goes to the local queryables
// that match and, in router mode, to every other face with a matching queryable, under our own
// request id; (face, id) -> (origin, id) maps RESPONSE and RESPONSE_FINAL back. get() is the
// local querier: its REQUESTs carry ids from the same counter, so one map tells a forwarded
// query's responses from our own.
#include "zenoh/keyexpr.hpp"
#include "zenoh/session.hpp"
#include "zenoh/try.hpp"

namespace dora::zenoh {

namespace {

// What a local queryable's reply() and reply_err() build, handed to `respond`.
class LocalQuery final : public QueryRequest {
  public:
    explicit LocalQuery(std::function<void(const Response&)> respond)
        : respond_(std::move(respond)) {}

    Result<> reply(std::string_view reply_key, Bytes value, std::optional<Encoding> value_encoding,
                   std::optional<Bytes> reply_attachment) override {
        DORA_ZCHECK(keyexpr::validate(reply_key));
        if (!keyexpr::intersects(reply_key, key)) {
            return fail("reply key {} does not intersect the query's {}", reply_key, key);
        }
        Put put;
        put.payload = value;
        put.encoding = std::move(value_encoding);
        put.attachment = reply_attachment;
        Response response;
        response.key = WireExpr{0, reply_key, false};
        response.body = Reply{std::nullopt, PushBody{put}};
        respond_(response);
        return {};
    }

    Result<> reply_err(Bytes message, std::optional<Encoding> message_encoding) override {
        Err err;
        err.payload = message;
        err.encoding = std::move(message_encoding);
        Response response;
        response.key = WireExpr{0, key, false};
        response.body = err;
        respond_(response);
        return {};
    }

  private:
    std::function<void(const Response&)> respond_;
};

// The query's body extension (0x43) is an encoding followed by the payload (the rest).
void read_query_value(const Query& query, LocalQuery& out) {
    if (!query.value) {
        return;
    }
    Reader r(*query.value);
    auto encoding = r.encoding("query body encoding");
    if (!encoding) {
        return;
    }
    out.encoding = *encoding;
    out.payload = r.rest();
}

}  // namespace

void Session::run_local_queryables(std::string_view key, const Query& query,
                                   const std::function<void(const Response&)>& respond) {
    std::vector<uint32_t> matching;
    for (const auto& [token, q] : queryables_) {
        if (q.face == 0 && q.callback && keyexpr::intersects(q.key, key)) {
            matching.push_back(token);
        }
    }
    for (uint32_t token : matching) {
        auto it = queryables_.find(token);  // an earlier callback may have undeclared it
        if (it == queryables_.end()) {
            continue;
        }
        QueryCallback cb = it->second.callback;  // a copy: the callback may undeclare itself
        LocalQuery q(respond);
        q.key = key;
        q.parameters = query.parameters.value_or("");
        q.attachment = query.attachment;
        read_query_value(query, q);
        cb(q);
    }
}

void Session::on_request(Face& face, const Request& request) {
    auto key = resolve(face, request.key);
    if (!key) {
        log(fmt::format("zenoh session: REQUEST {} from face {}: {}", request.id, face.id,
                        escape_for_log(key.error().message())));
        // Fails only when the face is no longer established; its close is handled by on_closed.
        (void)face.transport->send(ResponseFinal{request.id, {}});
        return;
    }
    std::string full(*key);
    QueryKey origin{face.id, request.id};
    uint64_t origin_face = face.id;
    run_local_queryables(full, request.query, [this, origin_face, &request](const Response& r) {
        auto it = faces_.find(origin_face);
        if (it == faces_.end() || it->second.transport->state() != Transport::State::kEstablished) {
            return;
        }
        Response out = r;
        out.id = request.id;
        // Fails only when the face is no longer established; its close is handled by on_closed.
        (void)it->second.transport->send(out);
    });
    size_t targets = 0;
    if (mode() == Mode::kRouter) {
        std::set<uint64_t> target_faces;
        for (const auto& [token, q] : queryables_) {
            if (q.face != 0 && q.face != origin_face && keyexpr::intersects(q.key, full)) {
                target_faces.insert(q.face);
            }
        }
        for (uint64_t id : target_faces) {
            auto target = faces_.find(id);
            if (target == faces_.end() ||
                target->second.transport->state() != Transport::State::kEstablished) {
                continue;
            }
            Request out = request;
            out.id = next_request_++;
            out.key = WireExpr{0, full, false};
            if (target->second.transport->send(out)) {
                forwarded_[QueryKey{id, out.id}] = origin;
                ++targets;
            }
        }
    }
    auto back = faces_.find(origin_face);
    if (back == faces_.end()) {
        return;
    }
    if (targets == 0) {
        // Fails only when the face is no longer established; its close is handled by on_closed.
        (void)back->second.transport->send(ResponseFinal{request.id, {}});
        return;
    }
    outstanding_[origin] = targets;
}

void Session::on_response(Face& face, const Response& response) {
    if (auto get = gets_.find(response.id);
        get != gets_.end() && get->second.faces.contains(face.id)) {
        auto key = resolve(face, response.key);
        if (!key) {
            return;
        }
        GetReply reply;
        reply.key = *key;
        if (const auto* r = std::get_if<Reply>(&response.body)) {
            reply.put = std::get_if<Put>(&r->body);
            if (reply.put == nullptr) {
                return;  // a DEL reply: nothing to report
            }
        } else {
            reply.err = &std::get<Err>(response.body);
        }
        ReplyCallback cb = get->second.on_reply;  // a copy: the callback may finish the get
        if (cb) {
            cb(reply);
        }
        return;
    }
    auto it = forwarded_.find(QueryKey{face.id, response.id});
    if (it == forwarded_.end()) {
        return;  // late, or for a query whose origin left
    }
    auto key = resolve(face, response.key);
    auto origin = faces_.find(it->second.face);
    if (!key || origin == faces_.end() ||
        origin->second.transport->state() != Transport::State::kEstablished) {
        return;
    }
    Response out = response;
    out.id = it->second.id;
    out.key = WireExpr{0, *key, false};
    // Fails only when the face is no longer established; its close is handled by on_closed.
    (void)origin->second.transport->send(out);
}

void Session::on_response_final(Face& face, uint64_t id) {
    if (auto get = gets_.find(id); get != gets_.end() && get->second.faces.erase(face.id) > 0) {
        maybe_finish_get(id);
        return;
    }
    auto it = forwarded_.find(QueryKey{face.id, id});
    if (it == forwarded_.end()) {
        return;
    }
    QueryKey origin = it->second;
    forwarded_.erase(it);
    finish_query(origin.face, origin.id);
}

void Session::finish_query(uint64_t origin_face, uint64_t origin_id) {
    auto count = outstanding_.find(QueryKey{origin_face, origin_id});
    if (count == outstanding_.end() || --count->second > 0) {
        return;
    }
    outstanding_.erase(count);
    auto origin = faces_.find(origin_face);
    if (origin != faces_.end() &&
        origin->second.transport->state() == Transport::State::kEstablished) {
        // Fails only when the face is no longer established; its close is handled by on_closed.
        (void)origin->second.transport->send(ResponseFinal{origin_id, {}});
    }
}

void Session::drop_queries_of(uint64_t face) {
    // Targets that left count as finished; queries from the face that left are forgotten.
    std::vector<QueryKey> finished;
    for (auto it = forwarded_.begin(); it != forwarded_.end();) {
        if (it->first.face == face) {
            finished.push_back(it->second);
            it = forwarded_.erase(it);
        } else if (it->second.face == face) {
            it = forwarded_.erase(it);
        } else {
            ++it;
        }
    }
    std::erase_if(outstanding_, [face](const auto& entry) { return entry.first.face == face; });
    for (const auto& origin : finished) {
        finish_query(origin.face, origin.id);
    }
    std::vector<uint64_t> gets;
    for (auto& [id, get] : gets_) {
        if (get.faces.erase(face) > 0) {
            gets.push_back(id);
        }
    }
    for (uint64_t id : gets) {
        maybe_finish_get(id);
    }
}

bool Session::has_remote_queryable(std::string_view key) const {
    if (mode() == Mode::kClient) {
        return face_count() > 0;
    }
    for (const auto& [token, q] : queryables_) {
        if (q.face == 0 || !keyexpr::intersects(q.key, key)) {
            continue;
        }
        auto face = faces_.find(q.face);
        if (face != faces_.end() &&
            face->second.transport->state() == Transport::State::kEstablished) {
            return true;
        }
    }
    return false;
}

Result<Subscription> Session::declare_queryable(std::string_view key, QueryCallback cb,
                                                bool complete) {
    DORA_ZTRY(canon, keyexpr::canonize(key));
    uint32_t token = add_queryable(canon, 0, complete, std::move(cb));
    broadcast_declaration(DeclKind::kQueryable, token, canon, complete);
    return Subscription(anchor_, token, Subscription::Kind::kQueryable);
}

Result<> Session::get(std::string_view key, const GetOptions& options, ReplyCallback on_reply,
                      std::function<void()> on_done) {
    DORA_ZTRY(canon, keyexpr::canonize(key));
    uint64_t id = next_request_++;
    PendingGet& pending = gets_[id];
    pending.on_reply = std::move(on_reply);
    pending.on_done = std::move(on_done);

    // The body extension: encoding, then the payload up to the end.
    auto value = std::make_shared<std::vector<uint8_t>>();
    Query query;
    if (!options.parameters.empty()) {
        query.parameters = options.parameters;
    }
    if (options.payload) {
        Writer w(*value);
        w.encoding(options.encoding.value_or(Encoding{}));
        w.raw(*options.payload);
        query.value = Bytes(*value);
    }
    query.attachment = options.attachment;
    Request request;
    request.id = id;
    request.key = WireExpr{0, canon, false};
    request.ext.qos = 0x0d;  // what Rust and pico queriers send: data priority, blocking
    request.timeout = static_cast<uint64_t>(options.timeout.count());
    request.query = query;
    for (auto& [fid, face] : faces_) {
        if (face.transport->state() != Transport::State::kEstablished) {
            continue;
        }
        // A client asks its router; a peer or router asks the faces with a matching queryable.
        bool ask = mode() == Mode::kClient;
        for (const auto& [token, q] : queryables_) {
            ask = ask || (q.face == fid && keyexpr::intersects(q.key, canon));
        }
        if (ask && face.transport->send(request)) {
            pending.faces.insert(fid);
        }
    }
    // Local queryables and the end run from the loop, never inside get(); the query (key,
    // parameters, payload) is kept alive by the callback's copies until then.
    auto held = std::make_shared<std::pair<std::string, std::string>>(
        canon, std::string(options.parameters));
    std::optional<std::vector<uint8_t>> payload;
    if (options.payload) {
        payload.emplace(options.payload->begin(), options.payload->end());
    }
    auto attachment = options.attachment ? std::optional<std::vector<uint8_t>>(
                                               std::in_place, options.attachment->begin(),
                                               options.attachment->end())
                                         : std::nullopt;
    pending.start = loop_.add_timer(
        std::chrono::milliseconds(0), [this, id, held, value, payload, attachment]() {
            Query local;
            if (!held->second.empty()) {
                local.parameters = held->second;
            }
            if (payload) {
                local.value = Bytes(*value);
            }
            if (attachment) {
                local.attachment = Bytes(*attachment);
            }
            run_local_queryables(held->first, local, [this, id](const Response& r) {
                auto get = gets_.find(id);
                if (get == gets_.end() || !get->second.on_reply) {
                    return;
                }
                GetReply reply;
                reply.key = r.key.suffix;
                if (const auto* rep = std::get_if<Reply>(&r.body)) {
                    reply.put = std::get_if<Put>(&rep->body);
                } else {
                    reply.err = &std::get<Err>(r.body);
                }
                ReplyCallback cb = get->second.on_reply;
                cb(reply);
            });
            if (auto get = gets_.find(id); get != gets_.end()) {
                get->second.local_done = true;
                maybe_finish_get(id);
            }
        });
    pending.timeout = loop_.add_timer(options.timeout, [this, id] { finish_get(id); });
    return {};
}

void Session::maybe_finish_get(uint64_t id) {
    auto get = gets_.find(id);
    if (get != gets_.end() && get->second.local_done && get->second.faces.empty()) {
        finish_get(id);
    }
}

void Session::finish_get(uint64_t id) {
    auto node = gets_.extract(id);
    if (node.empty()) {
        return;
    }
    // Kept until the end of this function: we may be inside one of its own timers.
    PendingGet done = std::move(node.mapped());
    if (done.on_done) {
        done.on_done();
    }
}

}  // namespace dora::zenoh
