// Session: query routing (docs/zenoh-protocol.md section 5.5). REQUESTs are forwarded with our own
// request ids and (face, id) -> (origin, id) kept to map RESPONSE and RESPONSE_FINAL back.
#include "zenoh/keyexpr.hpp"
#include "zenoh/session.hpp"

namespace dora::zenoh {

void Session::on_request(Face& face, const Request& request) {
    auto key = resolve(face, request.key);
    if (!key) {
        log(fmt::format("zenoh session: REQUEST {} from face {}: {}", request.id, face.id,
                        key.error().message()));
        (void)face.transport->send(ResponseFinal{request.id, {}});
        return;
    }
    std::string full(*key);
    QueryKey origin{face.id, request.id};
    size_t targets = 0;
    if (mode() == Mode::kRouter) {
        for (auto& [id, target] : faces_) {
            if (id == face.id || target.transport->state() != Transport::State::kEstablished) {
                continue;
            }
            bool matches = false;
            for (const auto& [entity, qkey] : target.queryables) {
                matches = matches || keyexpr::intersects(qkey, full);
            }
            if (!matches) {
                continue;
            }
            Request out = request;
            out.id = next_request_++;
            out.key = WireExpr{0, full, false};
            if (target.transport->send(out)) {
                forwarded_[QueryKey{id, out.id}] = origin;
                ++targets;
            }
        }
    }
    if (targets == 0) {
        (void)face.transport->send(ResponseFinal{request.id, {}});
        return;
    }
    outstanding_[origin] = targets;
}

void Session::on_response(Face& face, const Response& response) {
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
    (void)origin->second.transport->send(out);
}

void Session::on_response_final(Face& face, uint64_t id) {
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
}

}  // namespace dora::zenoh
