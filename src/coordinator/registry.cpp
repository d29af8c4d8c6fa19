#include "coordinator/registry.hpp"

#include <algorithm>

namespace dora::coordinator {

std::string machine_name(const std::string& machine) {
    return machine.empty() ? std::string("the default daemon") : fmt::format("`{}`", machine);
}

Result<DaemonRegistry::Registration> DaemonRegistry::add(
    const std::string& machine, ConnectionId connection, std::string address,
    std::vector<std::string> zenoh_endpoints, SteadyClock::time_point now,
    std::map<std::string, std::string> labels) {
    auto existing = daemons_.find(machine);
    if (existing != daemons_.end() && existing->second.connection) {
        return fail(
            "a daemon for machine {} is already connected (from {}); give each daemon its own "
            "`--machine-id`",
            machine_name(machine), existing->second.address);
    }
    const bool again = existing != daemons_.end();
    Daemon& daemon = daemons_[machine];
    daemon.machine_id = machine;
    daemon.address = std::move(address);
    daemon.zenoh_endpoints = std::move(zenoh_endpoints);
    daemon.labels = std::move(labels);
    daemon.connection = connection;
    daemon.last_heard = now;
    daemon.unreachable = false;
    return again ? Registration::kReconnected : Registration::kNew;
}

void DaemonRegistry::heard_from(const std::string& machine, SteadyClock::time_point now) {
    if (auto it = daemons_.find(machine); it != daemons_.end()) {
        it->second.last_heard = now;
    }
}

bool DaemonRegistry::disconnected(const std::string& machine, ConnectionId connection) {
    auto it = daemons_.find(machine);
    if (it == daemons_.end() || it->second.connection != connection) {
        return false;
    }
    it->second.connection.reset();
    it->second.unreachable = false;
    return true;
}

void DaemonRegistry::disconnect_all() {
    for (auto& [machine, daemon] : daemons_) {
        daemon.connection.reset();
    }
}

std::optional<ConnectionId> DaemonRegistry::connection_of(const std::string& machine) const {
    auto it = daemons_.find(machine);
    return it == daemons_.end() ? std::nullopt : it->second.connection;
}

std::vector<std::string> DaemonRegistry::connected_machines() const {
    std::vector<std::string> machines;
    for (const auto& [machine, daemon] : daemons_) {
        if (daemon.connection) {
            machines.push_back(machine);
        }
    }
    return machines;
}

std::vector<ConnectionId> DaemonRegistry::silent(SteadyClock::time_point now,
                                                 SteadyClock::duration timeout) const {
    std::vector<ConnectionId> out;
    for (const auto& [machine, daemon] : daemons_) {
        if (daemon.connection && now - daemon.last_heard > timeout) {
            out.push_back(*daemon.connection);
        }
    }
    return out;
}

std::vector<std::string> DaemonRegistry::mark_unreachable(SteadyClock::time_point now,
                                                          SteadyClock::duration after) {
    std::vector<std::string> out;
    for (auto& [machine, daemon] : daemons_) {
        if (daemon.connection && !daemon.unreachable && now - daemon.last_heard > after) {
            daemon.unreachable = true;
            daemon.silent_since = daemon.last_heard;
            out.push_back(machine);
        }
    }
    return out;
}

std::optional<SteadyClock::duration> DaemonRegistry::mark_reachable(const std::string& machine) {
    auto it = daemons_.find(machine);
    if (it == daemons_.end() || !it->second.unreachable) {
        return std::nullopt;
    }
    it->second.unreachable = false;
    return it->second.last_heard - it->second.silent_since;
}

std::string DaemonRegistry::missing_daemons_error(const std::set<std::string>& machines) const {
    std::string names;
    std::string hint;
    for (const auto& machine : machines) {
        if (connected(machine)) {
            continue;
        }
        names += (names.empty() ? "" : ", ") + machine_name(machine);
        hint += fmt::format("{}`dora daemon{}{}`", hint.empty() ? "" : ", ",
                            machine.empty() ? "" : " --machine-id ", machine);
    }
    if (names.empty()) {
        return {};
    }
    std::string connected_names;
    for (const auto& machine : connected_machines()) {
        connected_names += (connected_names.empty() ? "" : ", ") + machine_name(machine);
    }
    return fmt::format(
        "no daemon is connected for machine {} (connected daemons: {}); start one on that "
        "machine with {} pointing --coordinator-addr at this coordinator",
        names, connected_names.empty() ? "none" : connected_names, hint);
}

std::vector<message::DaemonInfo> DaemonRegistry::peers_of(const std::string& machine) const {
    std::vector<message::DaemonInfo> peers;
    for (const auto& [other, daemon] : daemons_) {
        if (other != machine) {
            peers.push_back(
                {other, daemon.zenoh_endpoints, daemon.connection.has_value(), 0, daemon.labels});
        }
    }
    return peers;
}

std::vector<message::DaemonInfo> DaemonRegistry::list(SteadyClock::time_point now) const {
    std::vector<message::DaemonInfo> out;
    for (const auto& [machine, daemon] : daemons_) {
        out.push_back(
            {machine, daemon.zenoh_endpoints, daemon.connection.has_value(),
             std::chrono::duration_cast<std::chrono::milliseconds>(now - daemon.last_heard).count(),
             daemon.labels, daemon.unreachable});
    }
    return out;
}

namespace {

std::string labels_text(const std::map<std::string, std::string>& labels) {
    std::string text;
    for (const auto& [k, v] : labels) text += (text.empty() ? "" : ",") + k + "=" + v;
    return text.empty() ? "no labels" : text;
}

bool has_labels(const std::map<std::string, std::string>& have,
                const std::map<std::string, std::string>& want) {
    return std::all_of(want.begin(), want.end(), [&](const auto& label) {
        auto it = have.find(label.first);
        return it != have.end() && it->second == label.second;
    });
}

}  // namespace

std::string DaemonRegistry::daemons_with_labels_text() const {
    std::string text;
    for (const auto& [machine, daemon] : daemons_) {
        if (daemon.connection) {
            text += fmt::format("{}{} ({})", text.empty() ? "" : ", ", machine_name(machine),
                                labels_text(daemon.labels));
        }
    }
    return text.empty() ? std::string("none connected") : text;
}

Result<std::vector<std::string>> DaemonRegistry::candidates(const NodeDescriptor& node,
                                                            const Deploy& deploy) const {
    if (deploy.labels.empty()) {
        return std::vector<std::string>{deploy.machine.value_or("")};
    }
    if (deploy.machine) {
        auto it = daemons_.find(*deploy.machine);
        if (it != daemons_.end() && it->second.connection &&
            !has_labels(it->second.labels, deploy.labels)) {
            return fail("node {} wants machine {} and labels {}, but that daemon has {}", node.id,
                        machine_name(*deploy.machine), labels_text(deploy.labels),
                        labels_text(it->second.labels));
        }
        return std::vector<std::string>{*deploy.machine};  // a missing daemon is reported later
    }
    std::vector<std::string> machines;
    for (const auto& [machine, daemon] : daemons_) {
        if (daemon.connection && has_labels(daemon.labels, deploy.labels)) {
            machines.push_back(machine);
        }
    }
    if (machines.empty()) {
        return fail(
            "no connected daemon has the labels {} that node {} asks for (daemons: {}); start one "
            "with `dora daemon --labels {}`",
            labels_text(deploy.labels), node.id, daemons_with_labels_text(),
            labels_text(deploy.labels));
    }
    return machines;
}

Result<std::map<std::string, std::string>> DaemonRegistry::place_by_labels(
    const Descriptor& descriptor) const {
    std::map<std::string, std::string> placement;
    std::map<std::string, size_t> load;
    for (const auto& node : descriptor.nodes) {
        const Deploy deploy = descriptor.effective_deploy(node);
        auto machines = candidates(node, deploy);
        if (!machines) {
            return fail("{}", machines.error().message());
        }
        if (deploy.labels.empty() || deploy.machine) {
            continue;
        }
        const std::string* best = &machines->front();
        for (const auto& machine : *machines) {
            if (load[machine] < load[*best]) {
                best = &machine;
            }
        }
        placement[node.id] = *best;
        ++load[*best];
    }
    return placement;
}

Result<std::map<std::string, std::vector<std::string>>> DaemonRegistry::build_placement(
    const Descriptor& descriptor) const {
    std::map<std::string, std::vector<std::string>> builds;
    for (const auto& node : descriptor.nodes) {
        if (!node.build && !node.git && !is_url_path(node.path)) {
            continue;
        }
        auto machines = candidates(node, descriptor.effective_deploy(node));
        if (!machines) {
            return fail("{}", machines.error().message());
        }
        for (const auto& machine : *machines) {
            builds[machine].push_back(node.id);
        }
    }
    return builds;
}

std::string DaemonRegistry::summary() const {
    std::string text;
    for (const auto& [machine, daemon] : daemons_) {
        text += fmt::format("\n  {}: {}", machine.empty() ? "(default)" : machine,
                            daemon.connection ? "connected" : "disconnected");
    }
    return text;
}

}  // namespace dora::coordinator
