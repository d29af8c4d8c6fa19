#include "daemon/zenoh_bridge.hpp"

namespace dora::daemon {

namespace {
constexpr auto kReportInterval = std::chrono::seconds(1);
constexpr auto kPeerHandshakeTimeout = std::chrono::seconds(3);
// How often retiring liveliness tokens look whether the Publisher has sent what it held.
constexpr auto kRetireLook = std::chrono::milliseconds(10);
}  // namespace

zenoh::TlsKeys cluster_tls_keys(const Credentials& credentials) {
    return zenoh::cluster_tls_keys(credentials.ca_pem, credentials.certificate_pem,
                                   credentials.key_pem);
}

ZenohBridge::ZenohBridge(EventLoop& loop, ZenohBridgeOptions options)
    : loop_(loop), options_(std::move(options)) {}

Result<std::unique_ptr<ZenohBridge>> ZenohBridge::start(EventLoop& loop,
                                                        ZenohBridgeOptions options) {
    std::unique_ptr<ZenohBridge> bridge(new ZenohBridge(loop, std::move(options)));
    zenoh::SessionOptions session_options;
    session_options.config = bridge->options_.config;
    if (bridge->options_.cluster_tls && bridge->options_.config.tls != zenoh::TlsKeys{}) {
        bridge->options_.cluster_tls = false;  // the user's own CA and certificates
    } else if (bridge->options_.cluster_tls) {
        if (auto ok = zenoh::check_cluster_endpoints(bridge->options_.config, "the daemons"); !ok) {
            return fail(ok.error().context("ZENOH_CONFIG"));
        }
        session_options.config.tls_only = true;
        session_options.tls_later =
            "this daemon has no certificate of the cluster CA yet (it asks the coordinator for "
            "one as soon as it registers)";
    }
    // A dial into a partition hangs in SYN until the handshake timeout (10 s by default): give up
    // sooner, so a healed link is found within the reconnect cap plus this.
    session_options.transport.handshake_timeout = kPeerHandshakeTimeout;
    if (bridge->options_.log) {
        // Links refused (who and why: a stranger without a certificate of the cluster ...) and
        // links opening and closing go to the daemon's log, not only to its stderr.
        auto log = bridge->options_.log;
        session_options.transport.log = [log](std::string_view line) { log(std::string(line)); };
    }
    auto session = zenoh::Session::open(loop, session_options);
    if (!session) {
        return fail(session.error().context("opening the Zenoh session"));
    }
    bridge->session_ = std::move(*session);
    ZenohBridge* self = bridge.get();  // the session (and its callback) dies first
    bridge->session_->on_remote_subscribers_changed([self] {
        for (auto& [id, route] : self->routes_) {
            self->update_watching(route);
        }
        if (self->subscribers_changed_) {
            self->subscribers_changed_();
        }
    });
    // One listener per listen endpoint, in order: each is advertised with its protocol (tcp/ or
    // tls/), so that the other daemons dial it as it listens.
    const auto& listen = bridge->options_.config.listen;
    auto ports = bridge->session_->listen_ports();
    for (size_t i = 0; i < ports.size(); ++i) {
        bridge->endpoints_.push_back(fmt::format("{}/{}:{}",
                                                 i < listen.size() ? listen[i].protocol : "tcp",
                                                 bridge->options_.advertised_host, ports[i]));
    }
    return bridge;
}

ZenohBridge::~ZenohBridge() {
    // Routes first (their subscriptions and publishers use the session), then the session.
    routes_.clear();
    retire_.cancel();
    retiring_tokens_.clear();
    session_.reset();
}

void ZenohBridge::set_peers(const std::vector<message::DaemonInfo>& peers) {
    if (options_.config.mode == zenoh::Mode::kClient) {
        return;
    }
    std::map<std::string, zenoh::Endpoint> wanted;
    for (const auto& peer : peers) {
        if (peer.machine_id >= options_.machine_id || !peer.connected) {
            continue;  // that one connects to us, or the coordinator says it is gone
        }
        for (const auto& text : peer.zenoh_endpoints) {
            if (auto endpoint = zenoh::parse_endpoint(text)) {
                wanted.emplace(endpoint->to_string(), *endpoint);
            }
        }
    }
    for (auto it = dialled_.begin(); it != dialled_.end();) {
        if (wanted.count(it->first)) {
            ++it;
            continue;
        }
        // Gone, or re-registered at another address: a link still up keeps carrying data, but a
        // dropped one is not dialled again.
        session_->forget(it->second);
        it = dialled_.erase(it);
    }
    for (const auto& [text, endpoint] : wanted) {
        if (dialled_.emplace(text, endpoint).second) {
            session_->connect_to(endpoint);
        }
    }
}

Result<> ZenohBridge::set_credentials(const Credentials& credentials) {
    if (!options_.cluster_tls) {
        return {};
    }
    if (auto ok = session_->set_tls(cluster_tls_keys(credentials)); !ok) {
        return fail(ok.error().context("using the daemon's new certificate"));
    }
    return {};
}

std::vector<std::string> ZenohBridge::dialled() const {
    std::vector<std::string> out;
    for (const auto& [text, endpoint] : dialled_) {
        out.push_back(text);
    }
    return out;
}

Result<> ZenohBridge::attach(LocalDataflow& dataflow, Ingress::Note note) {
    const auto& plan = dataflow.plan();
    if (plan.egress.empty() && plan.ingress.empty()) {
        return {};
    }
    Route route;
    route.dataflow = &dataflow;
    route.note = note;
    if (!plan.ingress.empty()) {
        auto ingress = Ingress::start(loop_, *session_, dataflow, std::move(note));
        if (!ingress) {
            return fail(ingress.error());
        }
        route.ingress = std::move(*ingress);
    }
    if (!plan.egress.empty()) {
        auto egress = Egress::start(dataflow, session_->publisher(), options_.egress_limits);
        if (!egress) {
            return fail(egress.error());
        }
        route.egress = std::move(*egress);
        for (const auto& stream : plan.egress) {
            if (stream.consumed_remotely) {
                session_->track_undelivered(stream.key);
            }
        }
        route.reported_egress.assign(plan.egress.size(), 0);
        route.reported_link.assign(plan.egress.size(), 0);
        std::set<size_t> producers;
        for (const auto& stream : plan.egress) {
            if (stream.consumed_remotely && producers.insert(stream.node).second) {
                const std::string& node = plan.nodes[stream.node].descriptor->id;
                auto token = session_->declare_token(plan.liveliness_key(node));
                if (!token) {
                    return fail(token.error().context(
                        fmt::format("declaring the liveliness of node {}", node)));
                }
                route.tokens.push_back(std::move(*token));
            }
        }
    }
    auto& stored = routes_.insert_or_assign(dataflow.id(), std::move(route)).first->second;
    update_watching(stored);
    if (stored.egress) {
        Route* r = &stored;  // map nodes stay put; the timer dies with the route
        stored.report = loop_.add_periodic(kReportInterval, [this, r] { report_drops(*r); });
    }
    return {};
}

void ZenohBridge::update_watching(Route& route) {
    shm::Region* egress = route.dataflow->egress_region();
    if (egress == nullptr) {
        return;
    }
    const auto& plan = route.dataflow->plan();
    for (uint32_t e = 0; e < plan.egress.size(); ++e) {
        const EgressStream& stream = plan.egress[e];
        if (stream.consumed_remotely) {
            continue;  // always published
        }
        const bool watched = session_->has_remote_subscriber(stream.key);
        shm::Ring ring = egress->ring(e);
        if (ring.unwatched() == watched) {
            ring.set_unwatched(!watched);
            watch_starts_ += watched ? 1 : 0;
            if (options_.log) {
                const std::string& node = plan.nodes[stream.node].descriptor->id;
                options_.log(
                    watched ? fmt::format("dataflow {}: a watcher subscribed to {}/{}: publishing "
                                          "it",
                                          plan.dataflow_id, node, stream.output)
                            : fmt::format("dataflow {}: no watcher of {}/{} any more: it is no "
                                          "longer published",
                                          plan.dataflow_id, node, stream.output));
            }
        }
    }
}

size_t ZenohBridge::watched_streams(const std::string& dataflow_id) const {
    auto it = routes_.find(dataflow_id);
    if (it == routes_.end()) {
        return 0;
    }
    const Route& route = it->second;
    shm::Region* egress = route.dataflow->egress_region();
    size_t n = 0;
    for (uint32_t e = 0; egress != nullptr && e < route.dataflow->plan().egress.size(); ++e) {
        n += route.dataflow->plan().egress[e].consumed_remotely ? 0 : !egress->ring(e).unwatched();
    }
    return n;
}

void ZenohBridge::close_inputs_from(const std::string& dataflow_id,
                                    const std::vector<std::string>& nodes,
                                    const std::string& reason) {
    auto it = routes_.find(dataflow_id);
    if (it == routes_.end() || !it->second.ingress) {
        return;
    }
    for (const auto& node : nodes) {
        it->second.ingress->close_from(node, reason);
    }
}

std::vector<message::DropCount> ZenohBridge::drops(const std::string& dataflow_id) const {
    std::vector<message::DropCount> out;
    auto it = routes_.find(dataflow_id);
    if (it == routes_.end()) {
        return out;
    }
    const Route& route = it->second;
    const auto& plan = route.dataflow->plan();
    for (size_t e = 0; route.egress && e < plan.egress.size(); ++e) {
        const auto& stream = plan.egress[e];
        if (!stream.consumed_remotely) {
            continue;  // a watcher's stream: what it missed is logged, not a dataflow drop
        }
        const std::string& node = plan.nodes[stream.node].descriptor->id;
        message::add_drop(out, {message::kDropEgress, options_.machine_id, node, stream.output,
                                route.egress->dropped(e)});
        message::add_drop(out, {message::kDropLink, options_.machine_id, node, stream.output,
                                session_->undelivered(stream.key)});
    }
    if (route.ingress) {
        route.ingress->add_drops(out, options_.machine_id);
    }
    return out;
}

void ZenohBridge::report_drops(Route& route) {
    const auto& plan = route.dataflow->plan();
    for (size_t e = 0; e < plan.egress.size(); ++e) {
        const auto& stream = plan.egress[e];
        const std::string& node = plan.nodes[stream.node].descriptor->id;
        if (!stream.consumed_remotely) {
            if (uint64_t n = route.egress->dropped(e); n > route.reported_egress[e]) {
                route.reported_egress[e] = n;
                route.note(node,
                           fmt::format("output {} of node {}: {} message(s) not shown to "
                                       "watchers so far: {} (the dataflow counts no drop)",
                                       stream.output, node, n, route.egress->last_drop_reason()));
            }
            continue;
        }
        if (uint64_t n = route.egress->dropped(e); n > route.reported_egress[e]) {
            route.reported_egress[e] = n;
            route.note(node, fmt::format("output {} of node {}: {} message(s) dropped at egress "
                                         "so far: {}; check this daemon's log",
                                         stream.output, node, n, route.egress->last_drop_reason()));
        }
        if (uint64_t n = session_->undelivered(stream.key); n > route.reported_link[e]) {
            route.reported_link[e] = n;
            route.note(node,
                       fmt::format("output {} of node {}: {} message(s) dropped on the link so "
                                   "far: the consuming machine's link was down, did not read "
                                   "(too much queued), or it had no subscriber; check the "
                                   "network and the other daemons, or slow this producer",
                                   stream.output, node, n));
        }
    }
}

bool ZenohBridge::remote_subscribers_ready(const LocalDataflow& dataflow) const {
    for (const auto& stream : dataflow.plan().egress) {
        if (stream.consumed_remotely && !session_->has_remote_subscriber(stream.key)) {
            return false;
        }
    }
    return true;
}

std::vector<message::DropCount> ZenohBridge::detach(const std::string& dataflow_id) {
    auto it = routes_.find(dataflow_id);
    if (it == routes_.end()) {
        return {};
    }
    if (it->second.egress) {
        it->second.egress->stop();
        session_->flush_publishers();  // what it handed over is counted if it cannot go
    }
    auto final_drops = drops(dataflow_id);
    if (it->second.ingress) {
        it->second.ingress->report_drops();
    }
    if (it->second.egress) {
        report_drops(it->second);
        for (const auto& stream : it->second.dataflow->plan().egress) {
            if (stream.consumed_remotely) {
                session_->untrack_undelivered(stream.key);
            }
        }
    }
    if (session_->publisher().queued() > 0 && !it->second.tokens.empty()) {
        for (auto& token : it->second.tokens) {
            retiring_tokens_.push_back(std::move(token));
        }
        if (!retire_.active()) {
            retire_ = loop_.add_periodic(kRetireLook, [this] {
                if (session_->publisher().queued() == 0) {
                    retiring_tokens_.clear();
                    retire_.cancel();
                }
            });
        }
    }
    routes_.erase(it);
    return final_drops;
}

size_t ZenohBridge::unpublished() const {
    return session_->publisher().queued() + session_->pending_bytes();
}

}  // namespace dora::daemon
