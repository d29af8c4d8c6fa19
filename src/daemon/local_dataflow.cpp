#include "daemon/local_dataflow.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <variant>

#include "core/hlc.hpp"
#include "daemon/node_command.hpp"
#include "daemon/spawner.hpp"
#include "message/arrow_layout.hpp"
#include "message/metadata.hpp"
#include "message/node_config.hpp"

namespace dora::daemon {

namespace {

constexpr auto kDropReportInterval = std::chrono::seconds(1);

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
    auto plan =
        make_plan(descriptor_, options_.dataflow_id, is_local, "default", options_.machine_id);
    if (!plan) {
        return fail(plan.error());
    }
    plan_ = std::move(*plan);
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
        regions_.push_back(std::move(*region));
        NodeState state;
        state.index = i;
        state.id = p.descriptor->id;
        state.working_dir = node_working_dir(descriptor_, *p.descriptor);
        state.reported_drops.assign(p.inputs.size(), 0);
        nodes_.push_back(std::move(state));
    }
    if (!plan_.egress.empty()) {
        std::vector<uint32_t> caps;
        for (const auto& e : plan_.egress) {
            caps.push_back(std::max<uint32_t>(e.queue_size, 64));
        }
        auto egress = shm::Region::create(plan_.egress_region, caps);
        if (!egress) {
            return fail(egress.error().context("preparing the queues to other machines"));
        }
        egress_ = std::move(*egress);
    }
    if (!plan_.ingress.empty()) {
        senders.emplace(kIngressSender, plan_.pool_prefix(kIngressSender));
    }
    daemon_pool_ = std::make_unique<shm::Pool>(plan_.pool_prefix(kDaemonSender), kDaemonSender, 0);
    cache_ = std::make_unique<shm::SegmentCache>(std::move(senders));
    return {};
}

LocalDataflow::~LocalDataflow() {
    kill_all();
    for (auto& node : nodes_) {
        if (node.pid > 0 && node.running) {
            // Reap synchronously: the process was just sent SIGKILL.
            int status = 0;
            ::waitpid(node.pid, &status, 0);
        }
        close_stream(node.out);
        close_stream(node.err);
        if (node.log != nullptr) {
            std::fclose(node.log);
            node.log = nullptr;
        }
    }
    for (auto id : timers_) {
        loop_.cancel_timer(id);
    }
    for (auto& node : nodes_) {
        if (node.restart_timer) {
            loop_.cancel_timer(*node.restart_timer);
        }
    }
    if (grace_timer_) {
        loop_.cancel_timer(*grace_timer_);
    }
    if (drop_timer_) {
        loop_.cancel_timer(*drop_timer_);
    }
    shm::remove_segments_with_prefix(plan_.prefix.substr(1) + ".");
}

Result<> LocalDataflow::start() {
    started_ = true;
    for (auto& node : nodes_) {
        if (auto ok = spawn(node); !ok) {
            for (auto& n : nodes_) {
                if (!n.running) {
                    n.exited = true;  // never started: nothing to wait for
                }
            }
            stop(std::chrono::seconds(0));
            return fail(ok.error());
        }
    }
    for (const auto& [interval, receivers] : plan_.timers) {
        auto id = loop_.add_timer(interval, interval, [this, i = interval] { on_timer(i); });
        if (!id) {
            stop(std::chrono::seconds(0));
            return fail(id.error());
        }
        timers_.push_back(*id);
    }
    auto id = loop_.add_timer(kDropReportInterval, kDropReportInterval, [this] {
        for (auto& node : nodes_) {
            report_drops(node);
        }
    });
    if (id) {
        drop_timer_ = *id;
    }
    check_finished();  // a dataflow with no local nodes is finished at once
    return {};
}

Result<> LocalDataflow::spawn(NodeState& node) {
    const auto& planned = plan_.nodes[node.index];
    const NodeDescriptor& desc = *planned.descriptor;
    if (desc.kind == NodeKind::kDynamic) {
        return fail(
            "node {} is dynamic; dynamic nodes are not supported by `dora run` yet: give "
            "it a path to run",
            desc.id);
    }
    auto env = current_environment();
    for (const auto& [k, v] : options_.extra_env) {
        env[k] = v;
    }
    auto config = plan_.node_config(node.index, options_.machine_id, options_.spin_ns);
    config.generation = node.generation;
    config.descriptor_path = descriptor_.source_file.string();
    env[message::kNodeConfigEnv] = message::to_json(config);
    env["DORA_NODE_ID"] = desc.id;
    env["DORA_DATAFLOW_ID"] = options_.dataflow_id;
    auto spec = node_spawn_spec(descriptor_, desc, std::move(env));
    if (!spec) {
        return fail(spec.error());
    }
    std::error_code ec;
    auto log_dir = node.working_dir / "out" / options_.dataflow_id;
    std::filesystem::create_directories(log_dir, ec);
    if (ec) {
        return fail("node {}: cannot create its log directory {}: {}", desc.id, log_dir.string(),
                    ec.message());
    }
    auto log_path = log_dir / fmt::format("log_{}.txt", desc.id);
    node.log = std::fopen(log_path.c_str(), "a");
    if (node.log == nullptr) {
        return fail("node {}: cannot open its log file {}: {}", desc.id, log_path.string(),
                    std::strerror(errno));
    }
    auto process = spawn_process(*spec);
    if (!process) {
        return fail(process.error().context(fmt::format("spawning node {}", desc.id)));
    }
    node.pid = process->pid;
    node.running = true;
    node.out.fd = std::move(process->stdout_fd);
    node.err.fd = std::move(process->stderr_fd);
    node.out.open = node.err.open = true;
    NodeState* n = &node;
    auto watch = [this, n](Stream& s, std::string_view name) -> Result<> {
        return loop_.add_fd(s.fd.get(), EPOLLIN,
                            [this, n, &s, name](uint32_t) { on_readable(*n, s, name); });
    };
    if (auto ok = watch(node.out, "stdout"); !ok) {
        return fail(ok.error());
    }
    if (auto ok = watch(node.err, "stderr"); !ok) {
        return fail(ok.error());
    }
    loop_.watch_child(node.pid, [this, n](int status) { on_exit(*n, status); });
    return {};
}

void LocalDataflow::close_stream(Stream& stream) {
    if (stream.open) {
        loop_.remove_fd(stream.fd.get());
        stream.fd.reset();
        stream.open = false;
    }
}

void LocalDataflow::on_readable(NodeState& node, Stream& stream, std::string_view name) {
    char buf[65536];
    for (int rounds = 0; rounds < 16; ++rounds) {  // bounded: other events get their turn
        ssize_t n = ::read(stream.fd.get(), buf, sizeof buf);
        if (n > 0) {
            stream.lines.feed(std::string_view(buf, static_cast<size_t>(n)),
                              [&](std::string_view line) { on_line(node, name, line); });
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        stream.lines.flush([&](std::string_view line) { on_line(node, name, line); });
        close_stream(stream);
        check_finished();
        return;
    }
}

void LocalDataflow::on_line(NodeState& node, std::string_view stream, std::string_view line) {
    if (node.log != nullptr) {
        fmt::print(node.log, "{}: {}\n", stream, line);
        std::fflush(node.log);
    }
    if (stream == "stderr") {
        node.stderr_tail.emplace_back(line);
        if (node.stderr_tail.size() > kStderrTailLines) {
            node.stderr_tail.pop_front();
        }
    } else if (stream == "stdout") {
        send_stdout_line(node, line);
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

void LocalDataflow::send_stdout_line(const NodeState& node, std::string_view line) {
    const auto& planned = plan_.nodes[node.index];
    const auto& output = planned.descriptor->send_stdout_as;
    if (!output) {
        return;
    }
    auto it = planned.outputs.find(*output);
    if (it == planned.outputs.end() || it->second.empty()) {
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
    auto entry =
        daemon_pool_->publish(std::move(*sample), std::as_bytes(std::span(meta)),
                              static_cast<uint32_t>(it->second.size()), shm::send_time_ns());
    if (!entry) {
        note(node.id, entry.error().message());
        return;
    }
    for (const RingRef& r : it->second) {
        if (auto dropped = regions_[r.node].ring(r.ring).push(*entry)) {
            daemon_pool_->release(*dropped);
        }
        regions_[r.node].signal().notify();
    }
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
        if (nodes_[r.node].exited) {
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

void LocalDataflow::on_exit(NodeState& node, int status) {
    node.running = false;
    // Output still in the pipe belongs to this node: read what is there now. (`exited` is set
    // only once we know the node is not restarted, so nothing here sees the dataflow finished.)
    on_readable(node, node.out, "stdout");
    on_readable(node, node.err, "stderr");
    reclaim_inputs_of(node);
    report_drops(node);
    const bool success = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    node.last_status = status;
    if (should_restart(node, success)) {
        close_stream(node.out);
        close_stream(node.err);
        if (node.log != nullptr) {
            std::fclose(node.log);
            node.log = nullptr;
        }
        restart(node);
        return;
    }
    node.exited = true;
    close_outputs_of(node);
    NodeResult result;
    result.node_id = node.id;
    result.status = describe_wait_status(status);
    result.success = success;
    result.killed_after_grace = node.killed_after_grace;
    result.stderr_tail.assign(node.stderr_tail.begin(), node.stderr_tail.end());
    if (!result.success) {
        note(node.id, fmt::format("node {} {}{}", node.id, result.status,
                                  node.killed_after_grace
                                      ? " after it did not stop within the grace duration"
                                      : ""));
    }
    results_.push_back(std::move(result));
    // Pipes may stay open in grandchildren: do not wait for their EOF.
    close_stream(node.out);
    close_stream(node.err);
    if (node.log != nullptr) {
        std::fclose(node.log);
        node.log = nullptr;
    }
    check_finished();
}

bool LocalDataflow::should_restart(const NodeState& node, bool success) const {
    const NodeDescriptor& desc = *plan_.nodes[node.index].descriptor;
    if (stopping_ || node.killed_after_grace) {
        return false;
    }
    bool applies = desc.restart_policy == RestartPolicy::kAlways ||
                   (desc.restart_policy == RestartPolicy::kOnFailure && !success);
    return applies && (!desc.max_restarts || node.restarts < *desc.max_restarts);
}

void LocalDataflow::restart(NodeState& node) {
    ++node.restarts;
    node.generation = static_cast<uint16_t>((node.generation + 1) & 0xfff);
    // Back off 100 ms, 200 ms, ... up to 5 s so a node that always fails does not spin.
    auto delay = std::chrono::milliseconds(
        std::min<int64_t>(5000, int64_t{100} << std::min<uint32_t>(node.restarts - 1, 6)));
    const auto& max = plan_.nodes[node.index].descriptor->max_restarts;
    note(node.id, fmt::format("node {} {}; restarting it in {} ms (restart {}{})", node.id,
                              describe_wait_status(node.last_status), delay.count(), node.restarts,
                              max ? fmt::format(" of {}", *max) : std::string()));
    shm::Region& region = regions_[node.index];
    for (uint32_t i = 0; i < region.input_count(); ++i) {
        region.ring(i).reset_consumer();
    }
    node.exited = false;
    node.running = false;
    NodeState* n = &node;
    auto last_result = [n](std::string status) {
        return NodeResult{n->id, false, std::move(status), false, {}};
    };
    auto id = loop_.add_timer(delay, std::chrono::nanoseconds(0), [this, n, last_result] {
        n->restart_timer.reset();
        if (stopping_) {
            NodeResult result = last_result(describe_wait_status(n->last_status));
            result.success = WIFEXITED(n->last_status) && WEXITSTATUS(n->last_status) == 0;
            finish_node(*n, std::move(result));
            return;
        }
        if (auto ok = spawn(*n); !ok) {
            note(n->id, ok.error().message());
            finish_node(*n, last_result("could not be restarted: " + ok.error().message()));
        }
    });
    if (!id) {
        finish_node(node, last_result("could not be restarted: " + id.error().message()));
        return;
    }
    node.restart_timer = *id;
}

void LocalDataflow::finish_node(NodeState& node, NodeResult result) {
    node.exited = true;
    node.running = false;
    close_outputs_of(node);
    results_.push_back(std::move(result));
    check_finished();
}

void LocalDataflow::check_finished() {
    if (finished_ || !started_) {
        return;
    }
    for (const auto& node : nodes_) {
        if (!node.exited) {
            return;
        }
    }
    finished_ = true;
    for (auto id : timers_) {
        loop_.cancel_timer(id);
    }
    timers_.clear();
    if (grace_timer_) {
        loop_.cancel_timer(*grace_timer_);
        grace_timer_.reset();
    }
    if (drop_timer_) {
        loop_.cancel_timer(*drop_timer_);
        drop_timer_.reset();
    }
    if (options_.on_finished) {
        options_.on_finished();
    }
}

void LocalDataflow::stop(std::optional<std::chrono::nanoseconds> grace) {
    if (!stopping_) {
        stopping_ = true;
        for (auto id : timers_) {
            loop_.cancel_timer(id);
        }
        timers_.clear();
        for (auto& node : nodes_) {
            if (!node.exited) {
                regions_[node.index].request_stop(shm::StopReason::kStopRequested);
            }
        }
    }
    auto delay = grace.value_or(options_.grace);
    if (grace_timer_) {
        loop_.cancel_timer(*grace_timer_);
    }
    auto id = loop_.add_timer(delay, std::chrono::nanoseconds(0), [this] {
        grace_timer_.reset();
        for (auto& node : nodes_) {
            if (node.running) {
                node.killed_after_grace = true;
                ::kill(-node.pid, SIGKILL);
                ::kill(node.pid, SIGKILL);
            }
        }
    });
    if (id) {
        grace_timer_ = *id;
    } else {
        kill_all();
    }
    check_finished();
}

void LocalDataflow::kill_all() {
    for (auto& node : nodes_) {
        if (node.running) {
            ::kill(-node.pid, SIGKILL);
            ::kill(node.pid, SIGKILL);
        }
    }
}

}  // namespace dora::daemon
