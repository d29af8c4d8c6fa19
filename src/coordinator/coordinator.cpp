// The coordinator's connections, hello, daemon registry, heartbeats and destroy. Dataflows and
// CLI requests are in dataflows.cpp.
#include "coordinator/coordinator.hpp"

#include <sys/epoll.h>

#include <algorithm>
#include <iostream>

#include "coordinator/net.hpp"
#include "message/coordinator_to_cli.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"

namespace dora::coordinator {

namespace {

std::string machine_name(const std::string& machine) {
    return machine.empty() ? std::string("the default daemon") : fmt::format("`{}`", machine);
}

}  // namespace

Coordinator::Coordinator(EventLoop& loop, CoordinatorOptions options)
    : loop_(loop), options_(std::move(options)) {}

Coordinator::~Coordinator() {
    if (heartbeat_timer_) {
        loop_.cancel_timer(*heartbeat_timer_);
    }
    if (destroy_timer_) {
        loop_.cancel_timer(*destroy_timer_);
    }
    for (auto& [id, peer] : peers_) {
        if (peer.hello_timer) {
            loop_.cancel_timer(*peer.hello_timer);
        }
    }
    for (auto& [id, dataflow] : dataflows_) {
        if (dataflow.prepare_timer) {
            loop_.cancel_timer(*dataflow.prepare_timer);
        }
    }
    for (int fd : {daemon_listener_.get(), control_listener_.get()}) {
        if (fd >= 0) {
            loop_.remove_fd(fd);
        }
    }
    peers_.clear();  // connections unregister themselves from the loop
}

Result<std::unique_ptr<Coordinator>> Coordinator::create(EventLoop& loop,
                                                         CoordinatorOptions options) {
    std::unique_ptr<Coordinator> self(new Coordinator(loop, std::move(options)));
    if (self->options_.listen) {
        if (auto ok = self->start_listening(); !ok) {
            return fail(ok.error());
        }
    }
    Coordinator* raw = self.get();
    auto timer =
        loop.add_timer(self->options_.heartbeat_interval, self->options_.heartbeat_interval,
                       [raw] { raw->on_heartbeat_tick(); });
    if (!timer) {
        return fail(timer.error());
    }
    self->heartbeat_timer_ = *timer;
    return self;
}

Result<> Coordinator::start_listening() {
    auto daemons = listen_tcp(options_.interface, options_.port, "daemons");
    if (!daemons) {
        return fail(daemons.error());
    }
    auto control = listen_tcp(options_.control_interface, options_.control_port, "CLIs");
    if (!control) {
        return fail(control.error());
    }
    daemon_port_ = daemons->port;
    control_port_ = control->port;
    daemon_listener_ = std::move(daemons->fd);
    control_listener_ = std::move(control->fd);
    for (auto [fd, port] : {std::pair{daemon_listener_.get(), Port::kDaemon},
                            std::pair{control_listener_.get(), Port::kControl}}) {
        if (auto ok = loop_.add_fd(fd, EPOLLIN,
                                   [this, fd = fd, port = port](uint32_t) { on_accept(fd, port); });
            !ok) {
            return fail(ok.error());
        }
    }
    return {};
}

void Coordinator::log(const std::string& line) const {
    if (options_.log) {
        options_.log(line);
    } else {
        std::cerr << "[coordinator] " << line << std::endl;
    }
}

void Coordinator::on_accept(int listen_fd, Port port) {
    for (int i = 0; i < 64; ++i) {
        auto peer = accept_peer(listen_fd);
        if (!peer) {
            log(peer.error().message());
            return;
        }
        if (!peer->fd.valid()) {
            return;
        }
        adopt(std::move(peer->fd), port, peer->address, peer->loopback);
    }
}

void Coordinator::adopt(sys::UniqueFd fd, Port port, std::string peer_address, bool loopback) {
    Connection::Id id = next_connection_++;
    Peer peer;
    peer.port = port;
    peer.connection =
        std::make_unique<Connection>(loop_, id, std::move(fd), std::move(peer_address), loopback);
    HelloPolicy policy{options_.token, options_.dora_version,
                       port == Port::kDaemon ? "daemon" : "cli", daemon_port_, control_port_};
    peer.challenge = make_challenge(policy);
    auto started = peer.connection->start(
        [this](Connection& c, nlohmann::json m) { on_message(c, std::move(m)); },
        [this](Connection& c, const std::string& reason) { on_closed(c, reason); });
    if (!started) {
        log(fmt::format("cannot serve a connection from {}: {}", peer.connection->peer(),
                        started.error().message()));
        return;
    }
    auto timer = loop_.add_timer(options_.hello_timeout, std::chrono::nanoseconds(0), [this, id] {
        if (auto it = peers_.find(id); it != peers_.end()) {
            it->second.hello_timer.reset();
            it->second.connection->close("no hello within the time limit");
        }
    });
    if (timer) {
        peer.hello_timer = *timer;
    }
    Connection& connection = *peer.connection;
    auto challenge = message::make(peer.challenge);
    peers_.emplace(id, std::move(peer));
    connection.send(challenge);
}

Connection* Coordinator::connection(Connection::Id id) {
    auto it = peers_.find(id);
    if (it == peers_.end() || !it->second.connection->open()) {
        return nullptr;
    }
    return it->second.connection.get();
}

void Coordinator::send_to(Connection::Id id, const nlohmann::json& message) {
    if (auto* c = connection(id)) {
        c->send(message);
    }
}

bool Coordinator::send_to_daemon(const std::string& machine, const nlohmann::json& message) {
    auto it = daemons_.find(machine);
    if (it == daemons_.end() || !it->second.connection) {
        return false;
    }
    auto* c = connection(*it->second.connection);
    if (c == nullptr) {
        return false;
    }
    c->send(message);
    return true;
}

void Coordinator::refuse(Connection& connection, const std::string& why) {
    log(fmt::format("closing the connection from {}: {}", connection.peer(), why));
    connection.send(message::make(message::ErrorMessage{why}));
    connection.close_after_flush(why);
}

void Coordinator::on_message(Connection& connection, nlohmann::json message) {
    auto it = peers_.find(connection.id());
    if (it == peers_.end()) {
        return;
    }
    Peer& peer = it->second;
    if (!connection.authenticated()) {
        HelloPolicy policy{options_.token, options_.dora_version,
                           peer.port == Port::kDaemon ? "daemon" : "cli", daemon_port_,
                           control_port_};
        auto hello = check_hello(policy, peer.challenge, message, connection.loopback());
        if (peer.hello_timer) {
            loop_.cancel_timer(*peer.hello_timer);
            peer.hello_timer.reset();
        }
        if (!hello) {
            refuse(connection, hello.error().message());
            return;
        }
        connection.set_authenticated();
        connection.send(message::make(message::Welcome{}));
        return;
    }
    if (peer.port == Port::kDaemon) {
        on_daemon_message(peer, message);
    } else {
        on_cli_message(peer, message);
    }
}

void Coordinator::on_closed(Connection& connection, const std::string& reason) {
    Connection::Id id = connection.id();
    auto it = peers_.find(id);
    if (it == peers_.end()) {
        return;
    }
    if (it->second.hello_timer) {
        loop_.cancel_timer(*it->second.hello_timer);
        it->second.hello_timer.reset();
    }
    std::optional<std::string> machine = it->second.machine;
    if (machine) {
        on_daemon_lost(*machine, reason);
    } else if (it->second.port == Port::kControl) {
        forget_cli(id);
    }
    // Destroy the connection later: we are inside its callback.
    loop_.post([this, id, alive = std::weak_ptr<int>(alive_)] {
        if (alive.lock()) {
            peers_.erase(id);
        }
    });
    if (destroyed_ && destroy_requester_ == id) {
        loop_.stop();
    }
    if (destroying_) {
        maybe_finish_destroy();
    }
}

std::vector<std::string> Coordinator::connected_machines() const {
    std::vector<std::string> machines;
    for (const auto& [machine, daemon] : daemons_) {
        if (daemon.connection) {
            machines.push_back(machine);
        }
    }
    return machines;
}

std::string Coordinator::missing_daemons_error(const std::set<std::string>& machines) const {
    std::vector<std::string> missing;
    for (const auto& machine : machines) {
        auto it = daemons_.find(machine);
        if (it == daemons_.end() || !it->second.connection) {
            missing.push_back(machine);
        }
    }
    if (missing.empty()) {
        return {};
    }
    std::string names;
    std::string hint;
    for (const auto& m : missing) {
        names += (names.empty() ? "" : ", ") + machine_name(m);
        hint += fmt::format("{}`dora daemon{}{}`", hint.empty() ? "" : ", ",
                            m.empty() ? "" : " --machine-id ", m);
    }
    std::string connected;
    for (const auto& m : connected_machines()) {
        connected += (connected.empty() ? "" : ", ") + machine_name(m);
    }
    return fmt::format(
        "no daemon is connected for machine {} (connected daemons: {}); start one on that "
        "machine with {} pointing --coordinator-addr at this coordinator",
        names, connected.empty() ? "none" : connected, hint);
}

void Coordinator::on_daemon_message(Peer& peer, const nlohmann::json& message) {
    const std::string type = message.value("type", "");
    if (!peer.machine) {
        if (type != message::DaemonRegister::kType) {
            refuse(*peer.connection, fmt::format("a daemon must register ({}) before sending `{}`",
                                                 message::DaemonRegister::kType, type));
            return;
        }
        on_register(peer, message);
        return;
    }
    const std::string machine = *peer.machine;
    daemons_[machine].last_heartbeat = std::chrono::steady_clock::now();
    if (type == message::DaemonHeartbeat::kType) {
        return;
    } else if (type == message::DataflowPrepared::kType) {
        on_prepared(machine, message);
    } else if (type == message::DataflowSpawned::kType) {
        on_spawned(machine, message);
    } else if (type == message::DaemonLog::kType) {
        on_daemon_log(machine, message);
    } else if (type == message::DataflowFinishedOnMachine::kType) {
        on_finished_on_machine(machine, message);
    } else if (type == message::DaemonLogsReply::kType) {
        on_logs_reply(machine, message);
    } else if (type == message::DaemonBuildOutput::kType) {
        on_build_output(machine, message);
    } else if (type == message::DaemonBuildResult::kType) {
        on_build_result(machine, message);
    } else if (type == message::ErrorMessage::kType) {
        log(fmt::format("daemon {} reports: {}", machine_name(machine),
                        message.value("message", std::string())));
    } else {
        refuse(*peer.connection, fmt::format("unknown message type `{}` from a daemon", type));
    }
}

void Coordinator::on_register(Peer& peer, const nlohmann::json& message) {
    auto reg = message::parse_as<message::DaemonRegister>(message);
    if (!reg) {
        refuse(*peer.connection, reg.error().message());
        return;
    }
    auto existing = daemons_.find(reg->machine_id);
    if (existing != daemons_.end() && existing->second.connection) {
        refuse(*peer.connection,
               fmt::format("a daemon for machine {} is already connected (from {}); give each "
                           "daemon its own `--machine-id`",
                           machine_name(reg->machine_id), existing->second.address));
        return;
    }
    bool again = existing != daemons_.end();
    DaemonState& daemon = daemons_[reg->machine_id];
    daemon.machine_id = reg->machine_id;
    daemon.address = peer.connection->peer();
    daemon.zenoh_endpoints = reg->zenoh_endpoints;
    daemon.connection = peer.connection->id();
    daemon.last_heartbeat = std::chrono::steady_clock::now();
    peer.machine = reg->machine_id;
    log(fmt::format("daemon {} {} from {}", machine_name(reg->machine_id),
                    again ? "reconnected" : "registered", daemon.address));
    broadcast_peers();
    reconcile(reg->machine_id, reg->running_dataflows);
}

void Coordinator::broadcast_peers() {
    for (const auto& [machine, daemon] : daemons_) {
        if (!daemon.connection) {
            continue;
        }
        message::Peers peers;
        for (const auto& [other_machine, other] : daemons_) {
            if (other_machine == machine) {
                continue;
            }
            peers.peers.push_back(
                {other_machine, other.zenoh_endpoints, other.connection.has_value(), 0});
        }
        send_to(*daemon.connection, message::make(peers));
    }
}

void Coordinator::on_daemon_lost(const std::string& machine, const std::string& reason) {
    auto it = daemons_.find(machine);
    if (it == daemons_.end()) {
        return;
    }
    it->second.connection.reset();
    log(fmt::format("daemon {} disconnected: {}", machine_name(machine), reason));
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
    auto now = std::chrono::steady_clock::now();
    std::vector<Connection::Id> silent;
    for (auto& [machine, daemon] : daemons_) {
        if (!daemon.connection) {
            continue;
        }
        if (now - daemon.last_heartbeat > options_.daemon_timeout) {
            silent.push_back(*daemon.connection);
            continue;
        }
        send_to(*daemon.connection, message::make(message::CoordinatorHeartbeat{}));
    }
    for (auto id : silent) {
        if (auto* c = connection(id)) {
            c->close(fmt::format("no heartbeat for {} ms", options_.daemon_timeout.count()));
        }
    }
}

void Coordinator::on_destroy(Connection::Id cli) {
    log("destroy requested: stopping every dataflow and daemon");
    destroy_requester_ = cli;
    destroying_ = true;
    for (auto& [id, dataflow] : dataflows_) {
        if (dataflow.active()) {
            stop_dataflow(dataflow, 5000);
        }
    }
    for (const auto& machine : connected_machines()) {
        send_to_daemon(machine, message::make(message::DestroyDaemon{}));
    }
    auto timer = loop_.add_timer(options_.destroy_timeout, std::chrono::nanoseconds(0), [this] {
        destroy_timer_.reset();
        log("destroy: some daemons did not disconnect in time");
        for (auto& [machine, daemon] : daemons_) {
            daemon.connection.reset();
        }
        maybe_finish_destroy();
    });
    if (timer) {
        destroy_timer_ = *timer;
    }
    maybe_finish_destroy();
}

void Coordinator::maybe_finish_destroy() {
    if (destroyed_ || !connected_machines().empty()) {
        return;
    }
    destroyed_ = true;
    if (destroy_timer_) {
        loop_.cancel_timer(*destroy_timer_);
        destroy_timer_.reset();
    }
    log("destroyed: every daemon is gone; exiting");
    Connection* cli = destroy_requester_ ? connection(*destroy_requester_) : nullptr;
    if (cli == nullptr) {
        loop_.stop();
        return;
    }
    cli->send(message::make(message::Done{"destroyed the coordinator and every daemon"}));
    cli->close_after_flush("destroyed");
}

}  // namespace dora::coordinator
