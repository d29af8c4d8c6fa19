// The coordinator's part of file shipping (issue 15): a start's (or a build's) files go from the
// CLI to the daemons that lack them. PrepareDataflow (or BuildNodes) carries the manifest; each
// daemon answers FilesNeeded; once all have, the CLI gets SendFiles (the union of what is missing)
// and sends CliFileChunks, which are relayed to exactly the daemons that lack that file. Each chunk
// is acknowledged to the CLI (FileChunkAck) once every one of them stored it; the CLI keeps a few
// chunks in flight, so the coordinator holds a few chunks per daemon, never a dataflow's files. A
// daemon's refusal (hash mismatch, disk full) fails the start or the build, naming the machine.
#include "coordinator/coordinator.hpp"
#include "core/hex.hpp"
#include "deploy/manifest.hpp"
#include "message/control.hpp"

namespace dora::coordinator {

namespace {

// A CLI that keeps more than this many chunks unacknowledged is refused: it would make the
// coordinator hold what it has not passed on yet.
constexpr size_t kMaxUnackedChunks = 2 * message::kFileChunkWindow;

std::string machine_list(const std::set<std::string>& machines) {
    std::string out;
    for (const auto& m : machines) {
        out += (out.empty() ? "`" : ", `") + m + "`";
    }
    return out;
}

}  // namespace

Result<> Coordinator::check_files(const nlohmann::json& files) {
    if (files.is_null()) {
        return {};
    }
    if (auto manifest = deploy::manifest_from_json(files); !manifest) {
        return fail(manifest.error());
    }
    return {};
}

std::vector<std::string> Coordinator::away_from(
    const std::string& cli_machine,
    const std::map<std::string, std::vector<std::string>>& machines) const {
    std::vector<std::string> away;
    for (const auto& [machine, nodes] : machines) {
        auto identity = machine_identities_.find(machine);
        if (identity == machine_identities_.end() || identity->second.empty() ||
            identity->second != cli_machine) {
            away.push_back(machine);
        }
    }
    return away;
}

Coordinator::Shipment Coordinator::make_shipment(ConnectionId cli, const nlohmann::json& files,
                                                 std::set<std::string> machines) {
    Shipment shipment;
    shipment.cli = cli;
    if (auto manifest = deploy::manifest_from_json(files)) {  // checked by check_files
        for (const auto& file : manifest->files) {
            shipment.sizes[file.sha256] = file.size;
        }
    }
    shipment.awaiting_needs = machines;
    shipment.machines = std::move(machines);
    return shipment;
}

void Coordinator::begin_shipment(Dataflow& dataflow, ConnectionId cli,
                                 const nlohmann::json& files) {
    std::set<std::string> machines;
    for (const auto& [machine, nodes] : dataflow.nodes_per_machine) {
        machines.insert(machine);
    }
    dataflow.shipment = make_shipment(cli, files, std::move(machines));
}

Coordinator::Transfer Coordinator::find_transfer(const std::string& id) {
    if (auto it = dataflows_.find(id); it != dataflows_.end()) {
        Dataflow& dataflow = it->second;
        if (dataflow.status == Status::kPreparing && dataflow.shipment) {
            return Transfer{&*dataflow.shipment, &dataflow, 0};
        }
        return {};
    }
    if (auto it = build_transfers_.find(id); it != build_transfers_.end()) {
        auto job = build_jobs_.find(it->second);
        if (job != build_jobs_.end() && job->second.shipment) {
            return Transfer{&*job->second.shipment, nullptr, it->second};
        }
    }
    return {};
}

void Coordinator::fail_transfer(const Transfer& transfer, const std::string& why) {
    if (transfer.dataflow != nullptr) {
        fail_start(*transfer.dataflow, why);
    } else {
        fail_build(transfer.build, why);
    }
}

void Coordinator::arm_prepare_deadline(Dataflow& dataflow) {
    dataflow.prepare_deadline = loop_.add_timer(options_.prepare_timeout, [this, id = dataflow.id] {
        auto it = dataflows_.find(id);
        if (it == dataflows_.end() || it->second.status != Status::kPreparing) {
            return;
        }
        fail_start(it->second, fmt::format("daemon(s) {} did not prepare the dataflow within {} s",
                                           machine_list(it->second.awaiting_prepared),
                                           options_.prepare_timeout.count() / 1000));
    });
}

void Coordinator::handle(const std::string& machine, const message::FilesNeeded& m) {
    const Transfer transfer = find_transfer(m.transfer);
    if (transfer.shipment == nullptr || transfer.shipment->awaiting_needs.erase(machine) == 0) {
        return;  // failed or stopped meanwhile
    }
    Shipment& shipment = *transfer.shipment;
    if (m.local) {
        shipment.local.insert(machine);
    }
    for (const auto& sha : m.missing) {
        if (!shipment.sizes.contains(sha)) {
            fail_transfer(transfer, fmt::format("machine `{}` asked for a file the dataflow does "
                                                "not have; run the same dora version on every "
                                                "machine",
                                                machine));
            return;
        }
        shipment.wanted[sha].insert(machine);
    }
    if (!shipment.awaiting_needs.empty()) {
        return;
    }
    message::SendFiles send;
    send.transfer = m.transfer;
    std::set<std::string> machines;
    for (const auto& [sha, lacking] : shipment.wanted) {
        send.sha256.push_back(sha);
    }
    for (const auto& other : shipment.machines) {
        if (!shipment.local.contains(other)) {
            machines.insert(other);
        }
    }
    send.machines.assign(machines.begin(), machines.end());
    send.local_machines.assign(shipment.local.begin(), shipment.local.end());
    if (peer(shipment.cli) == nullptr) {
        if (!send.sha256.empty()) {
            fail_transfer(transfer, "the CLI that sent it disconnected before sending its files");
        }
        return;
    }
    shipment.asked = true;
    send_to(shipment.cli, message::make(send));
    log(fmt::format("{} {}: {} file(s) to send to {}",
                    transfer.dataflow != nullptr ? "dataflow" : "build", m.transfer,
                    send.sha256.size(),
                    machines.empty() ? std::string("no machine") : machine_list(machines)));
}

void Coordinator::handle(Peer& cli, message::CliFileChunk& m) {
    auto refuse = [&](const std::string& why) {
        cli.channel->send(
            message::make(message::FileChunkAck{m.transfer, m.sha256, m.offset, why}));
    };
    const Transfer transfer = find_transfer(m.transfer);
    if (transfer.shipment == nullptr) {
        refuse(
            fmt::format("dataflow or build {} is not waiting for files (it failed or was "
                        "stopped)",
                        m.transfer));
        return;
    }
    Shipment& shipment = *transfer.shipment;
    if (shipment.cli != cli.id || !shipment.asked) {
        refuse(fmt::format("{} asked this CLI for no files", m.transfer));
        return;
    }
    auto wanted = shipment.wanted.find(m.sha256);
    if (wanted == shipment.wanted.end()) {
        refuse(fmt::format("no machine of {} asked for file {}", m.transfer, m.sha256));
        return;
    }
    if (shipment.unacked.size() >= kMaxUnackedChunks) {
        const std::string why = fmt::format(
            "the CLI sent more than {} file chunks without waiting for them to be stored; run the "
            "same dora version as the coordinator",
            kMaxUnackedChunks);
        refuse(why);
        fail_transfer(transfer, why);
        return;
    }
    std::set<std::string> machines;
    const size_t padding = m.data.ends_with("==") ? 2 : m.data.ends_with('=') ? 1 : 0;
    const uint64_t end = m.offset + m.data.size() / 4 * 3 - std::min(padding, m.data.size());
    const auto chunk =
        message::make(message::FileChunk{m.transfer, m.sha256, m.offset, std::move(m.data)});
    for (const auto& machine : wanted->second) {
        if (send_to_daemon(machine, chunk)) {
            machines.insert(machine);
        }
    }
    if (machines.empty()) {
        refuse(fmt::format("the daemons that need file {} are not connected", m.sha256));
        return;
    }
    shipment.unacked[{m.sha256, m.offset}] = {std::move(machines), end};
    if (transfer.dataflow != nullptr) {
        arm_prepare_deadline(*transfer.dataflow);  // a large transfer is progress, not a hang
    }
}

void Coordinator::handle(const std::string& machine, const message::FileChunkStored& m) {
    const Transfer transfer = find_transfer(m.transfer);
    if (transfer.shipment == nullptr) {
        return;
    }
    Shipment& shipment = *transfer.shipment;
    auto chunk = shipment.unacked.find({m.sha256, m.offset});
    if (chunk == shipment.unacked.end() || chunk->second.machines.erase(machine) == 0) {
        return;
    }
    if (!m.error.empty()) {
        const std::string error = fmt::format("machine `{}`: {}", machine, m.error);
        send_to(shipment.cli,
                message::make(message::FileChunkAck{m.transfer, m.sha256, m.offset, error}));
        fail_transfer(transfer, error);
        return;
    }
    if (!chunk->second.machines.empty()) {
        return;
    }
    if (chunk->second.end >= shipment.sizes[m.sha256]) {
        shipment.delivered.insert(m.sha256);
    }
    shipment.unacked.erase(chunk);
    send_to(shipment.cli, message::make(message::FileChunkAck{m.transfer, m.sha256, m.offset, ""}));
}

void Coordinator::shipping_cli_gone(ConnectionId cli) {
    auto given_up = [cli](const Shipment& shipment) {
        return shipment.cli == cli && shipment.awaiting_needs.empty() &&
               shipment.delivered.size() < shipment.wanted.size();
    };
    for (auto& [id, dataflow] : dataflows_) {
        if (dataflow.status == Status::kPreparing && dataflow.shipment &&
            given_up(*dataflow.shipment)) {
            fail_start(dataflow, "the CLI that was sending its files disconnected; start it again");
        }
    }
    std::vector<uint64_t> builds;
    for (const auto& [id, job] : build_jobs_) {
        if (job.shipment && given_up(*job.shipment)) builds.push_back(id);
    }
    for (uint64_t id : builds) {
        fail_build(id, "the CLI that was sending its files disconnected; build again");
    }
}

}  // namespace dora::coordinator
