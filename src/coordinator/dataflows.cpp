// The coordinator's CLI requests and dataflow lifecycle: two-phase start, stop, results, logs,
// list, check, build.
#include <algorithm>

#include "coordinator/coordinator.hpp"
#include "coordinator/placement.hpp"
#include "core/descriptor.hpp"
#include "core/lifecycle.hpp"
#include "core/uuid.hpp"
#include "message/auth.hpp"
#include "message/cli_to_coordinator.hpp"
#include "message/coordinator_to_cli.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"

namespace dora::coordinator {

namespace {

nlohmann::json error_message(const std::string& text) {
    return message::make(message::ErrorMessage{text});
}

}  // namespace

void Coordinator::set_status(Dataflow& dataflow, Status to) {
    using S = Status;
    static constexpr Transition<Status> kTransitions[] = {
        {S::kPreparing, S::kRunning},  // every machine prepared: spawned (or adopted)
        {S::kPreparing, S::kFailed},   // a machine could not prepare, or stopped meanwhile
        {S::kRunning, S::kStopping},   // `dora stop`, a spawn failure, destroy
        {S::kRunning, S::kFinished},   // every machine reported its nodes' results
        {S::kRunning, S::kFailed},
        {S::kStopping, S::kStopping},  // stopped again (another grace duration)
        {S::kStopping, S::kFinished},
        {S::kStopping, S::kFailed},
    };
    if (!transition_allowed<Status>(kTransitions, dataflow.status, to)) {
        log(fmt::format("internal error: dataflow {} cannot go from {} to {}", dataflow.id,
                        status_name(dataflow.status), status_name(to)));
        return;
    }
    dataflow.status = to;
}

const char* Coordinator::status_name(Status status) {
    switch (status) {
        case Status::kPreparing:
            return "preparing";
        case Status::kRunning:
            return "running";
        case Status::kStopping:
            return "stopping";
        case Status::kFinished:
            return "finished";
        case Status::kFailed:
            return "failed";
    }
    return "?";
}

void Coordinator::handle(Peer& cli, message::CliStart& request) {
    auto* start = &request;
    auto descriptor = parse_for_cluster(start->descriptor_yaml, start->descriptor_path);
    if (!descriptor) {
        cli.channel->send(error_message(descriptor.error().message()));
        return;
    }
    if (!start->name.empty()) {
        for (const auto& [id, other] : dataflows_) {
            if (other.active() && other.name == start->name) {
                cli.channel->send(error_message(fmt::format(
                    "a dataflow named `{}` is already running ({}); stop it first (`dora stop "
                    "--name {}`) or choose another name",
                    start->name, id, start->name)));
                return;
            }
        }
    }
    // `deploy.labels` without a machine: the coordinator picks a daemon; every daemon is told.
    auto placement = registry_.place_by_labels(*descriptor);
    if (!placement) {
        cli.channel->send(
            error_message("cannot start the dataflow: " + placement.error().message()));
        return;
    }
    apply_placement(*descriptor, *placement);
    if (auto files = check_files(start->files); !files) {
        cli.channel->send(error_message("cannot start the dataflow: " + files.error().message()));
        return;
    }
    auto machines = nodes_by_machine(*descriptor);
    if (auto missing = registry_.missing_daemons_error(machines_of(machines)); !missing.empty()) {
        cli.channel->send(error_message("cannot start the dataflow: " + missing));
        return;
    }
    if (start->ship && start->files.is_null()) {
        if (auto away = away_from(start->cli_machine, machines); !away.empty()) {
            cli.channel->send(message::make(message::ManifestNeeded{std::move(away)}));
            return;
        }
    }
    Dataflow dataflow;
    dataflow.id = Uuid::new_v7().to_string();
    dataflow.name = start->name;
    dataflow.yaml = std::move(start->descriptor_yaml);
    dataflow.path = start->descriptor_path;
    dataflow.cli_machine = start->cli_machine;
    dataflow.strict = descriptor->strict;
    dataflow.nodes_per_machine = std::move(machines);
    dataflow.awaiting_prepared = machines_of(dataflow.nodes_per_machine);
    dataflow.awaiting_finished = dataflow.awaiting_prepared;
    if (start->attach) {
        dataflow.attached.insert(cli.id);
    }
    const std::string id = dataflow.id;
    auto& stored = dataflows_.emplace(id, std::move(dataflow)).first->second;
    log(fmt::format("starting dataflow {}{} on {} machine(s)", id,
                    stored.name.empty() ? "" : " (" + stored.name + ")",
                    stored.nodes_per_machine.size()));
    cli.channel->send(message::make(message::StartTriggered{id}));
    arm_prepare_deadline(stored);
    if (!start->files.is_null()) {
        begin_shipment(stored, cli.id, start->files);
    }
    message::PrepareDataflow prepare{id,
                                     stored.name,
                                     stored.yaml,
                                     stored.path,
                                     stored.cli_machine,
                                     std::move(*placement),
                                     {},
                                     std::move(start->files)};
    for (const auto& [machine, nodes] : stored.nodes_per_machine) {
        if (auto key = stream_end_keys_.find(machine); key != stream_end_keys_.end()) {
            prepare.stream_end_keys[machine] = key->second;
        }
    }
    auto prepare_json = message::make(prepare);
    if (auto fits = message::encode_frame_checked(prepare_json); !fits) {
        // The file itself fitted in the CLI's message; the node placement added to it did not.
        fail_start(stored, fmt::format("the dataflow cannot be sent to its daemons: {}",
                                       fits.error().message()));
        return;
    }
    for (const auto& [machine, nodes] : stored.nodes_per_machine) {
        send_to_daemon(machine, prepare_json);
    }
}

void Coordinator::handle(const std::string& machine, const message::DataflowPrepared& m) {
    const auto* prepared = &m;
    auto it = dataflows_.find(prepared->dataflow_id);
    if (it == dataflows_.end() || it->second.status != Status::kPreparing) {
        return;  // stopped or failed meanwhile: the daemon was told to drop it
    }
    Dataflow& dataflow = it->second;
    if (!prepared->success) {
        fail_start(dataflow, fmt::format("machine `{}` could not prepare the dataflow: {}", machine,
                                         prepared->error));
        return;
    }
    dataflow.awaiting_prepared.erase(machine);
    if (!dataflow.awaiting_prepared.empty()) {
        return;
    }
    dataflow.prepare_deadline.cancel();
    set_status(dataflow, Status::kRunning);
    auto spawn = message::make(message::SpawnDataflow{dataflow.id});
    for (const auto& [other, nodes] : dataflow.nodes_per_machine) {
        send_to_daemon(other, spawn);
    }
    log(fmt::format("dataflow {} prepared everywhere: spawning", dataflow.id));
}

void Coordinator::handle(const std::string& machine, const message::DataflowSpawned& m) {
    const auto* spawned = &m;
    auto it = dataflows_.find(spawned->dataflow_id);
    if (it == dataflows_.end() || !it->second.active() || spawned->success) {
        return;
    }
    Dataflow& dataflow = it->second;
    std::string error =
        fmt::format("machine `{}` could not spawn its nodes: {}", machine, spawned->error);
    log(fmt::format("dataflow {}: {}", dataflow.id, error));
    if (dataflow.error.empty()) {
        dataflow.error = error;
    }
    // Nodes that did start elsewhere are stopped; this machine may or may not report them.
    stop_dataflow(dataflow, 15000);
    if (dataflow.awaiting_finished.erase(machine) > 0 && dataflow.awaiting_finished.empty()) {
        finish_dataflow(dataflow);
    }
}

void Coordinator::fail_start(Dataflow& dataflow, const std::string& error) {
    log(fmt::format("dataflow {} failed to start: {}", dataflow.id, error));
    dataflow.error = error;
    if (dataflow.shipment && !dataflow.attached.contains(dataflow.shipment->cli)) {
        // A detached start waits for its files to be delivered: it learns why they never were.
        send_to(dataflow.shipment->cli, error_message("the dataflow failed to start: " + error));
    }
    auto stop = message::make(message::StopDataflow{dataflow.id, 0});
    for (const auto& [machine, nodes] : dataflow.nodes_per_machine) {
        send_to_daemon(machine, stop);
    }
    dataflow.awaiting_finished.clear();
    finish_dataflow(dataflow);
}

void Coordinator::stop_dataflow(Dataflow& dataflow, int64_t grace_ms) {
    if (dataflow.status == Status::kPreparing) {
        fail_start(dataflow, "stopped before it started");
        return;
    }
    set_status(dataflow, Status::kStopping);
    dataflow.stop_grace_ms = grace_ms;
    auto stop = message::make(message::StopDataflow{dataflow.id, grace_ms});
    std::vector<std::string> unreachable;
    std::vector<std::string> not_back;  // since a coordinator restart (it runs there, probably)
    for (const auto& machine : dataflow.awaiting_finished) {
        if (registry_.connected(machine)) {
            send_to_daemon(machine, stop);
        } else if (dataflow.recovered && !registry_.known(machine)) {
            not_back.push_back(machine);
        } else {
            unreachable.push_back(machine);
        }
    }
    if (!not_back.empty()) {
        await_returning_machines(dataflow, not_back);
    }
    // A machine whose daemon is gone cannot report: its nodes count as lost now, so the stop
    // completes. (If that daemon comes back still running them, reconcile() stops them.)
    for (const auto& machine : unreachable) {
        log(fmt::format("dataflow {}: the daemon of `{}` is unreachable; its nodes count as lost",
                        dataflow.id, machine));
        machine_finished(
            dataflow, machine,
            lost_nodes(
                dataflow, machine,
                fmt::format("was lost: the daemon of machine `{}` is unreachable", machine)));
    }
}

std::vector<message::NodeResultInfo> Coordinator::lost_nodes(const Dataflow& dataflow,
                                                             const std::string& machine,
                                                             const std::string& status) {
    std::vector<message::NodeResultInfo> lost;
    if (auto it = dataflow.nodes_per_machine.find(machine);
        it != dataflow.nodes_per_machine.end()) {
        for (const auto& node : it->second) {
            message::NodeResultInfo r;
            r.node_id = node;
            r.machine_id = machine;
            r.status = status;
            lost.push_back(std::move(r));
        }
    }
    return lost;
}

void Coordinator::reconcile(const std::string& machine,
                            const message::DaemonRegister& registration) {
    const auto& running = registration.running_dataflows;
    const auto& finished = registration.finished_dataflows;
    std::set<std::string> listed(running.begin(), running.end());
    listed.insert(finished.begin(), finished.end());  // their results follow the registration
    for (auto& [id, dataflow] : dataflows_) {
        if (!dataflow.active() || !dataflow.nodes_per_machine.count(machine)) {
            continue;
        }
        if (listed.count(id)) {
            if (dataflow.status == Status::kStopping && dataflow.awaiting_finished.count(machine)) {
                send_to_daemon(machine, message::make(message::StopDataflow{
                                            id, dataflow.stop_grace_ms.value_or(15000)}));
            }
            continue;
        }
        if (!dataflow.awaiting_finished.count(machine)) {
            continue;
        }
        // The daemon restarted: whatever ran there is gone.
        log(fmt::format("dataflow {}: the daemon of `{}` no longer runs it", id, machine));
        close_inputs_from(dataflow, machine, "its daemon restarted without it");
        machine_finished(
            dataflow, machine,
            lost_nodes(dataflow, machine,
                       fmt::format("was lost: the daemon of machine `{}` restarted", machine)));
    }
    for (const auto& id : running) {
        auto it = dataflows_.find(id);
        if (it == dataflows_.end() || it->second.active()) {
            adopt_dataflow(id, machine);
        } else {
            // Ended here while that daemon was unreachable (its nodes were counted as lost):
            // whatever still runs there must stop.
            send_to_daemon(machine, message::make(message::StopDataflow{id, 0}));
        }
    }
    for (const auto& id : finished) {
        auto it = dataflows_.find(id);
        if (it == dataflows_.end()) {
            // Known once a daemon that still runs it registers: keep the result until then.
            early_finishes_[id].try_emplace(machine);
            while (early_finishes_.size() > kMaxEarlyFinishes) {
                early_finishes_.erase(early_finishes_.begin());  // uuid v7: the oldest first
            }
        } else if (it->second.recovered && !it->second.described && it->second.active()) {
            adopt_dataflow(id, machine);
        }
    }
}

void Coordinator::handle(const std::string& machine, message::DaemonLog& m) {
    auto* log_message = &m;
    auto it = dataflows_.find(log_message->log.dataflow_id);
    if (it == dataflows_.end()) {
        return;
    }
    log_message->log.machine_id = machine;
    const Dataflow& dataflow = it->second;
    if (web_) {
        web_->on_log(log_message->log);
    }
    auto event = message::make(message::LogEvent{std::move(log_message->log)});
    for (auto cli : dataflow.attached) {
        send_to(cli, event);
    }
    if (auto f = dataflow.followers.find(event["log"]["node_id"].get<std::string>());
        f != dataflow.followers.end()) {
        for (auto cli : f->second) {
            if (!dataflow.attached.count(cli)) {
                send_to(cli, event);
            }
        }
    }
}

void Coordinator::handle(const std::string&, message::DynamicNodeStatus& m) {
    auto it = dataflows_.find(m.dataflow_id);
    if (it == dataflows_.end()) {
        return;
    }
    if (m.status == "waiting") {
        it->second.waiting.insert(m.node_id);
    } else {
        it->second.waiting.erase(m.node_id);
    }
}

void Coordinator::handle(const std::string& machine, message::DataflowFinishedOnMachine& m) {
    auto* finished = &m;
    auto it = dataflows_.find(finished->dataflow_id);
    if (it == dataflows_.end()) {
        // Sent again after a coordinator restart, before a daemon that still runs it registered.
        if (auto early = early_finishes_.find(finished->dataflow_id);
            early != early_finishes_.end() && early->second.count(machine)) {
            early->second[machine] = std::move(*finished);
        }
        return;
    }
    Dataflow& dataflow = it->second;
    const bool already = !dataflow.awaiting_finished.count(machine) &&
                         std::any_of(dataflow.results.begin(), dataflow.results.end(),
                                     [&](const auto& r) { return r.machine_id == machine; });
    if (!dataflow.active() || already) {
        return;  // e.g. sent again after a reconnect: counted once
    }
    dataflow.drops[machine] = std::move(finished->drops);
    machine_finished(dataflow, machine, std::move(finished->results));
}

void Coordinator::handle(const std::string& machine, message::DataflowDrops& m) {
    auto it = dataflows_.find(m.dataflow_id);
    if (it == dataflows_.end() || !it->second.active()) {
        return;
    }
    it->second.drops[machine] = std::move(m.drops);
}

std::vector<message::DropCount> Coordinator::Dataflow::all_drops() const {
    std::vector<message::DropCount> out;
    for (const auto& [machine, counts] : drops) {
        for (auto d : counts) {
            if (d.machine_id.empty()) {
                d.machine_id = machine;
            }
            message::add_drop(out, std::move(d));
        }
    }
    return out;
}

void Coordinator::machine_finished(Dataflow& dataflow, const std::string& machine,
                                   std::vector<message::NodeResultInfo> results) {
    for (auto& r : results) {
        if (r.machine_id.empty()) {
            r.machine_id = machine;
        }
        dataflow.results.push_back(std::move(r));
    }
    if (dataflow.awaiting_finished.erase(machine) > 0 && dataflow.awaiting_finished.empty()) {
        finish_dataflow(dataflow);
    }
}

message::DataflowResult Coordinator::result_of(const Dataflow& dataflow) const {
    return message::DataflowResult{dataflow.id, dataflow.status == Status::kFinished,
                                   dataflow.results, dataflow.error, dataflow.all_drops()};
}

void Coordinator::finish_dataflow(Dataflow& dataflow) {
    dataflow.prepare_deadline.cancel();
    bool success =
        dataflow.error.empty() && std::all_of(dataflow.results.begin(), dataflow.results.end(),
                                              [](const auto& r) { return r.success; });
    auto drops = dataflow.all_drops();
    if (dataflow.strict && message::total_dropped(drops) != 0) {
        success = false;  // reported by the CLI with the drops (the result carries them)
    }
    set_status(dataflow, success ? Status::kFinished : Status::kFailed);
    log(fmt::format("dataflow {} {}", dataflow.id,
                    success ? message::finished_line(drops) : std::string("failed")));
    auto result = message::make(result_of(dataflow));
    std::set<ConnectionId> told;
    auto tell = [&](ConnectionId cli) {
        if (told.insert(cli).second) {
            send_to(cli, result);
        }
    };
    for (auto cli : dataflow.attached) tell(cli);
    for (const auto& [node, clis] : dataflow.followers) {
        for (auto cli : clis) tell(cli);
    }
    for (auto cli : dataflow.stop_waiters) tell(cli);
    dataflow.attached.clear();
    dataflow.followers.clear();
    dataflow.stop_waiters.clear();
    archived_.push_back(dataflow.id);
    while (archived_.size() > options_.max_archived) {
        dataflows_.erase(archived_.front());
        archived_.pop_front();
    }
}

void Coordinator::forget_cli(ConnectionId cli) {
    shipping_cli_gone(cli);
    for (auto& [id, dataflow] : dataflows_) {
        dataflow.attached.erase(cli);
        dataflow.stop_waiters.erase(cli);
        for (auto& [node, clis] : dataflow.followers) {
            clis.erase(cli);
        }
    }
    std::erase_if(log_requests_, [cli](const auto& entry) { return entry.second.cli == cli; });
    std::erase_if(stats_requests_, [cli](const auto& entry) { return entry.second.cli == cli; });
    pending_attach_.erase(cli);
    for (auto& [job_id, job] : build_jobs_) {
        if (job.cli == cli) {
            job.cli = 0;  // the build goes on; nobody is told
        }
    }
}

Result<Coordinator::Dataflow*> Coordinator::find_active(const std::string& id,
                                                        const std::string& name) {
    std::vector<Dataflow*> active;
    for (auto& [key, dataflow] : dataflows_) {
        if (dataflow.active()) {
            active.push_back(&dataflow);
        }
    }
    if (!id.empty()) {
        auto it = dataflows_.find(id);
        if (it == dataflows_.end()) {
            return fail("no dataflow with id {} (see `dora list`)", id);
        }
        if (!it->second.active()) {
            return fail("dataflow {} has already {}", id, status_name(it->second.status));
        }
        return &it->second;
    }
    if (!name.empty()) {
        for (auto* d : active) {
            if (d->name == name) return d;
        }
        return fail("no running dataflow is named `{}` (see `dora list`)", name);
    }
    if (active.size() == 1) {
        return active.front();
    }
    if (active.empty()) {
        return fail("no dataflow is running");
    }
    std::string which;
    for (auto* d : active) {
        which += fmt::format("\n  {}{}", d->id, d->name.empty() ? "" : "  " + d->name);
    }
    return fail("{} dataflows are running; say which one (a UUID or --name):{}", active.size(),
                which);
}

void Coordinator::handle(Peer& cli, const message::CliStop& request) {
    const auto* stop = &request;
    auto dataflow = find_active(stop->dataflow_id, stop->name);
    if (!dataflow) {
        cli.channel->send(error_message(dataflow.error().message()));
        return;
    }
    Dataflow& d = **dataflow;
    log(fmt::format("stopping dataflow {}", d.id));
    d.stop_waiters.insert(cli.id);
    stop_dataflow(d, stop->grace_ms.value_or(15000));
}

}  // namespace dora::coordinator
