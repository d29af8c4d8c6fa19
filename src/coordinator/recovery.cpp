// The coordinator after a restart: adopting the dataflows its daemons still run (DataflowRunning
// describes each again), and attached CLIs coming back (CliAttach). The registration side is
// Coordinator::reconcile (dataflows.cpp).
#include "coordinator/coordinator.hpp"
#include "coordinator/placement.hpp"
#include "message/coordinator_to_cli.hpp"
#include "message/coordinator_to_daemon.hpp"

namespace dora::coordinator {

void Coordinator::adopt_dataflow(const std::string& id, const std::string& machine) {
    auto [it, inserted] = dataflows_.try_emplace(id);
    Dataflow& dataflow = it->second;
    if (inserted) {
        // The coordinator restarted while this dataflow ran: adopt it so it can be listed,
        // attached to and stopped; DataflowRunning describes it next.
        dataflow.id = id;
        set_status(dataflow, Status::kRunning);
        dataflow.recovered = true;
        dataflow.described = false;
        log(fmt::format("adopted running dataflow {} from {}", id, machine_name(machine)));
        // This machine first: the results given earlier must not end it.
        dataflow.nodes_per_machine.try_emplace(machine);
        dataflow.awaiting_finished.insert(machine);
        if (auto early = early_finishes_.extract(id)) {
            for (auto& [other, finish] : early.mapped()) {
                dataflow.nodes_per_machine.try_emplace(other);
                dataflow.awaiting_finished.insert(other);
                if (finish) {
                    dataflow.drops[other] = std::move(finish->drops);
                    machine_finished(dataflow, other, std::move(finish->results));
                }
            }
        }
        for (auto& [cli, wanted] : pending_attach_) {
            if (wanted == id) {
                attach_cli(dataflow, cli);
            }
        }
        std::erase_if(pending_attach_, [&](const auto& entry) { return entry.second == id; });
    }
    // A machine it lists for the first time (a described one knows its machines already).
    if (dataflow.recovered && dataflow.active() && dataflow.nodes_per_machine.count(machine) == 0) {
        dataflow.nodes_per_machine.try_emplace(machine);
        dataflow.awaiting_finished.insert(machine);
    }
}

void Coordinator::handle(const std::string& machine, const message::DataflowRunning& m) {
    auto it = dataflows_.find(m.started.dataflow_id);
    if (it == dataflows_.end() || !it->second.active()) {
        return;  // not listed when it registered, or ended meanwhile (reconcile stopped it)
    }
    Dataflow& dataflow = it->second;
    if (dataflow.recovered && !dataflow.described) {
        describe_recovered(dataflow, m.started);
    }
    dataflow.waiting.insert(m.waiting.begin(), m.waiting.end());
    if (!m.spawned && dataflow.recovered && dataflow.active() &&
        dataflow.awaiting_finished.count(machine)) {
        // Prepared here, but the coordinator that would have released the start is gone.
        send_to_daemon(machine, message::make(message::StopDataflow{dataflow.id, 0}));
        machine_finished(dataflow, machine,
                         lost_nodes(dataflow, machine,
                                    "was never started: the coordinator restarted before it "
                                    "released the start"));
    }
}

void Coordinator::describe_recovered(Dataflow& dataflow, const message::PrepareDataflow& started) {
    auto descriptor = parse_for_cluster(started.descriptor_yaml, started.descriptor_path);
    if (!descriptor) {
        log(fmt::format("dataflow {}: cannot read the descriptor a daemon reported: {}",
                        dataflow.id, descriptor.error().message()));
        return;
    }
    apply_placement(*descriptor, started.placement);
    dataflow.name = started.name;
    dataflow.yaml = started.descriptor_yaml;
    dataflow.path = started.descriptor_path;
    dataflow.cli_machine = started.cli_machine;
    dataflow.strict = descriptor->strict;
    dataflow.described = true;
    std::vector<std::string> lost;
    for (auto& [machine, nodes] : nodes_by_machine(*descriptor)) {
        const bool mentioned = dataflow.nodes_per_machine.count(machine) != 0;
        dataflow.nodes_per_machine[machine] = std::move(nodes);
        if (mentioned) {
            continue;
        }
        if (registry_.connected(machine)) {
            lost.push_back(machine);  // back, and it did not mention this dataflow
        } else {
            dataflow.awaiting_finished.insert(machine);  // not back yet
        }
    }
    log(fmt::format("dataflow {}{} described again: {} machine(s)", dataflow.id,
                    dataflow.name.empty() ? "" : " (" + dataflow.name + ")",
                    dataflow.nodes_per_machine.size()));
    for (const auto& machine : lost) {
        close_inputs_from(dataflow, machine, "its daemon came back without it");
        machine_finished(dataflow, machine,
                         lost_nodes(dataflow, machine,
                                    fmt::format("was lost: the daemon of machine `{}` no longer "
                                                "runs it and kept no result for it",
                                                machine)));
    }
    if (dataflow.active() && dataflow.awaiting_finished.empty()) {
        finish_dataflow(dataflow);
    }
}

void Coordinator::await_returning_machines(Dataflow& dataflow,
                                           const std::vector<std::string>& machines) {
    std::string names;
    for (const auto& m : machines) names += (names.empty() ? "" : ", ") + machine_name(m);
    log(fmt::format("dataflow {}: the stop waits up to {} s for {} (not back since the restart)",
                    dataflow.id, options_.daemon_timeout.count() / 1000, names));
    dataflow.stop_deadline = loop_.add_timer(options_.daemon_timeout, [this, id = dataflow.id] {
        auto it = dataflows_.find(id);
        if (it == dataflows_.end() || !it->second.active()) {
            return;
        }
        std::vector<std::string> missing;
        for (const auto& machine : it->second.awaiting_finished) {
            if (!registry_.connected(machine)) missing.push_back(machine);
        }
        for (const auto& machine : missing) {
            machine_finished(it->second, machine,
                             lost_nodes(it->second, machine,
                                        fmt::format("was lost: the daemon of machine `{}` did not "
                                                    "come back after the coordinator restarted",
                                                    machine)));
        }
    });
}

void Coordinator::handle(Peer& cli, const message::CliAttach& m) {
    auto it = dataflows_.find(m.dataflow_id);
    if (it == dataflows_.end()) {
        // Just restarted: the daemons that run it have not registered yet. The CLI bounds its
        // wait; a CLI waits for one dataflow at a time.
        pending_attach_[cli.id] = m.dataflow_id;
        return;
    }
    attach_cli(it->second, cli.id);
}

void Coordinator::attach_cli(Dataflow& dataflow, ConnectionId cli) {
    send_to(cli, message::make(message::Attached{dataflow.id, dataflow.name}));
    if (dataflow.active()) {
        dataflow.attached.insert(cli);
    } else {
        send_to(cli, message::make(result_of(dataflow)));
    }
}

}  // namespace dora::coordinator
