#include "daemon/zenoh_bridge.hpp"

namespace dora::daemon {

ZenohBridge::ZenohBridge(EventLoop& loop, ZenohBridgeOptions options)
    : loop_(loop), options_(std::move(options)) {}

Result<std::unique_ptr<ZenohBridge>> ZenohBridge::start(EventLoop& loop,
                                                        ZenohBridgeOptions options) {
    std::unique_ptr<ZenohBridge> bridge(new ZenohBridge(loop, std::move(options)));
    zenoh::SessionOptions session_options;
    session_options.config = bridge->options_.config;
    auto session = zenoh::Session::open(loop, session_options);
    if (!session) {
        return fail(session.error().context("opening the Zenoh session"));
    }
    bridge->session_ = std::move(*session);
    for (uint16_t port : bridge->session_->listen_ports()) {
        bridge->endpoints_.push_back(
            fmt::format("tcp/{}:{}", bridge->options_.advertised_host, port));
    }
    return bridge;
}

ZenohBridge::~ZenohBridge() {
    // Routes first (their subscriptions and publishers use the session), then the session.
    routes_.clear();
    session_.reset();
}

void ZenohBridge::set_peers(const std::vector<message::DaemonInfo>& peers) {
    if (options_.config.mode == zenoh::Mode::kClient) {
        return;
    }
    for (const auto& peer : peers) {
        if (peer.machine_id >= options_.machine_id) {
            continue;  // that one connects to us
        }
        for (const auto& text : peer.zenoh_endpoints) {
            auto endpoint = zenoh::parse_endpoint(text);
            if (endpoint && dialled_.insert(endpoint->to_string()).second) {
                session_->connect_to(*endpoint);
            }
        }
    }
}

Result<> ZenohBridge::attach(LocalDataflow& dataflow, Ingress::Note note) {
    const auto& plan = dataflow.plan();
    if (plan.egress.empty() && plan.ingress.empty()) {
        return {};
    }
    Route route;
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
    }
    routes_.insert_or_assign(dataflow.id(), std::move(route));
    return {};
}

bool ZenohBridge::remote_subscribers_ready(const LocalDataflow& dataflow) const {
    for (const auto& stream : dataflow.plan().egress) {
        if (stream.consumed_remotely && !session_->has_remote_subscriber(stream.key)) {
            return false;
        }
    }
    return true;
}

void ZenohBridge::detach(const std::string& dataflow_id) {
    auto it = routes_.find(dataflow_id);
    if (it == routes_.end()) {
        return;
    }
    if (it->second.egress) {
        it->second.egress->stop();
    }
    routes_.erase(it);
}

size_t ZenohBridge::unpublished() const {
    return session_->publisher().queued() + session_->pending_bytes();
}

}  // namespace dora::daemon
