// The coordinator's connections, hello, daemon registration, heartbeats and destroy. Dataflows
// are in dataflows.cpp, the other CLI requests in requests.cpp.
#include "coordinator/coordinator.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <iostream>

#include "core/net.hpp"
#include "message/coordinator_to_cli.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/data_keys.hpp"
#include "tls/control_tls.hpp"

namespace dora::coordinator {

Coordinator::Coordinator(EventLoop& loop, CoordinatorOptions options)
    : loop_(loop), options_(std::move(options)) {}

Coordinator::~Coordinator() = default;

Result<std::unique_ptr<Coordinator>> Coordinator::create(EventLoop& loop,
                                                         CoordinatorOptions options) {
    std::unique_ptr<Coordinator> self(new Coordinator(loop, std::move(options)));
    if (auto ok = self->open_ca(); !ok) {
        return fail(ok.error());
    }
    if (auto ok = self->open_control_tls(); !ok) {
        return fail(ok.error());
    }
    if (self->options_.listen) {
        if (auto ok = self->start_listening(); !ok) {
            return fail(ok.error());
        }
    }
    if (self->options_.web) {
        WebViewOptions web;
        web.host = self->options_.web->first;
        web.port = self->options_.web->second;
        web.token = self->options_.token;
        Coordinator* c = self.get();
        web.log = [c](const std::string& line) { c->log(line); };
        if (self->ca_) {
            web.cluster_tls = [c] { return c->web_view_certificate(); };
        }
        auto view = WebView::start(loop, std::move(web), *self);
        if (!view) {
            return fail(view.error());
        }
        self->web_ = std::move(*view);
    }
    Coordinator* raw = self.get();
    self->heartbeat_ =
        loop.add_periodic(self->options_.heartbeat_interval, [raw] { raw->on_heartbeat_tick(); });
    self->reap_ = loop.defer([raw] { raw->reap_closed(); });
    return self;
}

Result<> Coordinator::start_listening() {
    pending_ = PendingGate::create(options_.pending, "coordinator",
                                   [this](const std::string& line) { log(line); });
    auto listen = [this](const std::string& interface, uint16_t port, Port kind,
                         std::string_view what) -> Result<std::unique_ptr<Acceptor>> {
        auto listener = net::listen_tcp(interface, port);
        if (!listener) {
            return fail(
                "cannot listen for {}: {}{}", what, listener.error().message(),
                listener.error().code() == EADDRINUSE
                    ? " (another coordinator may be running: `dora destroy` stops it, or choose "
                      "another port)"
                    : "");
        }
        (kind == Port::kDaemon ? daemon_port_ : control_port_) = listener->port();
        AcceptorOptions acceptor;
        acceptor.what =
            fmt::format("the coordinator's port for {} ({})", what, listener->address.to_string());
        acceptor.log = [this](const std::string& line) { log(line); };
        acceptor.shed = [this] { return pending_->shed_one(loop_.now(), "out of descriptors"); };
        return Acceptor::start(loop_, std::move(listener->fd), std::move(acceptor),
                               [this, kind](net::Accepted a) { on_accept(std::move(a), kind); });
    };
    auto daemons = listen(options_.interface, options_.port, Port::kDaemon, "daemons");
    if (!daemons) {
        return fail(daemons.error());
    }
    auto control =
        listen(options_.control_interface, options_.control_port, Port::kControl, "CLIs");
    if (!control) {
        return fail(control.error());
    }
    daemon_listener_ = std::move(*daemons);
    control_listener_ = std::move(*control);
    return {};
}

void Coordinator::log(const std::string& line) const {
    if (options_.log) {
        options_.log(line);
    } else {
        std::cerr << "[coordinator] " << line << std::endl;
    }
}

void Coordinator::on_accept(net::Accepted accepted, Port port) {
    const ConnectionId id = next_connection_;  // the one adopt() gives it
    auto slot = pending_->admit(accepted.peer, loop_.now(), [this, id](const std::string& why) {
        if (Peer* p = peer(id)) {
            p->channel->close(why);
        }
    });
    if (!slot) {
        return;  // over a cap (logged by the gate): the newest connection is closed
    }
    // "This machine" is loopback, or a connection to one of our own addresses from itself
    // (`dora start --coordinator-addr <our LAN address>` on the coordinator's machine).
    const auto& peer = accepted.peer;
    auto local = net::local_address(accepted.fd.get());
    const bool same_machine = peer.is_loopback() || (local && local->host() == peer.host());
    adopt(std::move(accepted.fd), port, peer.to_string(), same_machine, std::move(*slot));
}

void Coordinator::adopt(sys::UniqueFd fd, Port port, std::string peer_address, bool loopback,
                        PendingSlot pending) {
    const ConnectionId id = next_connection_++;
    auto channel = message::Channel::open(
        loop_, std::move(fd), [this, id](nlohmann::json m) { on_message(id, std::move(m)); },
        [this, id](const std::string& reason) { on_closed(id, reason); }, kMaxPreHelloBytes);
    if (!channel) {
        log(fmt::format("cannot serve a connection from {}: {}", peer_address,
                        channel.error().message()));
        return;
    }
    Peer& peer = peers_[id];
    peer.id = id;
    peer.port = port;
    peer.channel = std::move(*channel);
    peer.address = std::move(peer_address);
    peer.loopback = loopback;
    peer.pending = std::move(pending);
    HelloPolicy policy{options_.token, options_.dora_version,
                       port == Port::kDaemon ? "daemon" : "cli", daemon_port_, control_port_};
    peer.challenge = make_challenge(policy);
    peer.hello_deadline = loop_.add_timer(options_.hello_timeout, [this, id] {
        if (Peer* p = this->peer(id)) {
            p->channel->close("no hello within the time limit");
        }
    });
    peer.channel->send(message::make(peer.challenge));
    if (control_tls_) {
        // TLS right after the challenge, set up once the peer speaks (an idle stranger costs no
        // TLS state); the hello's deadline above covers the handshake too.
        peer.channel->start_secure_on_first_bytes(
            [this, id]() -> Result<std::unique_ptr<message::SecureStream>> {
                Peer* p = this->peer(id);
                if (p == nullptr) {
                    return fail("the connection is closed");
                }
                return tls::control_server_stream(control_tls_, p->channel->fd(), p->address);
            },
            std::nullopt);
    }
}

Coordinator::Peer* Coordinator::peer(ConnectionId id) {
    auto it = peers_.find(id);
    if (it == peers_.end() || it->second.closed) {
        return nullptr;
    }
    return &it->second;
}

message::Versions Coordinator::versions_of(const Peer& peer) const {
    // The strings live in the peer and the options, which outlive the decode call.
    return message::Versions{"coordinator", options_.dora_version,
                             peer.port == Port::kDaemon ? "a daemon" : "a CLI", peer.dora_version};
}

void Coordinator::send_to(ConnectionId id, const nlohmann::json& message) {
    if (Peer* p = peer(id)) {
        p->channel->send(message);
    }
}

bool Coordinator::send_to_daemon(const std::string& machine, const nlohmann::json& message) {
    auto connection = registry_.connection_of(machine);
    Peer* p = connection ? peer(*connection) : nullptr;
    if (p == nullptr || !p->channel->is_open()) {
        return false;
    }
    p->channel->send(message);
    return true;
}

void Coordinator::refuse(Peer& peer, const std::string& why) {
    // `why` may quote what the peer sent (its role, its version): escaped.
    log(fmt::format("closing the connection from {}: {}", peer.address, escape_for_log(why, 1000)));
    peer.channel->send(message::make(message::ErrorMessage{why}));
    peer.channel->close_after_flush(why);
}

void Coordinator::on_message(ConnectionId id, nlohmann::json message) {
    Peer* p = peer(id);
    if (p == nullptr) {
        return;
    }
    if (!p->authenticated) {
        on_hello(*p, message);
        return;
    }
    if (p->port == Port::kDaemon) {
        auto decoded = message::decode<message::DaemonToCoordinator>(message, versions_of(*p));
        if (!decoded) {
            refuse(*p, decoded.error().message());
            return;
        }
        on_daemon_message(*p, std::move(*decoded));
    } else {
        auto decoded = message::decode<message::CliRequest>(message, versions_of(*p));
        if (!decoded) {
            refuse(*p, decoded.error().message());
            return;
        }
        on_cli_message(*p, std::move(*decoded));
    }
}

void Coordinator::on_hello(Peer& peer, const nlohmann::json& message) {
    HelloPolicy policy{options_.token, options_.dora_version,
                       peer.port == Port::kDaemon ? "daemon" : "cli", daemon_port_, control_port_};
    const std::string binding = peer.channel->binding();
    auto hello = check_hello(policy, peer.challenge, message, peer.loopback, binding);
    peer.hello_deadline.cancel();
    if (!hello) {
        refuse(peer, hello.error().message());
        return;
    }
    peer.authenticated = true;
    peer.pending.release();
    peer.dora_version = hello->dora_version;
    peer.channel->lift_input_limit();
    peer.channel->send(message::make(make_welcome(policy, peer.challenge, *hello, binding)));
}

void Coordinator::on_closed(ConnectionId id, const std::string& reason) {
    auto it = peers_.find(id);
    if (it == peers_.end() || it->second.closed) {
        return;
    }
    Peer& closed = it->second;
    closed.closed = true;
    closed.hello_deadline.cancel();
    if (closed.machine) {
        on_daemon_lost(*closed.machine, id, reason, closed.silent);
    } else if (closed.port == Port::kControl) {
        forget_cli(id);
    }
    reap_.request();  // the channel is inside its own callback: destroy it later
    if (destroyed_ && destroy_requester_ == id) {
        loop_.stop();
    }
    if (destroying_) {
        maybe_finish_destroy();
    }
}

void Coordinator::reap_closed() {
    std::erase_if(peers_, [](const auto& entry) { return entry.second.closed; });
}

void Coordinator::on_daemon_message(Peer& peer, message::DaemonToCoordinator message) {
    if (!peer.machine) {
        auto* registration = std::get_if<message::DaemonRegister>(&message);
        if (registration == nullptr) {
            refuse(peer, fmt::format("a daemon must register ({}) before sending anything else",
                                     message::DaemonRegister::kType));
            return;
        }
        on_register(peer, *registration);
        return;
    }
    const std::string machine = *peer.machine;
    registry_.heard_from(machine, loop_.now());
    if (auto silent_for = registry_.mark_reachable(machine)) {
        const double seconds = std::chrono::duration<double>(*silent_for).count();
        log(fmt::format("daemon {} is reachable again ({:.1f} s without a word)",
                        machine_name(machine), seconds));
        tell_attached_about(machine, [&](const std::string& nodes) {
            return fmt::format("daemon `{}` is reachable again after {:.1f} s (nodes {})", machine,
                               seconds, nodes);
        });
    }
    std::visit([&](auto& m) { handle(machine, m); }, message);
}

void Coordinator::handle(const std::string& machine, const message::DaemonRegister&) {
    if (Peer* p = peer(registry_.connection_of(machine).value_or(0))) {
        refuse(*p, "this daemon registered twice on one connection");
    }
}

void Coordinator::handle(const std::string&, const message::DaemonHeartbeat&) {}

void Coordinator::handle(const std::string& machine, const message::ErrorMessage& m) {
    log(fmt::format("daemon {} reports: {}", machine_name(machine),
                    escape_for_log(m.message, 2000)));
}

void Coordinator::on_register(Peer& peer, const message::DaemonRegister& registration) {
    if (auto key = message::StreamEndVerifier::from_public_key(registration.stream_end_key); !key) {
        refuse(peer, fmt::format("this daemon gave no valid key for the ends of its output streams "
                                 "({}): run the same dora version on the coordinator and every "
                                 "daemon",
                                 key.error().message()));
        return;
    }
    auto added = registry_.add(registration.machine_id, peer.id, peer.address,
                               registration.zenoh_endpoints, loop_.now(), registration.labels);
    if (!added) {
        refuse(peer, added.error().message());
        return;
    }
    peer.machine = registration.machine_id;
    machine_identities_[registration.machine_id] = registration.machine_identity;
    stream_end_keys_[registration.machine_id] = registration.stream_end_key;
    log(fmt::format(
        "daemon {} {} from {}", machine_name(registration.machine_id),
        *added == DaemonRegistry::Registration::kReconnected ? "reconnected" : "registered",
        peer.address));
    if (*added == DaemonRegistry::Registration::kReconnected) {
        gone_grace_.erase(registration.machine_id);
        tell_attached_about(registration.machine_id, [&](const std::string& nodes) {
            return fmt::format("daemon `{}` is back (nodes {}; registered again from {})",
                               registration.machine_id, nodes, peer.address);
        });
    }
    broadcast_peers();
    reconcile(registration.machine_id, registration);
}

void Coordinator::broadcast_peers() {
    for (const auto& machine : registry_.connected_machines()) {
        send_to_daemon(machine, message::make(message::Peers{registry_.peers_of(machine)}));
    }
}

void Coordinator::on_daemon_lost(const std::string& machine, ConnectionId connection,
                                 const std::string& reason, bool silent) {
    if (!registry_.disconnected(machine, connection)) {
        return;  // an old connection of a daemon that already registered again
    }
    log(fmt::format("daemon {} disconnected: {}", machine_name(machine), reason));
    tell_attached_about(machine, [&](const std::string& nodes) {
        return fmt::format("daemon `{}` disconnected (nodes {}): {}", machine, nodes, reason);
    });
    if (!silent) {
        // Its connection closed: the daemon process ended, and its nodes with it, unless it
        // closed a link it found silent and registers again at once, still running them.
        gone_grace_[machine] = loop_.add_timer(
            options_.gone_grace, [this, machine, reason] { on_gone_grace_over(machine, reason); });
    }
    fail_requests_to(machine);
    for (auto& [id, dataflow] : dataflows_) {
        if (dataflow.status == Status::kPreparing && dataflow.nodes_per_machine.count(machine)) {
            fail_start(dataflow, fmt::format("daemon {} disconnected while preparing the dataflow",
                                             machine_name(machine)));
        }
    }
    if (!destroying_) {
        broadcast_peers();
    }
}

void Coordinator::on_heartbeat_tick() {
    const auto now = loop_.now();
    for (ConnectionId id : registry_.silent(now, options_.daemon_timeout)) {
        if (Peer* p = peer(id)) {
            p->silent = true;
            p->channel->close(
                fmt::format("no heartbeat for {} ms", options_.daemon_timeout.count()));
        }
    }
    for (const auto& machine : registry_.mark_unreachable(now, options_.unreachable_after)) {
        log(fmt::format("daemon {} is unreachable: nothing heard for {} ms", machine_name(machine),
                        options_.unreachable_after.count()));
        tell_attached_about(machine, [&](const std::string& nodes) {
            return fmt::format(
                "daemon `{}` unreachable (nodes {}): nothing heard from it for {:.1f} s; its "
                "nodes' data is lost while this lasts",
                machine, nodes, std::chrono::duration<double>(options_.unreachable_after).count());
        });
    }
    for (const auto& machine : registry_.connected_machines()) {
        send_to_daemon(machine, message::make(message::CoordinatorHeartbeat{}));
    }
}

void Coordinator::tell_attached_about(const std::string& machine,
                                      const std::function<std::string(const std::string&)>& what) {
    for (const auto& [id, dataflow] : dataflows_) {
        auto nodes = dataflow.nodes_per_machine.find(machine);
        if (!dataflow.active() || nodes == dataflow.nodes_per_machine.end() ||
            dataflow.attached.empty()) {
            continue;
        }
        std::string names;
        for (const auto& n : nodes->second) names += (names.empty() ? "" : ", ") + n;
        message::LogLine line{id, "", machine, "dora", what(names.empty() ? "?" : names)};
        auto event = message::make(message::LogEvent{std::move(line)});
        for (auto cli : dataflow.attached) {
            send_to(cli, event);
        }
    }
}

void Coordinator::close_inputs_from(const Dataflow& dataflow, const std::string& machine,
                                    const std::string& reason) {
    auto nodes = dataflow.nodes_per_machine.find(machine);
    if (!dataflow.active() || nodes == dataflow.nodes_per_machine.end() || nodes->second.empty()) {
        return;
    }
    log(
        fmt::format("dataflow {}: the nodes of {} are gone for good; closing their consumers' "
                    "inputs on the other machines",
                    dataflow.id, machine_name(machine)));
    auto lost =
        message::make(message::RemoteNodesLost{dataflow.id, machine, nodes->second, reason});
    for (const auto& [other, other_nodes] : dataflow.nodes_per_machine) {
        if (other != machine && registry_.connected(other)) {
            send_to_daemon(other, lost);
        }
    }
}

void Coordinator::on_gone_grace_over(const std::string& machine, const std::string& reason) {
    gone_grace_.erase(machine);  // this one-shot timer, fired
    if (registry_.connected(machine)) {
        return;  // back: reconcile() decided what still runs there
    }
    for (const auto& [id, dataflow] : dataflows_) {
        close_inputs_from(dataflow, machine, reason);
    }
}

void Coordinator::on_destroy(ConnectionId cli) {
    log("destroy requested: stopping every dataflow and daemon");
    destroy_requester_ = cli;
    destroying_ = true;
    for (auto& [id, dataflow] : dataflows_) {
        if (dataflow.active()) {
            stop_dataflow(dataflow, 5000);
        }
    }
    for (const auto& machine : registry_.connected_machines()) {
        send_to_daemon(machine, message::make(message::DestroyDaemon{}));
    }
    destroy_deadline_ = loop_.add_timer(options_.destroy_timeout, [this] {
        log("destroy: some daemons did not disconnect in time");
        registry_.disconnect_all();
        maybe_finish_destroy();
    });
    maybe_finish_destroy();
}

void Coordinator::maybe_finish_destroy() {
    if (destroyed_ || !registry_.connected_machines().empty()) {
        return;
    }
    destroyed_ = true;
    destroy_deadline_.cancel();
    log("destroyed: every daemon is gone; exiting");
    Peer* cli = destroy_requester_ ? peer(*destroy_requester_) : nullptr;
    if (cli == nullptr) {
        loop_.stop();
        return;
    }
    cli->channel->send(message::make(message::Done{"destroyed the coordinator and every daemon"}));
    cli->channel->close_after_flush("destroyed");
}

void Coordinator::on_cli_message(Peer& peer, message::CliRequest request) {
    if (destroying_) {
        peer.channel->send(message::make(
            message::ErrorMessage{"the coordinator is shutting down (dora destroy)"}));
        return;
    }
    std::visit([&](auto& m) { handle(peer, m); }, request);
}

void Coordinator::handle(Peer& cli, const message::CliDestroy&) { on_destroy(cli.id); }

}  // namespace dora::coordinator
