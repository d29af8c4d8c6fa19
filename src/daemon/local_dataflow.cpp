#include "daemon/local_dataflow.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <variant>

#include "core/hlc.hpp"
#include "core/lifecycle.hpp"
#include "core/sys.hpp"
#include "daemon/node_command.hpp"
#include "daemon/node_logs.hpp"
#include "daemon/spawner.hpp"
#include "message/arrow_layout.hpp"
#include "message/metadata.hpp"
#include "message/node_config.hpp"

namespace dora::daemon {

namespace {

constexpr auto kDropReportInterval = std::chrono::seconds(1);
constexpr auto kFastReadyLook = std::chrono::milliseconds(10);
constexpr auto kFastReadyLookFor = std::chrono::seconds(3);

}  // namespace

LocalDataflow::LocalDataflow(EventLoop& loop, const Descriptor& descriptor,
                             LocalDataflowOptions options)
    : loop_(loop), descriptor_(descriptor), options_(std::move(options)) {}

Result<std::unique_ptr<LocalDataflow>> LocalDataflow::create(EventLoop& loop,
                                                             const Descriptor& descriptor,
                                                             LocalDataflowOptions options) {
    std::unique_ptr<LocalDataflow> flow(new LocalDataflow(loop, descriptor, std::move(options)));
    if (auto ok = flow->prepare(); !ok) {
        return fail(ok.error());
    }
    return flow;
}

Result<> LocalDataflow::prepare() {
    std::function<bool(const NodeDescriptor&)> is_local = options_.is_local;
    if (!is_local) {
        is_local = [](const NodeDescriptor&) { return true; };
    }
    auto plan = make_plan(descriptor_, options_.dataflow_id, is_local, message::kNetworkId,
                          options_.machine_id, options_.watchable);
    if (!plan) {
        return fail(plan.error());
    }
    plan_ = std::move(*plan);
    plan_.stream_end_signer = options_.stream_end_signer;
    if (!plan_.stream_end_signer) {
        auto signer = message::StreamEndSigner::generate();
        if (!signer) {
            return fail(signer.error());
        }
        plan_.stream_end_signer = std::make_shared<const message::StreamEndSigner>(*signer);
    }
    for (auto& stream : plan_.ingress) {
        auto key = options_.producer_stream_end_keys.find(stream.node);
        if (key == options_.producer_stream_end_keys.end()) {
            return fail(
                "node `{}` runs on another machine, whose key for the ends of its streams "
                "the coordinator did not send: run the same dora version on the "
                "coordinator and every daemon",
                stream.node);
        }
        auto verifier = message::StreamEndVerifier::from_public_key(key->second);
        if (!verifier) {
            return fail(verifier.error().context(fmt::format(
                "the key of node `{}`'s daemon for the ends of its streams", stream.node)));
        }
        stream.end_verifier = std::move(*verifier);
    }
    std::map<uint16_t, std::string> senders{{kDaemonSender, plan_.pool_prefix(kDaemonSender)}};
    for (size_t i = 0; i < plan_.nodes.size(); ++i) {
        const auto& p = plan_.nodes[i];
        senders.emplace(p.sender, plan_.pool_prefix(p.sender));
        std::vector<uint32_t> caps;
        for (const auto& input : p.inputs) {
            caps.push_back(input.queue_size);
        }
        auto region = shm::Region::create(p.region, caps);
        if (!region) {
            return fail(region.error().context(
                fmt::format("preparing the input queues of node {}", p.descriptor->id)));
        }
        for (uint32_t in = 0; in < p.inputs.size(); ++in) {
            region->ring(in).set_backpressure(p.descriptor->inputs[in].queue_policy ==
                                              QueuePolicy::kBackpressure);
        }
        regions_.push_back(std::move(*region));
        NodeState state;
        state.index = i;
        state.id = p.descriptor->id;
        state.working_dir = node_working_dir(descriptor_, *p.descriptor);
        state.reported_drops.assign(p.inputs.size(), 0);
        state.reported_waits.assign(p.inputs.size(), 0);
        nodes_.push_back(std::move(state));
    }
    if (!plan_.egress.empty()) {
        std::vector<uint32_t> caps;
        for (const auto& e : plan_.egress) {
            // A stream published only for inspection keeps its small depth: a watcher that
            // cannot keep up must not hold many of the producer's samples.
            caps.push_back(e.consumed_remotely ? std::max<uint32_t>(e.queue_size, 64)
                                               : e.queue_size);
        }
        auto egress =
            shm::Region::create(plan_.egress_region, caps, shm::kDefaultLeaseCapacity, true);
        if (!egress) {
            return fail(
                egress.error().context("preparing the queues to other machines and watchers"));
        }
        egress_ = std::move(*egress);
        for (uint32_t e = 0; e < plan_.egress.size(); ++e) {
            egress_.ring(e).set_unwatched(!plan_.egress[e].consumed_remotely);
            egress_.ring(e).set_backpressure(plan_.egress[e].backpressure);
        }
    }
    if (!plan_.ingress.empty()) {
        senders.emplace(kIngressSender, plan_.pool_prefix(kIngressSender));
    }
    auto config_dir = message::NodeConfigDir::create(
        options_.runtime_dir.empty() ? sys::runtime_dir() : options_.runtime_dir,
        plan_.prefix.substr(1) + ".config");
    if (!config_dir) {
        return fail(config_dir.error().context("preparing the nodes' configuration files"));
    }
    config_dir_ = std::move(*config_dir);
    daemon_pool_ = std::make_unique<shm::Pool>(plan_.pool_prefix(kDaemonSender), kDaemonSender, 0);
    cache_ = std::make_unique<shm::SegmentCache>(std::move(senders));
    return {};
}

LocalDataflow::~LocalDataflow() {
    // Processes first (each WatchedProcess kills and reaps its own), then the shared memory.
    for (auto& node : nodes_) {
        node.process.reset();
    }
    shm::remove_segments_with_prefix(plan_.prefix.substr(1) + ".");
}

const char* LocalDataflow::phase_name(NodePhase phase) {
    switch (phase) {
        case NodePhase::kPending:
            return "pending";
        case NodePhase::kWaiting:
            return "waiting";
        case NodePhase::kRunning:
            return "running";
        case NodePhase::kRestarting:
            return "restarting";
        case NodePhase::kExited:
            return "exited";
    }
    return "?";
}

void LocalDataflow::set_phase(NodeState& node, NodePhase to) {
    using P = NodePhase;
    static constexpr Transition<NodePhase> kTransitions[] = {
        {P::kPending, P::kRunning},     // spawned
        {P::kPending, P::kWaiting},     // dynamic: waiting for its process to join
        {P::kPending, P::kExited},      // the dataflow stopped before it started
        {P::kWaiting, P::kRunning},     // its process joined
        {P::kWaiting, P::kExited},      // stopped before it joined
        {P::kRunning, P::kExited},      // its exit is final
        {P::kRunning, P::kRestarting},  // restart_policy applies
        {P::kRestarting, P::kRunning},  // spawned again
        {P::kRestarting, P::kExited},   // stopped meanwhile, or the respawn failed
    };
    if (!transition_allowed<NodePhase>(kTransitions, node.phase, to)) {
        // A bug in this file, not an input error: say so loudly and keep the old state.
        note(node.id, fmt::format("internal error: node {} cannot go from {} to {}", node.id,
                                  phase_name(node.phase), phase_name(to)));
        return;
    }
    node.phase = to;
}

Result<> LocalDataflow::start() {
    started_ = true;
    for (auto& node : nodes_) {
        if (auto ok = spawn(node); !ok) {
            const size_t started = running_processes();
            for (auto& n : nodes_) {
                if (n.phase == NodePhase::kPending) {
                    set_phase(n, NodePhase::kExited);  // never started: nothing to wait for
                }
            }
            stop(std::chrono::seconds(0));
            if (started == 0) {
                return fail(ok.error());
            }
            return fail("{} (the {} node(s) started before it were stopped)", ok.error().message(),
                        started);
        }
    }
    for (const auto& [interval, receivers] : plan_.timers) {
        // The first tick comes at once, then one every interval, as in dora.
        timers_.push_back(loop_.add_periodic(SteadyClock::duration::zero(), interval,
                                             [this, i = interval] { on_timer(i); }));
    }
    start_input_timeouts();
    drop_timer_ = loop_.add_periodic(kDropReportInterval, [this] {
        for (auto& node : nodes_) {
            report_drops(node);
        }
        report_egress_drops();
        check_ready();  // nodes slower to join than the fast look below
    });
    check_finished();  // a dataflow with no local nodes is finished at once
    return {};
}

message::NodeConfig LocalDataflow::config_for(const NodeState& node) const {
    auto config = plan_.node_config(node.index, options_.machine_id, options_.spin_ns,
                                    options_.max_remote_message_size);
    config.generation = node.generation;
    config.descriptor_path = descriptor_.source_file.string();
    return config;
}

Result<> LocalDataflow::spawn(NodeState& node) {
    const auto& planned = plan_.nodes[node.index];
    const NodeDescriptor& desc = *planned.descriptor;
    if (desc.kind == NodeKind::kDynamic) {
        if (!options_.dynamic_nodes) {
            return fail(
                "node {} is dynamic (`path: dynamic`): dynamic nodes join a daemon; run the "
                "dataflow with `dora up` and `dora start` instead of `dora run`",
                desc.id);
        }
        node.dynamic = true;
        set_phase(node, NodePhase::kWaiting);
        std::string hint = options_.dynamic_join_hint;
        if (auto at = hint.find("<id>"); at != std::string::npos) {
            hint.replace(at, 4, node.id);
        }
        note(node.id, fmt::format("node {} is dynamic: waiting for its process to join ({})",
                                  node.id, hint));
        if (options_.on_dynamic_status) {
            options_.on_dynamic_status(node.id, "waiting");
        }
        return {};
    }
    auto env = current_environment();
    for (const auto& [k, v] : options_.extra_env) {
        env[k] = v;
    }
    // The configuration goes in a file, only its handle in the environment: a node with many
    // inputs would otherwise pass exec's limit for one environment string (E2BIG).
    auto handle = config_dir_.write(fmt::format("node-{}", node.index), config_for(node));
    if (!handle) {
        return fail(handle.error().context(fmt::format("node {}", desc.id)));
    }
    env[message::kNodeConfigEnv] = std::move(*handle);
    env["DORA_NODE_ID"] = desc.id;
    env["DORA_DATAFLOW_ID"] = options_.dataflow_id;
    auto spec = node_spawn_spec(descriptor_, desc, std::move(env));
    if (!spec) {
        return fail(spec.error());
    }
    auto log = LogFile::open(node.working_dir / "out" / options_.dataflow_id /
                             fmt::format("log_{}.txt", desc.id));
    if (!log) {
        return fail(log.error().context(fmt::format("node {}", desc.id)));
    }
    node.log = std::move(*log);
    NodeState* n = &node;
    auto process = WatchedProcess::spawn(
        loop_, *spec,
        [this, n](std::string_view stream, std::string_view line) { on_line(*n, stream, line); },
        [this, n](int status) { on_exit(*n, status); });
    if (!process) {
        return fail(process.error().context(fmt::format("spawning node {}", desc.id)));
    }
    node.process = std::move(*process);
    set_phase(node, NodePhase::kRunning);
    node.ready_reported = false;
    watch_for_ready();
    return {};
}

void LocalDataflow::watch_for_ready() {
    // Look for the node joining every few ms for its first seconds (most join within
    // milliseconds), then once a second with the drop reports.
    if (!ready_timer_.active()) {
        const auto until = loop_.now() + kFastReadyLookFor;
        ready_timer_ = loop_.add_periodic(kFastReadyLook, [this, until] {
            if (!check_ready() || loop_.now() > until) {
                ready_timer_.cancel();
            }
        });
    }
}

bool LocalDataflow::has_node(const std::string& node_id) const {
    return std::any_of(nodes_.begin(), nodes_.end(),
                       [&](const NodeState& node) { return node.id == node_id; });
}

std::vector<std::string> LocalDataflow::waiting_dynamic_nodes() const {
    std::vector<std::string> ids;
    for (const auto& node : nodes_) {
        if (node.phase == NodePhase::kWaiting) {
            ids.push_back(node.id);
        }
    }
    return ids;
}

size_t LocalDataflow::running_processes() const {
    return static_cast<size_t>(std::count_if(nodes_.begin(), nodes_.end(), [](const NodeState& n) {
        return n.process != nullptr && n.phase == NodePhase::kRunning;
    }));
}

Result<message::NodeConfig> LocalDataflow::join_dynamic(const std::string& node_id) {
    for (auto& node : nodes_) {
        if (node.id != node_id) {
            continue;
        }
        if (!node.dynamic) {
            return fail(
                "node `{}` of dataflow {} is not dynamic: the daemon spawns it (only nodes with "
                "`path: dynamic` are started by hand)",
                node_id, options_.dataflow_id);
        }
        switch (node.phase) {
            case NodePhase::kWaiting:
                break;
            case NodePhase::kExited:
                return fail(
                    "dynamic node `{}` of dataflow {} has already run and left; a dynamic node "
                    "joins once per run (start the dataflow again)",
                    node_id, options_.dataflow_id);
            default:
                return fail(
                    "dynamic node `{}` of dataflow {} is already running (started twice?); stop "
                    "the other process first",
                    node_id, options_.dataflow_id);
        }
        if (stopping_) {
            return fail("dataflow {} is stopping; dynamic node `{}` cannot join it now",
                        options_.dataflow_id, node_id);
        }
        auto config = config_for(node);
        set_phase(node, NodePhase::kRunning);
        node.ready_reported = false;
        note(node.id, fmt::format("dynamic node {} joined", node.id));
        if (options_.on_dynamic_status) {
            options_.on_dynamic_status(node.id, "joined");
        }
        watch_for_ready();
        return config;
    }
    return fail("dataflow {} has no node `{}` on this machine", options_.dataflow_id, node_id);
}

void LocalDataflow::dynamic_left(const std::string& node_id) {
    for (auto& node : nodes_) {
        if (node.id != node_id || !node.dynamic || node.phase != NodePhase::kRunning) {
            continue;
        }
        check_ready();  // a node that joined and left between two looks still joined
        reclaim_inputs_of(node);
        report_drops(node);
        NodeResult result;
        result.node_id = node.id;
        result.success = !node.killed_after_grace;
        result.status = node.killed_after_grace
                            ? "did not stop within the grace duration (a dynamic node is not "
                              "killed by dora; it was left running)"
                            : "left (its process disconnected)";
        if (options_.on_dynamic_status) {
            options_.on_dynamic_status(node.id, "left");
        }
        finish_node(node, std::move(result));
        return;
    }
}

void LocalDataflow::on_line(NodeState& node, std::string_view stream, std::string_view line) {
    const NodeDescriptor& desc = *plan_.nodes[node.index].descriptor;
    if (stream == "stdout" && desc.send_stdout_as) {
        send_text_as(node, *desc.send_stdout_as, line);  // every raw line, as in dora
    }
    if (!route_log_line(node, stream, line)) {
        return;
    }
    node.log.write_line(line);
    if (stream == "stderr") {
        node.stderr_tail.emplace_back(line);
        if (node.stderr_tail.size() > kStderrTailLines) {
            node.stderr_tail.pop_front();
        }
    }
    if (options_.on_log) {
        options_.on_log(node.id, stream, line);
    }
}

void LocalDataflow::note(const std::string& node, std::string_view text) {
    if (options_.on_log) {
        options_.on_log(node, "dora", text);
    }
}

bool LocalDataflow::route_log_line(const NodeState& node, std::string_view stream,
                                   std::string_view line) {
    const NodeDescriptor& desc = *plan_.nodes[node.index].descriptor;
    if (!desc.min_log_level && !desc.send_logs_as) {
        return true;
    }
    const LogEntry entry = classify_log_line(line);
    // stderr is kept whatever its level: it carries crash reports (see README).
    if (desc.min_log_level && stream != "stderr" &&
        !log_level_passes(entry.level, *desc.min_log_level)) {
        return false;
    }
    if (desc.send_logs_as) {
        send_text_as(node, *desc.send_logs_as,
                     log_entry_json(entry, {options_.dataflow_id, node.id, options_.machine_id}));
    }
    return true;
}

void LocalDataflow::send_text_as(const NodeState& node, const std::string& output,
                                 std::string_view line) {
    const auto& planned = plan_.nodes[node.index];
    // Local consumers, and the egress ring when nodes on other machines consume it too.
    static const std::vector<RingRef> kNone;
    auto local = planned.outputs.find(output);
    const std::vector<RingRef>& receivers = local == planned.outputs.end() ? kNone : local->second;
    std::vector<uint32_t> egress;
    for (uint32_t e = 0; e < plan_.egress.size(); ++e) {
        if (plan_.egress[e].node == node.index && plan_.egress[e].output == output) {
            egress.push_back(e);
        }
    }
    const size_t count = receivers.size() + egress.size();
    if (count == 0) {
        return;
    }
    const std::string_view strings[] = {line};
    auto layout = message::utf8_layout(strings);
    message::Metadata metadata;
    metadata.timestamp = clock_.now();
    metadata.type_info = layout.type_info;
    std::string meta = message::encode(metadata);
    auto sample = daemon_pool_->allocate(layout.total_size, meta.size());
    if (!sample) {
        note(node.id, sample.error().message());
        return;
    }
    message::pack_utf8(strings, layout, sample->data().data());
    auto entry = daemon_pool_->publish(std::move(*sample), std::as_bytes(std::span(meta)),
                                       static_cast<uint32_t>(count), shm::send_time_ns());
    if (!entry) {
        note(node.id, entry.error().message());
        return;
    }
    for (const RingRef& r : receivers) {
        if (auto dropped = regions_[r.node].ring(r.ring).push(*entry)) {
            daemon_pool_->release(*dropped);
        }
        regions_[r.node].signal().notify();
    }
    for (uint32_t e : egress) {
        if (auto dropped = egress_.ring(e).push(*entry)) {
            daemon_pool_->release(*dropped);
        }
        egress_.signal().notify();
    }
}

void LocalDataflow::start_input_timeouts() {
    std::vector<WatchedInput> watched;
    for (size_t n = 0; n < plan_.nodes.size(); ++n) {
        const auto& inputs = plan_.nodes[n].descriptor->inputs;
        for (uint32_t i = 0; i < inputs.size(); ++i) {
            if (inputs[i].input_timeout) {
                watched.push_back({n, i,
                                   std::chrono::duration_cast<std::chrono::nanoseconds>(
                                       std::chrono::duration<double>(*inputs[i].input_timeout))});
            }
        }
    }
    if (watched.empty()) {
        return;
    }
    input_timeouts_ = std::make_unique<InputTimeouts>(
        loop_, [this](const WatchedInput& w) { return regions_[w.node].ring(w.ring); },
        [this](const WatchedInput& w) { on_input_timeout(w); },
        [this](const WatchedInput& w) {
            return !stopping_ && nodes_[w.node].phase != NodePhase::kExited;
        });
    input_timeouts_->start(std::move(watched));
}

void LocalDataflow::on_input_timeout(const WatchedInput& input) {
    regions_[input.node].signal().notify();  // the node reports INPUT_CLOSED
    const Input& declared = plan_.nodes[input.node].descriptor->inputs[input.ring];
    note(nodes_[input.node].id,
         fmt::format("input {} timed out: no message from {} for {}s (input_timeout); the node "
                     "gets INPUT_CLOSED for it, and INPUT_RECOVERED if messages come again",
                     declared.id, format_input_source(declared.source), *declared.input_timeout));
}

void LocalDataflow::on_timer(std::chrono::nanoseconds interval) {
    auto it = plan_.timers.find(interval);
    if (it == plan_.timers.end() || stopping_) {
        return;
    }
    shm::Entry tick;
    tick.kind = shm::EntryKind::kTimer;
    tick.sender = kDaemonSender;
    tick.time_ns = shm::send_time_ns();
    for (const RingRef& r : it->second) {
        if (nodes_[r.node].phase == NodePhase::kExited) {
            continue;
        }
        (void)regions_[r.node].ring(r.ring).push(tick);  // a dropped tick holds nothing
        regions_[r.node].signal().notify();
    }
}

void LocalDataflow::close_outputs_of(const NodeState& node) {
    for (const auto& [output, receivers] : plan_.nodes[node.index].outputs) {
        for (const RingRef& r : receivers) {
            regions_[r.node].ring(r.ring).close();
            regions_[r.node].signal().notify();
        }
    }
    for (uint32_t e = 0; e < plan_.egress.size(); ++e) {
        if (plan_.egress[e].node == node.index) {
            egress_.ring(e).close();
            egress_.signal().notify();
        }
    }
    // stdout-as-output was produced by the daemon on the node's behalf: it ends with the node too.
}

void LocalDataflow::reclaim_inputs_of(const NodeState& node) {
    shm::Region& region = regions_[node.index];
    for (uint32_t i = 0; i < region.input_count(); ++i) {
        shm::Ring ring = region.ring(i);
        ring.mark_consumer_gone();
        while (auto entry = ring.pop()) {
            cache_->release(*entry);
        }
    }
    auto leases = region.leases();
    leases.for_each([&](uint64_t packed) { cache_->release(shm::Entry::unpack(packed, 0)); });
    leases.clear();
}

void LocalDataflow::report_egress_drops() {
    reported_egress_drops_.resize(plan_.egress.size(), 0);
    for (uint32_t e = 0; e < plan_.egress.size(); ++e) {
        const uint64_t dropped = egress_.ring(e).dropped();
        if (dropped <= reported_egress_drops_[e]) {
            continue;
        }
        reported_egress_drops_[e] = dropped;
        const EgressStream& stream = plan_.egress[e];
        const std::string& node = nodes_[stream.node].id;
        // A stream is bound for other machines, or published only for watchers.
        if (!stream.consumed_remotely) {
            note(node, fmt::format("output {} of node {}: {} message(s) not shown to watchers so "
                                   "far: their queue ({} deep) was full, a watcher is slower "
                                   "than this producer (the dataflow's consumers are not "
                                   "affected, and it counts no drop)",
                                   stream.output, node, dropped, egress_.ring(e).capacity()));
            continue;
        }
        note(node, fmt::format("output {} of node {}: {} message(s) dropped at egress so far: its "
                               "queue to the network ({} deep) was full; the link or the "
                               "consumers on other machines are slower than this producer: slow "
                               "it down or send less",
                               stream.output, node, dropped, egress_.ring(e).capacity()));
    }
}

bool LocalDataflow::check_ready() {
    bool waiting = false;
    for (auto& node : nodes_) {
        if (node.phase != NodePhase::kRunning || node.ready_reported) {
            continue;
        }
        if (!regions_[node.index].attached()) {
            waiting = true;
            continue;
        }
        node.ready_reported = true;
        if (options_.on_node_ready) {
            options_.on_node_ready(node.id);
        }
    }
    return waiting;
}

void LocalDataflow::report_drops(NodeState& node) {
    const auto& planned = plan_.nodes[node.index];
    for (uint32_t i = 0; i < planned.inputs.size(); ++i) {
        uint64_t dropped = regions_[node.index].ring(i).dropped();
        if (dropped > node.reported_drops[i]) {
            note(node.id, fmt::format("input {} dropped {} message(s) so far: its queue "
                                      "(queue_size {}) was full; raise queue_size or consume "
                                      "faster",
                                      planned.inputs[i].id, dropped, planned.inputs[i].queue_size));
            node.reported_drops[i] = dropped;
        }
        shm::Ring ring = regions_[node.index].ring(i);
        if (const uint64_t waits = ring.waits(); waits > node.reported_waits[i]) {
            note(node.id, fmt::format("input {} (queue_policy: backpressure): its sender waited "
                                      "{} time(s) for room in the queue so far ({} ms in all); "
                                      "the sender runs at this node's pace",
                                      planned.inputs[i].id, waits, ring.waited_ns() / 1'000'000));
            node.reported_waits[i] = waits;
        }
    }
    // Outputs read with backpressure on other machines: the node waits on its egress ring.
    reported_egress_waits_.resize(plan_.egress.size(), 0);
    for (uint32_t e = 0; e < plan_.egress.size(); ++e) {
        const EgressStream& stream = plan_.egress[e];
        if (stream.node != node.index || !stream.backpressure) {
            continue;
        }
        shm::Ring ring = egress_.ring(e);
        if (const uint64_t waits = ring.waits(); waits > reported_egress_waits_[e]) {
            note(node.id, fmt::format("output {} (queue_policy: backpressure on another machine): "
                                      "this node waited {} time(s) for room so far ({} ms in "
                                      "all); it runs at the pace of its receivers there",
                                      stream.output, waits, ring.waited_ns() / 1'000'000));
            reported_egress_waits_[e] = waits;
        }
    }
}

std::map<std::string, uint64_t> LocalDataflow::dropped_inputs() const {
    std::map<std::string, uint64_t> result;
    for (size_t n = 0; n < plan_.nodes.size(); ++n) {
        for (uint32_t i = 0; i < plan_.nodes[n].inputs.size(); ++i) {
            result[plan_.nodes[n].descriptor->id + "/" + plan_.nodes[n].inputs[i].id] =
                regions_[n].ring(i).dropped();
        }
    }
    return result;
}

std::vector<message::DropCount> LocalDataflow::drops() const {
    std::vector<message::DropCount> out;
    for (size_t n = 0; n < plan_.nodes.size(); ++n) {
        for (uint32_t i = 0; i < plan_.nodes[n].inputs.size(); ++i) {
            message::add_drop(
                out, {message::kDropInputQueue, options_.machine_id, plan_.nodes[n].descriptor->id,
                      plan_.nodes[n].inputs[i].id, regions_[n].ring(i).dropped()});
        }
    }
    for (uint32_t e = 0; egress_.valid() && e < plan_.egress.size(); ++e) {
        const EgressStream& stream = plan_.egress[e];
        if (!stream.consumed_remotely) {
            continue;  // what a watcher missed is no message of the dataflow lost (logged)
        }
        message::add_drop(out, {message::kDropEgress, options_.machine_id,
                                plan_.nodes[stream.node].descriptor->id, stream.output,
                                egress_.ring(e).dropped()});
    }
    return out;
}

void LocalDataflow::on_exit(NodeState& node, int status) {
    // The WatchedProcess has delivered every line the node wrote; this runs as its last act, so
    // it may be destroyed here (a restart replaces it).
    auto finished_process = std::move(node.process);
    check_ready();  // a node that joined and exited between two looks still joined
    reclaim_inputs_of(node);
    report_drops(node);
    const bool success = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    node.last_status = status;
    node.log.close();
    if (should_restart(node, success)) {
        set_phase(node, NodePhase::kRestarting);
        restart(node);
        return;
    }
    NodeResult result;
    result.node_id = node.id;
    result.status = describe_wait_status(status);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    result.success = success;
    result.killed_after_grace = node.killed_after_grace;
    result.stderr_tail.assign(node.stderr_tail.begin(), node.stderr_tail.end());
    if (!result.success) {
        note(node.id, fmt::format("node {} {}{}", node.id, result.status,
                                  node.killed_after_grace
                                      ? " after it did not stop within the grace duration"
                                      : ""));
    }
    finish_node(node, std::move(result));
}

bool LocalDataflow::should_restart(const NodeState& node, bool success) const {
    const NodeDescriptor& desc = *plan_.nodes[node.index].descriptor;
    if (stopping_ || node.killed_after_grace) {
        return false;
    }
    bool applies = desc.restart_policy == RestartPolicy::kAlways ||
                   (desc.restart_policy == RestartPolicy::kOnFailure && !success);
    if (!applies) {
        return false;
    }
    // max_restarts 0 means unlimited (dora 1.x); with restart_window, only the restarts of the
    // current window count.
    uint32_t counted = node.restarts;
    if (desc.restart_window) {
        const auto window = std::chrono::duration_cast<SteadyClock::duration>(
            std::chrono::duration<double>(*desc.restart_window));
        counted = loop_.now() - node.window_start > window ? 0 : node.restarts_in_window;
    }
    return !desc.max_restarts || *desc.max_restarts == 0 || counted < *desc.max_restarts;
}

SteadyClock::duration LocalDataflow::restart_delay(const NodeState& node) const {
    const NodeDescriptor& desc = *plan_.nodes[node.index].descriptor;
    const uint32_t doublings = std::min<uint32_t>(node.restarts_in_window - 1, 30);
    if (desc.restart_delay) {
        // dora 1.x: restart_delay, doubling at each restart, capped by max_restart_delay.
        double seconds = *desc.restart_delay * static_cast<double>(uint64_t{1} << doublings);
        if (desc.max_restart_delay) {
            seconds = std::min(seconds, *desc.max_restart_delay);
        }
        return std::chrono::duration_cast<SteadyClock::duration>(
            std::chrono::duration<double>(seconds));
    }
    // Back off 100 ms, 200 ms, ... up to 5 s (or max_restart_delay) so that a node that always
    // fails does not spin.
    auto delay = std::chrono::milliseconds(
        std::min<int64_t>(5000, int64_t{100} << std::min<uint32_t>(doublings, 6)));
    if (desc.max_restart_delay) {
        delay = std::min(delay, std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::duration<double>(*desc.max_restart_delay)));
    }
    return delay;
}

void LocalDataflow::restart(NodeState& node) {
    const NodeDescriptor& desc = *plan_.nodes[node.index].descriptor;
    if (desc.restart_window && loop_.now() - node.window_start >
                                   std::chrono::duration_cast<SteadyClock::duration>(
                                       std::chrono::duration<double>(*desc.restart_window))) {
        node.window_start = loop_.now();  // a new window: earlier restarts no longer count
        node.restarts_in_window = 0;
    }
    ++node.restarts;
    ++node.restarts_in_window;
    node.generation = static_cast<uint16_t>((node.generation + 1) & 0xfff);
    const auto delay = restart_delay(node);
    const auto& max = desc.max_restarts;
    note(node.id, fmt::format("node {} {}; restarting it in {} ms (restart {}{}{})", node.id,
                              describe_wait_status(node.last_status),
                              std::chrono::duration_cast<std::chrono::milliseconds>(delay).count(),
                              node.restarts_in_window,
                              max && *max != 0 ? fmt::format(" of {}", *max) : std::string(),
                              desc.restart_window ? fmt::format(" in {} s", *desc.restart_window)
                                                  : std::string()));
    shm::Region& region = regions_[node.index];
    for (uint32_t i = 0; i < region.input_count(); ++i) {
        region.ring(i).reset_consumer();
    }
    region.clear_attached();  // the next incarnation says when it has joined
    NodeState* n = &node;
    auto last_result = [n](std::string status) {
        return NodeResult{n->id, false, std::move(status), false, {}};
    };
    node.restart_timer = loop_.add_timer(delay, [this, n, last_result] {
        if (stopping_) {
            NodeResult result = last_result(describe_wait_status(n->last_status));
            result.success = WIFEXITED(n->last_status) && WEXITSTATUS(n->last_status) == 0;
            result.exit_code = WIFEXITED(n->last_status) ? WEXITSTATUS(n->last_status) : -1;
            finish_node(*n, std::move(result));
            return;
        }
        if (auto ok = spawn(*n); !ok) {
            note(n->id, ok.error().message());
            finish_node(*n, last_result("could not be restarted: " + ok.error().message()));
        }
    });
}

void LocalDataflow::finish_node(NodeState& node, NodeResult result) {
    set_phase(node, NodePhase::kExited);
    node.restart_timer.cancel();
    close_outputs_of(node);
    results_.push_back(std::move(result));
    check_finished();
}

void LocalDataflow::check_finished() {
    if (finished_ || !started_) {
        return;
    }
    for (const auto& node : nodes_) {
        if (node.phase != NodePhase::kExited) {
            return;
        }
    }
    finished_ = true;
    report_egress_drops();  // the last count, before the result goes out
    timers_.clear();
    grace_timer_.cancel();
    drop_timer_.cancel();
    if (options_.on_finished) {
        options_.on_finished();
    }
}

void LocalDataflow::stop(std::optional<std::chrono::nanoseconds> grace) {
    if (!stopping_) {
        stopping_ = true;
        timers_.clear();
        for (auto& node : nodes_) {
            if (node.phase == NodePhase::kWaiting) {
                NodeResult result;  // a dynamic node that never joined: nothing ran, nothing failed
                result.node_id = node.id;
                result.success = true;
                result.status = "never joined (dynamic node)";
                finish_node(node, std::move(result));
            } else if (node.phase != NodePhase::kExited) {
                regions_[node.index].request_stop(shm::StopReason::kStopRequested);
            }
        }
    }
    grace_timer_ = loop_.add_timer(grace.value_or(options_.grace), [this] {
        for (auto& node : nodes_) {
            if (node.phase != NodePhase::kRunning) {
                continue;
            }
            node.killed_after_grace = true;
            if (node.dynamic) {
                note(node.id, fmt::format("dynamic node {} did not stop within the grace duration; "
                                          "dora does not kill processes it did not start",
                                          node.id));
                dynamic_left(node.id);
            } else {
                node.process->signal_group(SIGKILL);
            }
        }
    });
    check_finished();
}

void LocalDataflow::kill_all() {
    for (auto& node : nodes_) {
        if (node.phase == NodePhase::kRunning && node.process) {
            node.process->signal_group(SIGKILL);
        }
    }
}

}  // namespace dora::daemon
