// The coordinator's part of `dora node list` and `dora top` (message/node_stats.hpp): a
// CliNodeStats becomes one ReadStats per machine of the selected running dataflows; the reply
// goes out once every asked daemon answered, or when stats_timeout passed (the silent ones are
// named, their nodes shown as not answering), or at once when no daemon had to be asked (a
// finished dataflow is answered from its results). A daemon that disconnects meanwhile counts as
// answered with its nodes lost.
#include <algorithm>

#include "coordinator/coordinator.hpp"
#include "message/coordinator_to_daemon.hpp"

namespace dora::coordinator {

namespace {

// Nodes lost_nodes() marked: their machine went away.
bool was_lost(const message::NodeResultInfo& result) {
    return result.status.rfind("was lost", 0) == 0;
}

// A node its daemon did not describe: from its result, else from how its daemon answered.
message::NodeStats node_without_report(const std::string& node_id, const std::string& machine,
                                       const std::vector<message::NodeResultInfo>& results,
                                       const message::MachineAnswer* answer) {
    message::NodeStats node;
    node.node_id = node_id;
    node.machine_id = machine;
    auto result = std::find_if(results.begin(), results.end(), [&](const auto& r) {
        return r.node_id == node_id && r.machine_id == machine;
    });
    if (result != results.end()) {
        node.status = was_lost(*result) ? message::kNodeLost : message::kNodeExited;
        node.exit_status = result->status;
        node.exit_code = result->exit_code;
    } else if (answer != nullptr && answer->state == message::kDisconnected) {
        node.status = message::kNodeLost;
    } else if (answer != nullptr && answer->state == message::kNoAnswer) {
        node.status = message::kNodeNoAnswer;
    } else {
        node.status = message::kNodeNotStarted;  // its daemon is still preparing it
    }
    return node;
}

}  // namespace

Result<std::vector<const Coordinator::Dataflow*>> Coordinator::select_for_stats(
    const std::string& wanted) const {
    std::vector<const Dataflow*> active;
    const Dataflow* newest_finished = nullptr;
    for (const auto& [id, dataflow] : dataflows_) {  // uuid v7: oldest first
        if (!wanted.empty() && id != wanted && dataflow.name != wanted) {
            continue;
        }
        if (dataflow.active()) {
            active.push_back(&dataflow);
        } else {
            newest_finished = &dataflow;
        }
    }
    if (active.empty() && newest_finished != nullptr && !wanted.empty()) {
        active.push_back(newest_finished);
    }
    if (active.empty() && !wanted.empty()) {
        return fail("no dataflow with id or name `{}` (see `dora list`)", wanted);
    }
    return active;
}

void Coordinator::handle(Peer& cli, const message::CliNodeStats& m) {
    auto selected = select_for_stats(m.dataflow);
    if (!selected) {
        cli.channel->send(message::make(message::ErrorMessage{selected.error().message()}));
        return;
    }
    request_stats(*selected, cli.id, nullptr);
}

void Coordinator::request_stats(const std::vector<const Dataflow*>& selected, ConnectionId cli,
                                std::function<void(message::NodeStatsReply)> done) {
    const uint64_t id = next_request_++;
    StatsRequest& request = stats_requests_[id];
    request.cli = cli;
    request.done = std::move(done);
    request.asked = loop_.now();
    std::map<std::string, std::vector<std::string>> per_machine;
    for (const Dataflow* dataflow : selected) {
        request.dataflows.push_back(dataflow->id);
        if (!dataflow->active()) {
            continue;  // answered from its results
        }
        for (const auto& [machine, nodes] : dataflow->nodes_per_machine) {
            per_machine[machine].push_back(dataflow->id);
        }
    }
    for (auto& [machine, ids] : per_machine) {
        if (send_to_daemon(machine, message::make(message::ReadStats{id, std::move(ids)}))) {
            request.pending.insert(machine);
            request.answers[machine] = {machine, message::kNoAnswer, 0, 0};
        } else {
            request.answers[machine] = {machine, message::kDisconnected, 0, 0};
        }
    }
    if (request.pending.empty()) {
        finish_stats(id);
        return;
    }
    request.deadline = loop_.add_timer(options_.stats_timeout, [this, id] { finish_stats(id); });
}

void Coordinator::handle(const std::string& machine, message::DaemonStats& m) {
    auto it = stats_requests_.find(m.request_id);
    if (it == stats_requests_.end() || it->second.pending.erase(machine) == 0) {
        return;  // late (the reply went out without it) or not asked
    }
    StatsRequest& request = it->second;
    const auto took =
        std::chrono::duration_cast<std::chrono::microseconds>(loop_.now() - request.asked);
    request.answers[machine] = {machine, message::kAnswered, took.count(), m.sample_us};
    request.replies[machine] = std::move(m.dataflows);
    if (request.pending.empty()) {
        finish_stats(m.request_id);
    }
}

void Coordinator::stats_daemon_gone(const std::string& machine) {
    std::vector<uint64_t> complete;
    for (auto& [id, request] : stats_requests_) {
        if (request.pending.erase(machine) != 0) {
            request.answers[machine].state = message::kDisconnected;
            if (request.pending.empty()) {
                complete.push_back(id);
            }
        }
    }
    for (uint64_t id : complete) {
        finish_stats(id);
    }
}

void Coordinator::finish_stats(uint64_t id) {
    auto it = stats_requests_.find(id);
    if (it == stats_requests_.end()) {
        return;
    }
    StatsRequest request = std::move(it->second);
    stats_requests_.erase(it);
    message::NodeStatsReply reply;
    for (const auto& dataflow_id : request.dataflows) {
        if (auto d = dataflows_.find(dataflow_id); d != dataflows_.end()) {
            reply.dataflows.push_back(stats_of(d->second, &request));
        }
    }
    if (request.done) {
        request.done(std::move(reply));
        return;
    }
    send_to(request.cli, message::make(reply));
}

message::DataflowStats Coordinator::stats_of(const Dataflow& dataflow,
                                             const StatsRequest* request) const {
    message::DataflowStats out;
    out.id = dataflow.id;
    out.name = dataflow.name;
    out.status = status_name(dataflow.status);
    for (const auto& [machine, node_ids] : dataflow.nodes_per_machine) {
        const message::MachineAnswer* answer = nullptr;
        const std::vector<message::NodeStats>* reported = nullptr;
        if (request != nullptr && dataflow.active()) {
            if (auto a = request->answers.find(machine); a != request->answers.end()) {
                answer = &a->second;
                out.machines.push_back(a->second);
            }
            if (auto r = request->replies.find(machine); r != request->replies.end()) {
                for (const auto& part : r->second) {
                    if (part.dataflow_id == dataflow.id) reported = &part.nodes;
                }
            }
        }
        for (const auto& node_id : node_ids) {
            const message::NodeStats* found = nullptr;
            if (reported != nullptr) {
                auto n = std::find_if(reported->begin(), reported->end(),
                                      [&](const auto& s) { return s.node_id == node_id; });
                found = n == reported->end() ? nullptr : &*n;
            }
            out.nodes.push_back(
                found != nullptr ? *found
                                 : node_without_report(node_id, machine, dataflow.results, answer));
            out.nodes.back().machine_id = machine;
        }
    }
    out.edges = message::edges_of(out.nodes);
    return out;
}

}  // namespace dora::coordinator
