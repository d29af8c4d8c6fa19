#include "daemon/daemon.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/lifecycle.hpp"
#include "core/net.hpp"
#include "core/sys.hpp"
#include "daemon/node_command.hpp"
#include "daemon/spawner.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"

namespace dora::daemon {

// A dynamic node's join request is a few hundred bytes; more before it is answered is not one.
constexpr size_t kMaxJoinRequestBytes = 64 * 1024;
// How long a prepared dataflow waits for the subscribers of its outputs on other machines (a
// peer may be unreachable: its data is then lost, as with any network).
constexpr auto kRoutingWait = std::chrono::seconds(3);

Daemon::Daemon(EventLoop& loop, DaemonOptions options)
    : loop_(loop), options_(std::move(options)) {}

Result<std::unique_ptr<Daemon>> Daemon::create(EventLoop& loop, DaemonOptions options) {
    std::unique_ptr<Daemon> daemon(new Daemon(loop, std::move(options)));
    const DaemonOptions& o = daemon->options_;
    std::error_code ec;
    std::filesystem::create_directories(o.work_dir, ec);
    if (ec) {
        return fail("cannot create the daemon's work directory {}: {}", o.work_dir.string(),
                    ec.message());
    }
    auto signer = message::StreamEndSigner::generate();
    if (!signer) {
        return fail(signer.error());
    }
    daemon->stream_end_signer_ = std::make_shared<const message::StreamEndSigner>(*signer);
    daemon->listen_for_dynamic_nodes();
    Daemon* raw = daemon.get();
    daemon->finish_pending_ = loop.defer([raw] { raw->finish_ready_dataflows(); });
    daemon->drops_timer_ = loop.add_periodic(std::chrono::seconds(1), [raw] { raw->send_drops(); });
    daemon->reap_joins_ = loop.defer([raw] {
        for (uint64_t join : std::exchange(raw->closed_joins_, {})) {
            raw->joins_.erase(join);
        }
    });
    ZenohBridgeOptions zenoh;
    zenoh.machine_id = o.machine_id;
    zenoh.config = o.zenoh;
    zenoh.advertised_host = net::local_address_towards(o.coordinator_addr, o.coordinator_port);
    zenoh.log = [raw](const std::string& text) { raw->say(text); };
    zenoh.cluster_tls = o.token.has_value();
    auto bridge = ZenohBridge::start(loop, zenoh);
    if (!bridge) {
        return fail(bridge.error());
    }
    daemon->bridge_ = std::move(*bridge);
    daemon->bridge_->on_remote_subscribers_changed([raw] {
        std::vector<std::string> preparing;
        for (const auto& [id, flow] : raw->dataflows_) {
            if (flow->phase == Phase::kPreparing) {
                preparing.push_back(id);
            }
        }
        for (const auto& id : preparing) {
            raw->await_routing(id);
        }
    });
    auto build_env = current_environment();
    for (const auto& [key, value] : o.extra_node_env) {
        build_env[key] = value;
    }
    daemon->builds_ = std::make_unique<BuildRunner>(loop, std::move(build_env));
    CoordinatorLinkOptions link;
    link.host = o.coordinator_addr;
    link.port = o.coordinator_port;
    link.token = o.token;
    link.dora_version = o.dora_version;
    link.heartbeat_interval = o.heartbeat_interval;
    link.silence_limit = o.silence_limit;
    link.connector = o.coordinator_connector;
    Daemon* self = daemon.get();
    daemon->link_ = std::make_unique<CoordinatorLink>(
        loop, link, [self](message::CoordinatorToDaemon m) { self->on_message(std::move(m)); },
        [self] { self->on_connected(); }, [self](const std::string& why) { self->say(why); });
    if (o.token) {
        CertificateKeeperOptions keeper;
        keeper.name = message::daemon_certificate_name(o.machine_id);
        keeper.send = [self](const nlohmann::json& m) {
            if (!self->link_->connected()) return false;
            self->link_->send_now(m);
            return true;
        };
        keeper.log = [self](const std::string& text) { self->say(text); };
        keeper.on_changed = [self, also = o.on_certificate](const Credentials& credentials) {
            if (auto ok = self->bridge_->set_credentials(credentials); !ok) {
                self->say(ok.error().message());
            }
            if (also) {
                also(credentials);
            }
        };
        keeper.days = o.certificate_days;
        daemon->certificates_ = std::make_unique<CertificateKeeper>(loop, std::move(keeper));
    }
    return daemon;
}

Daemon::~Daemon() = default;

void Daemon::start() {
    prune_copies();  // what an earlier daemon in this work dir left
    link_->start();
}

void Daemon::say(std::string_view text) const {
    if (options_.log) {
        options_.log(std::string(text));
        return;
    }
    std::string line = fmt::format("[daemon] {}\n", text);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

void Daemon::listen_for_dynamic_nodes() {
    const uint16_t port = options_.local_listen_port;
    if (port == 0) {
        return;
    }
    auto listener = net::listen_tcp("127.0.0.1", port);
    if (!listener) {
        // As dora 0.3.12 does: several daemons on one machine share the default port; the later
        // ones run without it.
        say(fmt::format(
            "warning: {}{}; this daemon runs without a local listen port, so dynamic nodes cannot "
            "connect to it (give each daemon on this machine its own --local-listen-port)",
            listener.error().message(),
            listener.error().code() == EADDRINUSE
                ? " (another daemon on this machine probably uses "
                  "that port)"
                : ""));
        return;
    }
    local_port_ = listener->port();
    // Out of descriptors, accepting pauses (growing delay) instead of spinning.
    AcceptorOptions acceptor;
    acceptor.what = fmt::format("the local listen port {}", local_port_);
    acceptor.log = [this](const std::string& line) { say(line); };
    auto watch = Acceptor::start(
        loop_, std::move(listener->fd), std::move(acceptor), [this](net::Accepted accepted) {
            const uint64_t join = next_join_++;
            auto channel = message::Channel::open(
                loop_, std::move(accepted.fd),
                [this, join](nlohmann::json m) { on_join_request(join, m); },
                [this, join](const std::string&) { on_join_closed(join); }, kMaxJoinRequestBytes);
            if (channel) {
                joins_[join].channel = std::move(*channel);
            }
        });
    if (!watch) {
        say(fmt::format("warning: cannot watch the local listen port: {}",
                        watch.error().message()));
        return;
    }
    local_listener_ = std::move(*watch);
}

std::string Daemon::dynamic_join_hint() const {
    if (local_port_ == 0) {
        return "this daemon has no local listen port, so it cannot join: see the daemon's warning";
    }
    return local_port_ == message::kDefaultDaemonLocalPort
               ? fmt::format("start it with Node(\"<id>\"); it joins through 127.0.0.1:{}",
                             local_port_)
               : fmt::format("start it with Node(\"<id>\") and DORA_DAEMON_PORT={} set",
                             local_port_);
}

Result<message::NodeConfig> Daemon::join_dynamic(uint64_t join, const std::string& node_id,
                                                 const std::string& dataflow) {
    std::vector<Dataflow*> candidates;
    for (auto& [id, flow] : dataflows_) {
        if (flow->local && flow->local->has_node(node_id) &&
            (dataflow.empty() || dataflow == id || dataflow == flow->name)) {
            candidates.push_back(flow.get());
        }
    }
    if (candidates.empty()) {
        std::string running;
        for (const auto& [id, flow] : dataflows_) {
            running += (running.empty() ? "" : ", ") + (flow->name.empty() ? id : flow->name);
        }
        return fail(
            "no running dataflow on machine `{}` has a node `{}`{} (running here: {}); "
            "check the node id, `deploy: machine:`, and that the dataflow was started",
            options_.machine_id, node_id, dataflow.empty() ? "" : " in dataflow " + dataflow,
            running.empty() ? "none" : running);
    }
    std::vector<Dataflow*> waiting;
    for (auto* flow : candidates) {
        const auto ids = flow->local->waiting_dynamic_nodes();
        if (std::find(ids.begin(), ids.end(), node_id) != ids.end()) {
            waiting.push_back(flow);
        }
    }
    if (waiting.size() > 1) {
        std::string ids;
        for (auto* flow : waiting) ids += (ids.empty() ? "" : ", ") + flow->id;
        return fail(
            "several running dataflows wait for a dynamic node `{}` ({}); set DORA_DATAFLOW to "
            "the name or UUID of the one to join",
            node_id, ids);
    }
    Dataflow* flow = waiting.empty() ? candidates.front() : waiting.front();
    auto config = flow->local->join_dynamic(node_id);
    if (config) {
        joins_[join].dataflow_id = flow->id;
        joins_[join].node_id = node_id;
    }
    return config;
}

void Daemon::on_join_request(uint64_t join, const nlohmann::json& request) {
    auto it = joins_.find(join);
    if (it == joins_.end() || !it->second.node_id.empty()) {
        return;  // a joined node has nothing more to ask; its connection only marks its life
    }
    auto& channel = *it->second.channel;
    const std::string type = request.value("type", "");
    const std::string node_id = request.contains("node_id") && request["node_id"].is_string()
                                    ? request["node_id"].get<std::string>()
                                    : "";
    const std::string dataflow = request.contains("dataflow") && request["dataflow"].is_string()
                                     ? request["dataflow"].get<std::string>()
                                     : "";
    Result<message::NodeConfig> config =
        type != "dynamic_node" || node_id.empty()
            ? fail(
                  "expected a dynamic node's join request ({{\"type\": \"dynamic_node\", "
                  "\"node_id\": ...}}); is this a dora node of the same version ({})?",
                  options_.dora_version)
            : join_dynamic(join, node_id, dataflow);
    if (!config) {
        say(fmt::format("dynamic node `{}` refused: {}", node_id, config.error().message()));
        channel.send({{"type", "refused"}, {"reason", config.error().message()}});
        channel.close_after_flush("refused");
        return;
    }
    channel.lift_input_limit();
    channel.send({{"type", "dynamic_node_config"}, {"config", message::to_json(*config)}});
}

void Daemon::on_join_closed(uint64_t join) {
    auto it = joins_.find(join);
    if (it == joins_.end()) {
        return;
    }
    const auto& j = it->second;
    if (!j.node_id.empty()) {
        if (auto flow = dataflows_.find(j.dataflow_id);
            flow != dataflows_.end() && flow->second->local) {
            flow->second->local->dynamic_left(j.node_id);
        }
    }
    closed_joins_.push_back(join);
    reap_joins_.request();
}

const char* Daemon::phase_name(Phase phase) {
    switch (phase) {
        case Phase::kPreparing:
            return "preparing";
        case Phase::kPrepared:
            return "prepared";
        case Phase::kRunning:
            return "running";
        case Phase::kStopping:
            return "stopping";
        case Phase::kFinished:
            return "finished";
    }
    return "?";
}

void Daemon::set_phase(Dataflow& dataflow, Phase to) {
    using P = Phase;
    static constexpr Transition<Phase> kTransitions[] = {
        {P::kPreparing, P::kPrepared},  // routing ready, "prepared" reported
        {P::kPrepared, P::kRunning},    // spawned
        {P::kRunning, P::kStopping},    // stop requested
        {P::kRunning, P::kFinished},    // every node exited
        {P::kStopping, P::kFinished},
    };
    if (!transition_allowed<Phase>(kTransitions, dataflow.phase, to)) {
        // A bug in this file, not an input error: say so loudly and keep the old phase.
        say(fmt::format("internal error: dataflow {} cannot go from {} to {}", dataflow.id,
                        phase_name(dataflow.phase), phase_name(to)));
        return;
    }
    dataflow.phase = to;
}

void Daemon::on_connected() {
    message::DaemonRegister reg;
    reg.machine_identity = sys::machine_identity();
    reg.labels = options_.labels;
    reg.machine_id = options_.machine_id;
    reg.zenoh_endpoints = bridge_->endpoints();
    reg.stream_end_key = stream_end_signer_->public_key();
    for (const auto& [id, flow] : dataflows_) {
        reg.running_dataflows.push_back(id);
    }
    reg.running_dataflows.insert(reg.running_dataflows.end(), unreported_finishes_.begin(),
                                 unreported_finishes_.end());
    const std::set<std::string> unreported(unreported_finishes_.begin(),
                                           unreported_finishes_.end());
    unreported_finishes_.clear();  // the queued finish messages follow the registration
    for (const auto& finish : recent_finishes_) {
        if (!unreported.count(finish.dataflow_id)) {
            reg.finished_dataflows.push_back(finish.dataflow_id);
        }
    }
    link_->send_now(message::make(reg));
    report_dataflows(unreported);
    say(fmt::format("connected to the coordinator at {} as machine `{}`", link_->where(),
                    options_.machine_id));
    if (certificates_) {
        certificates_->on_registered(endpoint_addresses(reg.zenoh_endpoints));
    }
}

std::optional<Credentials> Daemon::credentials() const {
    return certificates_ ? certificates_->credentials() : std::nullopt;
}

void Daemon::handle(const message::CertificateReply& m) {
    if (certificates_) {
        certificates_->handle(m);
    }
}

void Daemon::report_dataflows(const std::set<std::string>& unreported) {
    for (const auto& entry : dataflows_) {
        send_report(*entry.second);
    }
    for (const auto& id : unreported) {
        if (auto it = archived_.find(id); it != archived_.end()) {
            send_report(*it->second);  // its finish follows: reported
            archived_.erase(it);
        }
    }
    for (const auto& finish : recent_finishes_) {
        if (!unreported.count(finish.dataflow_id)) {
            link_->send_now(message::make(finish));
        }
    }
}

void Daemon::send_report(const Dataflow& flow) {
    message::DataflowRunning report;
    report.started = flow.started;
    report.spawned = flow.phase != Phase::kPreparing && flow.phase != Phase::kPrepared;
    if (flow.local) {
        report.waiting = flow.local->waiting_dynamic_nodes();
    }
    auto json = message::make(report);
    if (auto fits = message::encode_frame_checked(json); !fits) {
        // Its start fitted; with the report's other fields it does not: the coordinator then
        // knows the dataflow by id only (`dora list` shows its nodes as `?`).
        say(fmt::format("dataflow {}: cannot describe it to the coordinator: {}", flow.id,
                        fits.error().message()));
        report.started.descriptor_yaml.clear();
        json = message::make(report);
    }
    link_->send_now(json);
}

void Daemon::on_message(message::CoordinatorToDaemon message) {
    std::visit([this](const auto& m) { handle(m); }, message);
}

void Daemon::handle(const message::Peers& m) { bridge_->set_peers(m.peers); }

void Daemon::handle(const message::DestroyDaemon&) {
    say("the coordinator asked this daemon to shut down (dora destroy)");
    shut_down(kDefaultGraceDuration);
}

void Daemon::handle(const message::CoordinatorHeartbeat&) {
    // Heartbeats only keep the link alive.
}

void Daemon::handle(const message::RemoteNodesLost& m) {
    bridge_->close_inputs_from(
        m.dataflow_id, m.nodes,
        fmt::format("the daemon of machine `{}` is gone: {}", m.machine_id, m.reason));
}

void Daemon::handle(const message::ErrorMessage& m) {
    say("the coordinator reports an error: " + m.message);
}

bool Daemon::is_local(const Descriptor& descriptor, const NodeDescriptor& node) const {
    return descriptor.effective_deploy(node).machine.value_or("") == options_.machine_id;
}

Result<Descriptor> Daemon::load_descriptor(const std::string& dataflow_id, const std::string& yaml,
                                           const std::string& path, const std::string& cli_machine,
                                           const std::map<std::string, std::string>& placement) {
    auto descriptor = parse_descriptor(yaml, path);
    if (!descriptor) {
        return fail(descriptor.error());
    }
    for (auto& node : descriptor->nodes) {
        if (auto it = placement.find(node.id); it != placement.end()) {
            node.deploy.machine = it->second;  // placed by the coordinator (deploy.labels)
        }
    }
    if (cli_machine != sys::machine_identity()) {
        // Started from another machine: the dataflow file's directory does not exist here.
        auto dir = options_.work_dir / dataflow_id;
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        if (ec) {
            return fail("machine `{}`: cannot create the dataflow's directory {}: {}",
                        options_.machine_id, dir.string(), ec.message());
        }
        descriptor->base_dir = dir;
    }
    return descriptor;
}

void Daemon::handle(const message::PrepareDataflow& request) {
    message::DataflowPrepared reply;
    reply.dataflow_id = request.dataflow_id;
    if (dataflows_.contains(request.dataflow_id)) {
        reply.success = true;  // a repeated request after a reconnect
        link_->send(message::make(reply));
        return;
    }
    if (fetching_.contains(request.dataflow_id) || incoming_.contains(request.dataflow_id)) {
        return;  // repeated while its downloads or files arrive: the answer comes after
    }
    if (!request.files.is_null()) {
        receive_files_then_prepare(request);
        return;
    }
    load_then_prepare(request);
}

void Daemon::load_then_prepare(const message::PrepareDataflow& request) {
    auto descriptor =
        load_descriptor(request.dataflow_id, request.descriptor_yaml, request.descriptor_path,
                        request.cli_machine, request.placement);
    if (!descriptor) {
        link_->send(message::make(
            message::DataflowPrepared{request.dataflow_id, false, descriptor.error().message()}));
        return;
    }
    fetch_then_prepare(request, std::move(*descriptor));
}

void Daemon::prepare(const message::PrepareDataflow& request, Descriptor descriptor) {
    message::DataflowPrepared reply;
    reply.dataflow_id = request.dataflow_id;
    if (auto ok = check_local_nodes(descriptor, request.cli_machine); !ok) {
        reply.error = ok.error().message();
        link_->send(message::make(reply));
        return;
    }
    auto flow = std::make_unique<Dataflow>();
    flow->id = request.dataflow_id;
    flow->name = request.name;
    flow->descriptor = std::move(descriptor);
    flow->started = request;
    LocalDataflowOptions options;
    options.dataflow_id = flow->id;
    options.stream_end_signer = stream_end_signer_;
    for (const auto& node : flow->descriptor.nodes) {
        const std::string machine = flow->descriptor.effective_deploy(node).machine.value_or("");
        if (machine == options_.machine_id) {
            continue;
        }
        auto key = request.stream_end_keys.find(machine);
        if (key == request.stream_end_keys.end()) {
            continue;  // LocalDataflow refuses it if a local node consumes one of its outputs
        }
        options.producer_stream_end_keys[node.id] = key->second;
    }
    options.machine_id = options_.machine_id;
    options.max_remote_message_size = options_.zenoh.max_message_size;
    options.extra_env = options_.extra_node_env;
    options.dynamic_nodes = true;
    options.dynamic_join_hint = dynamic_join_hint();
    options.on_dynamic_status = [this, id = request.dataflow_id](const std::string& node,
                                                                 const char* status) {
        link_->send(message::make(message::DynamicNodeStatus{id, node, status}));
    };
    const Descriptor* d = &flow->descriptor;
    options.is_local = [this, d](const NodeDescriptor& n) { return is_local(*d, n); };
    options.watchable = true;  // zero-cost watching: every output can be watched
    std::string id = flow->id;
    options.on_log = [this, id](const std::string& node, std::string_view stream,
                                std::string_view line) {
        message::DaemonLog log;
        log.log = {id, node, options_.machine_id, std::string(stream), std::string(line)};
        link_->send(message::make(log));
    };
    options.on_node_ready = [this, id](const std::string& node) {
        say(fmt::format("dataflow {}: node `{}` is ready", id, node));
    };
    // Runs inside a node's exit handling: act at the end of the iteration, not here.
    options.on_finished = [this] { finish_pending_.request(); };
    auto local = LocalDataflow::create(loop_, flow->descriptor, options);
    if (!local) {
        reply.error = fmt::format("machine `{}`: {}", options_.machine_id, local.error().message());
        link_->send(message::make(reply));
        return;
    }
    auto note = [this, id](const std::string& node, const std::string& text) {
        message::DaemonLog log;
        log.log = {id, node, options_.machine_id, "dora", text};
        link_->send(message::make(log));
    };
    if (auto routed = bridge_->attach(**local, note); !routed) {
        reply.error = fmt::format("machine `{}`: routing to other machines: {}",
                                  options_.machine_id, routed.error().message());
        link_->send(message::make(reply));
        return;
    }
    flow->local = std::move(*local);
    dataflows_.emplace(id, std::move(flow));
    // Report "prepared" once the machines consuming our outputs have subscribed (their
    // declarations travel asynchronously), so that no early output is lost; give up waiting after
    // a few seconds (a peer may be unreachable: its data is then lost, as with any network).
    await_routing(id);
}

void Daemon::await_routing(const std::string& id, bool give_up) {
    auto it = dataflows_.find(id);
    if (it == dataflows_.end() || it->second->phase != Phase::kPreparing) {
        return;
    }
    Dataflow& flow = *it->second;
    bool ready = bridge_->remote_subscribers_ready(*flow.local);
    if (!ready && !give_up) {
        // No polling: the bridge calls back as soon as the session's remote subscribers change
        // (see create); this timer only ends the wait.
        if (!flow.routing_timeout.active()) {
            flow.routing_timeout =
                loop_.add_timer(kRoutingWait, [this, id] { await_routing(id, true); });
        }
        return;
    }
    flow.routing_timeout.cancel();
    if (!ready) {
        say(
            fmt::format("dataflow {}: no subscriber on another machine yet for some outputs; "
                        "starting anyway",
                        id));
    }
    set_phase(flow, Phase::kPrepared);
    message::DataflowPrepared reply;
    reply.dataflow_id = id;
    reply.success = true;
    link_->send(message::make(reply));
}

void Daemon::handle(const message::SpawnDataflow& request) {
    auto it = dataflows_.find(request.dataflow_id);
    message::DataflowSpawned reply;
    reply.dataflow_id = request.dataflow_id;
    if (it == dataflows_.end() || it->second->phase != Phase::kPrepared) {
        reply.error = fmt::format(
            "machine `{}` has no prepared dataflow {}{}", options_.machine_id, request.dataflow_id,
            it == dataflows_.end() ? std::string()
                                   : fmt::format(" (it is {})", phase_name(it->second->phase)));
        link_->send(message::make(reply));
        return;
    }
    Dataflow& flow = *it->second;
    set_phase(flow, Phase::kRunning);
    auto ok = flow.local->start();
    reply.success = static_cast<bool>(ok);
    if (!ok) {
        reply.error = fmt::format("machine `{}`: {}", options_.machine_id, ok.error().message());
        say(fmt::format("dataflow {}: {}", request.dataflow_id, ok.error().message()));
    } else {
        // Count the processes started, not the nodes planned: dynamic nodes have yet to join.
        const size_t waiting = flow.local->waiting_dynamic_nodes().size();
        say(fmt::format("dataflow {}: {} node(s) started{}", request.dataflow_id,
                        flow.local->running_processes(),
                        waiting == 0
                            ? std::string()
                            : fmt::format(", {} dynamic node(s) waiting to join", waiting)));
    }
    link_->send(message::make(reply));
}

void Daemon::handle(const message::StopDataflow& request) {
    if (auto fetching = fetching_.find(request.dataflow_id); fetching != fetching_.end()) {
        fetching->second = true;  // stopped: not prepared once the downloads end
        return;
    }
    if (incoming_.erase(request.dataflow_id) > 0) {
        return;  // stopped while its files arrived: nothing to prepare
    }
    auto it = dataflows_.find(request.dataflow_id);
    if (it == dataflows_.end()) {
        return;
    }
    Dataflow& flow = *it->second;
    switch (flow.phase) {
        case Phase::kPreparing:
        case Phase::kPrepared:
            // Never spawned (preparing failed elsewhere): nothing runs; drop it.
            drop(request.dataflow_id);
            maybe_exit();
            return;
        case Phase::kRunning:
            set_phase(flow, Phase::kStopping);
            [[fallthrough]];
        case Phase::kStopping:
            flow.local->stop(std::chrono::milliseconds(request.grace_ms));
            return;
        case Phase::kFinished:
            return;
    }
}

void Daemon::drop(const std::string& id) {
    (void)bridge_->detach(id);  // nothing ran: nothing was dropped
    dataflows_.erase(id);
}

void Daemon::finish_ready_dataflows() {
    std::vector<std::string> done;
    for (const auto& [id, flow] : dataflows_) {
        if (flow->local && flow->local->finished() &&
            (flow->phase == Phase::kRunning || flow->phase == Phase::kStopping)) {
            done.push_back(id);
        }
    }
    for (const auto& id : done) {
        finished(id);
    }
}

void Daemon::finished(const std::string& dataflow_id) {
    auto it = dataflows_.find(dataflow_id);
    if (it == dataflows_.end()) {
        return;
    }
    Dataflow& flow = *it->second;
    set_phase(flow, Phase::kFinished);
    message::DataflowFinishedOnMachine done;
    done.dataflow_id = dataflow_id;
    // Routing first stops (the egress sends what its producers left), then the counts are final.
    done.drops = flow.local->drops();
    for (auto& d : bridge_->detach(dataflow_id)) {
        message::add_drop(done.drops, std::move(d));
    }
    for (const auto& r : flow.local->results()) {
        done.results.push_back(message::NodeResultInfo{r.node_id, options_.machine_id, r.success,
                                                       r.status, r.killed_after_grace,
                                                       r.stderr_tail, r.exit_code});
    }
    const bool reported = link_->connected();
    if (!reported) {
        unreported_finishes_.push_back(dataflow_id);
    }
    link_->send(message::make(done));
    recent_finishes_.push_back(done);
    while (recent_finishes_.size() > kRecentFinishes) {
        recent_finishes_.pop_front();
    }
    say(fmt::format("dataflow {} {} on this machine", dataflow_id,
                    message::finished_line(done.drops)));
    // Free the shared memory now; keep where the logs are, and the whole record only until the
    // coordinator heard of the finish.
    flow.local.reset();
    remember_logs(flow);
    if (!reported) {
        archived_.emplace(dataflow_id, std::move(it->second));
    }
    dataflows_.erase(it);
    sys::return_free_heap();  // a large dataflow's plan and descriptor: not kept in RSS
    // A dataflow started elsewhere ran in `<work dir>/<id>`: its finish time (on its manifest's
    // record, or on the directory when no files came) orders the copies prune_copies keeps.
    const auto record = options_.work_dir / "manifests" / (dataflow_id + ".json");
    const auto copy = options_.work_dir / dataflow_id;
    std::error_code ec;
    for (const auto& marked : {record, copy}) {
        if (std::filesystem::exists(marked, ec)) {
            std::filesystem::last_write_time(marked, std::filesystem::file_time_type::clock::now(),
                                             ec);
            prune_copies();
            break;
        }
    }
    maybe_exit();
}

std::vector<message::DropCount> Daemon::drops_of(const Dataflow& flow) const {
    auto drops = flow.local->drops();
    for (auto& d : bridge_->drops(flow.id)) {
        message::add_drop(drops, std::move(d));
    }
    return drops;
}

void Daemon::send_drops() {
    for (auto& [id, flow] : dataflows_) {
        if (!flow->local || (flow->phase != Phase::kRunning && flow->phase != Phase::kStopping)) {
            continue;
        }
        auto drops = drops_of(*flow);
        const uint64_t total = message::total_dropped(drops);
        if (total == flow->reported_drop_total) {
            continue;
        }
        flow->reported_drop_total = total;
        link_->send(message::make(message::DataflowDrops{id, std::move(drops)}));
    }
}

void Daemon::remember_logs(const Dataflow& flow) {
    std::map<std::string, std::filesystem::path> node_dirs;
    std::map<std::filesystem::path, size_t> dirs;  // how many nodes run in each
    for (const auto& node : flow.descriptor.nodes) {
        ++dirs[node_dirs[node.id] = node_working_dir(flow.descriptor, node)];
    }
    FinishedLogs logs;
    auto most = std::max_element(dirs.begin(), dirs.end(),
                                 [](const auto& a, const auto& b) { return a.second < b.second; });
    if (most != dirs.end()) {
        logs.dir = most->first;
    }
    for (auto& [id, dir] : node_dirs) {
        if (dir != logs.dir) {
            logs.other_dirs.emplace(id, std::move(dir));
        }
    }
    if (finished_logs_.insert_or_assign(flow.id, std::move(logs)).second) {
        finished_order_.push_back(flow.id);
    }
    while (finished_order_.size() > kKeptFinishedLogs) {
        finished_logs_.erase(finished_order_.front());
        finished_order_.pop_front();
    }
}

std::optional<std::filesystem::path> Daemon::log_file(const std::string& dataflow_id,
                                                      const std::string& node_id) const {
    const std::string name = fmt::format("log_{}.txt", node_id);
    if (auto it = dataflows_.find(dataflow_id); it != dataflows_.end()) {
        const Dataflow& flow = *it->second;
        const NodeDescriptor* node = flow.descriptor.find_node(node_id);
        if (node == nullptr) {
            return std::nullopt;
        }
        return node_working_dir(flow.descriptor, *node) / "out" / dataflow_id / name;
    }
    auto logs = finished_logs_.find(dataflow_id);
    if (logs == finished_logs_.end()) {
        return std::nullopt;
    }
    auto other = logs->second.other_dirs.find(node_id);
    const auto& dir = other != logs->second.other_dirs.end() ? other->second : logs->second.dir;
    return dir / "out" / dataflow_id / name;
}

void Daemon::handle(const message::ReadLogs& request) {
    message::DaemonLogsReply reply;
    reply.request_id = request.request_id;
    auto file = log_file(request.dataflow_id, request.node_id);
    if (!file) {
        reply.error = fmt::format(
            "machine `{}` has no node {} of dataflow {} (it keeps where the logs of its last {} "
            "finished dataflows are; older ones are in <working dir>/out/<dataflow>/)",
            options_.machine_id, request.node_id, request.dataflow_id, kKeptFinishedLogs);
    } else {
        std::ifstream in(*file);
        const auto copy = options_.work_dir / request.dataflow_id;
        std::error_code ec;
        if (!in && file->string().starts_with(copy.string() + "/") &&
            !std::filesystem::exists(copy, ec)) {
            // The logs lived in the dataflow's copy, removed since (--keep-copies).
            reply.error = fmt::format(
                "machine `{}`: the logs of dataflow {} went with its copy {}, removed after it "
                "finished: this daemon keeps the copies, logs included, of its last {} finished "
                "dataflows (`dora daemon --keep-copies N` keeps more)",
                options_.machine_id, request.dataflow_id, copy.string(), options_.keep_copies);
        } else if (!in) {
            reply.error =
                fmt::format("machine `{}`: no log file {}", options_.machine_id, file->string());
        } else {
            std::stringstream ss;
            ss << in.rdbuf();
            reply.content = ss.str();
            if (request.with_times) {
                reply.times = LogFile::read_times(
                    *file, static_cast<size_t>(
                               std::count(reply.content.begin(), reply.content.end(), '\n')));
            }
        }
    }
    link_->send(message::make(reply));
}

void Daemon::shut_down(std::chrono::nanoseconds grace) {
    shutting_down_ = true;
    builds_->cancel_all();
    std::vector<std::string> unspawned;
    for (auto& [id, flow] : dataflows_) {
        switch (flow->phase) {
            case Phase::kPreparing:
            case Phase::kPrepared:
                unspawned.push_back(id);  // prepared only: nothing to stop
                break;
            case Phase::kRunning:
                set_phase(*flow, Phase::kStopping);
                [[fallthrough]];
            case Phase::kStopping:
                flow->local->stop(grace);
                break;
            case Phase::kFinished:
                break;
        }
    }
    for (const auto& id : unspawned) {
        drop(id);
    }
    maybe_exit();
}

void Daemon::maybe_exit() {
    if (shutting_down_ && dataflows_.empty()) {
        link_->flush(std::chrono::milliseconds(1000));
        loop_.stop();
    }
}

}  // namespace dora::daemon
