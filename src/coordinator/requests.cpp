// The coordinator's CLI requests that do not change a dataflow: list, check, logs and build.
#include <algorithm>

#include "coordinator/coordinator.hpp"
#include "coordinator/placement.hpp"
#include "core/descriptor.hpp"
#include "message/cli_to_coordinator.hpp"
#include "message/coordinator_to_cli.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"
#include "message/data_keys.hpp"

namespace dora::coordinator {

namespace {

nlohmann::json error_message(const std::string& text) {
    return message::make(message::ErrorMessage{text});
}

}  // namespace

message::DataflowInfo Coordinator::info(const Dataflow& dataflow) const {
    message::DataflowInfo out;
    out.id = dataflow.id;
    out.name = dataflow.name;
    out.status = status_name(dataflow.status);
    for (const auto& [machine, nodes] : dataflow.nodes_per_machine) {
        out.nodes_per_machine.emplace_back(machine, nodes);
    }
    out.results = dataflow.results;
    out.drops = dataflow.all_drops();
    if (dataflow.active()) {
        out.waiting.assign(dataflow.waiting.begin(), dataflow.waiting.end());
    }
    return out;
}

void Coordinator::handle(Peer& cli, const message::CliList&) {
    message::DataflowList list;
    for (const auto& [id, dataflow] : dataflows_) {
        list.dataflows.push_back(info(dataflow));
    }
    list.daemons = registry_.list(loop_.now());
    cli.channel->send(message::make(list));
}

void Coordinator::handle(Peer& cli, const message::CliCheck& request) {
    const auto* check = &request;
    const std::string daemons = registry_.summary();
    if (check->descriptor_yaml.empty()) {
        if (registry_.connected_machines().empty()) {
            cli.channel->send(error_message(
                "no daemon is connected to the coordinator; start one with `dora daemon` (or "
                "`dora up` on this machine)" +
                daemons));
            return;
        }
        cli.channel->send(message::make(message::Done{"daemons:" + daemons}));
        return;
    }
    auto descriptor = parse_for_cluster(check->descriptor_yaml, check->descriptor_path);
    if (!descriptor) {
        cli.channel->send(error_message(descriptor.error().message()));
        return;
    }
    if (auto missing = registry_.missing_daemons_error(machines_of(nodes_by_machine(*descriptor)));
        !missing.empty()) {
        cli.channel->send(error_message(missing));
        return;
    }
    cli.channel->send(
        message::make(message::Done{"every machine of the dataflow has a daemon:" + daemons}));
}

void Coordinator::handle(Peer& cli, const message::CliDescribe& m) {
    std::vector<const Dataflow*> running;
    const Dataflow* ended = nullptr;
    for (auto it = dataflows_.rbegin(); it != dataflows_.rend(); ++it) {
        const Dataflow& d = it->second;
        if (!m.dataflow.empty() && d.id != m.dataflow && d.name != m.dataflow) {
            continue;
        }
        if (d.active()) {
            running.push_back(&d);
        } else if (ended == nullptr) {
            ended = &d;
        }
    }
    if (running.empty()) {
        cli.channel->send(error_message(
            ended != nullptr
                ? fmt::format("dataflow {} ({}) has ended ({}): there is nothing to watch; start "
                              "it again, or see `dora list`",
                              ended->name.empty() ? "<unnamed>" : ended->name, ended->id,
                              status_name(ended->status))
            : m.dataflow.empty()
                ? std::string("no dataflow is running; start one with `dora start`")
                : fmt::format("no running dataflow with id or name `{}` (see `dora list`)",
                              m.dataflow)));
        return;
    }
    if (running.size() > 1) {
        std::string names;
        for (const Dataflow* d : running) {
            names += fmt::format("\n  {} {}", d->id, d->name);
        }
        cli.channel->send(error_message(fmt::format(
            "{} dataflows are running; say which one by UUID or name:{}", running.size(), names)));
        return;
    }
    const Dataflow& d = *running.front();
    if (!d.described) {
        cli.channel->send(error_message(fmt::format(
            "dataflow {} was adopted after a coordinator restart and no daemon has described it "
            "yet; try again in a few seconds",
            d.id)));
        return;
    }
    message::DataflowDescription reply;
    reply.dataflow_id = d.id;
    reply.name = d.name;
    reply.status = status_name(d.status);
    reply.descriptor_yaml = d.yaml;
    reply.descriptor_path = d.path;
    reply.network_id = std::string(message::kNetworkId);
    for (const auto& [machine, nodes] : d.nodes_per_machine) {
        reply.nodes_per_machine.emplace_back(machine, nodes);
    }
    reply.daemons = registry_.list(loop_.now());
    cli.channel->send(message::make(reply));
}

Result<Coordinator::Dataflow*> Coordinator::find_for_logs(const std::string& dataflow) {
    // Newest first: uuid v7 ids sort by creation time.
    Dataflow* newest_archived = nullptr;
    std::vector<Dataflow*> active;
    for (auto it = dataflows_.rbegin(); it != dataflows_.rend(); ++it) {
        Dataflow& d = it->second;
        if (!dataflow.empty() && d.id != dataflow && d.name != dataflow) {
            continue;
        }
        if (d.active()) {
            active.push_back(&d);
        } else if (newest_archived == nullptr) {
            newest_archived = &d;
        }
    }
    if (active.size() == 1) return active.front();
    if (active.size() > 1) {
        return fail("{} dataflows are running; say which one: `dora logs <UUID or NAME> <NODE>`",
                    active.size());
    }
    if (newest_archived != nullptr) return newest_archived;
    if (dataflow.empty()) {
        return fail("no dataflow has run on this coordinator yet");
    }
    return fail("no dataflow with id or name `{}` (see `dora list`)", dataflow);
}

void Coordinator::handle(Peer& cli, const message::CliLogs& logs) {
    const auto* request = &logs;
    auto found = find_for_logs(request->dataflow);
    if (!found) {
        cli.channel->send(error_message(found.error().message()));
        return;
    }
    Dataflow& dataflow = **found;
    std::optional<std::string> machine;
    for (const auto& [m, nodes] : dataflow.nodes_per_machine) {
        if (std::find(nodes.begin(), nodes.end(), request->node_id) != nodes.end()) {
            machine = m;
        }
    }
    if (!machine) {
        cli.channel->send(error_message(
            fmt::format("dataflow {} has no node `{}`", dataflow.id, request->node_id)));
        return;
    }
    uint64_t request_id = next_request_++;
    if (!send_to_daemon(*machine,
                        message::make(message::ReadLogs{request_id, dataflow.id, request->node_id,
                                                        request->with_times}))) {
        cli.channel->send(error_message(fmt::format(
            "node `{}` ran on machine `{}`, whose daemon is not connected: its log is in "
            "out/{}/log_{}.txt in the node's working directory there",
            request->node_id, *machine, dataflow.id, request->node_id)));
        return;
    }
    log_requests_[request_id] =
        LogRequest{cli.id, dataflow.id, request->node_id, *machine, request->follow};
    if (request->follow && dataflow.active()) {
        // Lines from now on stream as LogEvents once the file content has been sent.
        dataflow.followers[request->node_id].insert(cli.id);
    }
}

void Coordinator::handle(const std::string& machine, message::DaemonLogsReply& m) {
    auto* reply = &m;
    auto it = log_requests_.find(reply->request_id);
    if (it == log_requests_.end() || it->second.machine != machine) {
        return;
    }
    LogRequest request = std::move(it->second);
    log_requests_.erase(it);
    if (!reply->error.empty()) {
        send_to(request.cli, error_message(reply->error));
        if (auto d = dataflows_.find(request.dataflow_id); d != dataflows_.end()) {
            d->second.followers[request.node_id].erase(request.cli);
        }
        return;
    }
    send_to(request.cli,
            message::make(message::LogsReply{request.dataflow_id, request.node_id, machine,
                                             std::move(reply->content), std::move(reply->times)}));
    auto d = dataflows_.find(request.dataflow_id);
    if (request.follow && (d == dataflows_.end() || !d->second.active())) {
        // Finished meanwhile (or before): nothing more will come.
        send_to(request.cli,
                message::make(d == dataflows_.end()
                                  ? message::DataflowResult{request.dataflow_id, false, {}, "", {}}
                                  : result_of(d->second)));
    }
}

void Coordinator::handle(Peer& cli, const message::CliBuild& build_request) {
    const auto* build = &build_request;
    auto descriptor = parse_for_cluster(build->descriptor_yaml, build->descriptor_path);
    if (!descriptor) {
        cli.channel->send(error_message(descriptor.error().message()));
        return;
    }
    auto builds = registry_.build_placement(*descriptor);
    if (!builds) {
        cli.channel->send(error_message("cannot build the dataflow: " + builds.error().message()));
        return;
    }
    if (builds->empty()) {
        cli.channel->send(message::make(message::BuildResult{
            true, "no node has a build command, a git source or a download to fetch"}));
        return;
    }
    std::set<std::string> machines;
    for (const auto& [machine, nodes] : *builds) {
        machines.insert(machine);
    }
    if (auto missing = registry_.missing_daemons_error(machines); !missing.empty()) {
        cli.channel->send(error_message("cannot build the dataflow: " + missing));
        return;
    }
    const bool ship = !build->files.is_null();
    if (ship) {
        if (auto files = check_files(build->files); !files) {
            cli.channel->send(
                error_message("cannot build the dataflow: " + files.error().message()));
            return;
        }
        if (build->transfer.empty() || dataflows_.contains(build->transfer) ||
            build_transfers_.contains(build->transfer)) {
            cli.channel->send(error_message(fmt::format(
                "cannot build the dataflow: its files' transfer id `{}` is empty or in use; run "
                "the same dora version as the coordinator",
                build->transfer)));
            return;
        }
    }
    uint64_t job_id = next_request_++;
    BuildJob& job = build_jobs_[job_id];
    job.cli = cli.id;
    if (ship) {
        job.transfer = build->transfer;
        job.shipment = make_shipment(cli.id, build->files, machines);
        build_transfers_[job.transfer] = job_id;
    }
    for (auto& [machine, nodes] : *builds) {
        uint64_t request = next_request_++;
        job.pending.insert(request);
        build_requests_[request] = BuildRequest{job_id, machine};
        send_to_daemon(machine,
                       message::make(message::BuildNodes{
                           request, build->descriptor_yaml, build->descriptor_path,
                           build->cli_machine, std::move(nodes), build->files, build->transfer}));
    }
    log(fmt::format("building dataflow {} on {} machine(s)", build->descriptor_path,
                    machines.size()));
}

void Coordinator::handle(const std::string& machine, message::DaemonBuildOutput& m) {
    auto* output = &m;
    auto request = build_requests_.find(output->request_id);
    if (request == build_requests_.end() || request->second.machine != machine) {
        return;
    }
    auto job = build_jobs_.find(request->second.job);
    if (job != build_jobs_.end() && job->second.cli != 0) {
        send_to(job->second.cli, message::make(message::BuildOutput{output->node_id, machine,
                                                                    std::move(output->line)}));
    }
}

void Coordinator::handle(const std::string& machine, const message::DaemonBuildResult& m) {
    const auto* result = &m;
    auto request = build_requests_.find(result->request_id);
    if (request == build_requests_.end() || request->second.machine != machine) {
        return;
    }
    build_request_done(result->request_id, result->success,
                       fmt::format("machine `{}`: {}", machine, result->message));
}

void Coordinator::build_request_done(uint64_t request, bool success, const std::string& failure) {
    auto it = build_requests_.find(request);
    if (it == build_requests_.end()) {
        return;
    }
    uint64_t job_id = it->second.job;
    build_requests_.erase(it);
    auto job = build_jobs_.find(job_id);
    if (job == build_jobs_.end()) {
        return;
    }
    job->second.pending.erase(request);
    if (!success) {
        job->second.success = false;
        job->second.failures.push_back(failure);
    }
    if (!job->second.pending.empty()) {
        return;
    }
    std::string text = job->second.success ? "build finished" : "build failed:";
    for (const auto& f : job->second.failures) {
        text += "\n  " + f;
    }
    if (job->second.cli != 0) {
        send_to(job->second.cli, message::make(message::BuildResult{job->second.success, text}));
    }
    build_transfers_.erase(job->second.transfer);
    build_jobs_.erase(job);
}

void Coordinator::fail_build(uint64_t job_id, const std::string& why) {
    auto job = build_jobs_.find(job_id);
    if (job == build_jobs_.end()) {
        return;
    }
    log(fmt::format("build {} failed: {}", job->second.transfer, why));
    if (job->second.cli != 0) {
        send_to(job->second.cli,
                message::make(message::BuildResult{false, "build failed:\n  " + why}));
    }
    if (job->second.shipment) {
        // Daemons still receiving the files drop them (StopDataflow names the transfer).
        auto stop = message::make(message::StopDataflow{job->second.transfer, 0});
        for (const auto& machine : job->second.shipment->machines) {
            send_to_daemon(machine, stop);
        }
    }
    for (uint64_t request : job->second.pending) {
        build_requests_.erase(request);
    }
    build_transfers_.erase(job->second.transfer);
    build_jobs_.erase(job);
}

void Coordinator::fail_requests_to(const std::string& machine) {
    stats_daemon_gone(machine);
    for (auto it = log_requests_.begin(); it != log_requests_.end();) {
        if (it->second.machine == machine) {
            send_to(it->second.cli,
                    error_message(fmt::format("the daemon of machine `{}` disconnected before "
                                              "sending the log",
                                              machine)));
            it = log_requests_.erase(it);
        } else {
            ++it;
        }
    }
    std::vector<uint64_t> lost;
    for (const auto& [request, build] : build_requests_) {
        if (build.machine == machine) {
            lost.push_back(request);
        }
    }
    for (auto request : lost) {
        build_request_done(
            request, false,
            fmt::format("machine `{}`: the daemon disconnected during the build", machine));
    }
}

}  // namespace dora::coordinator
