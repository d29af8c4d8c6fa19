// The daemon's part of `dora build` and of the node sources (daemon/node_source.hpp): build
// requests, clones and downloads run as BuildRunner steps on the loop; a start whose URL nodes
// are not downloaded yet is prepared once the downloads end. A build sent from another machine
// with its files (as `dora start` sends them, daemon_files.cpp) runs in a fresh copy of them.
#include <algorithm>
#include <memory>
#include <span>

#include "core/sys.hpp"
#include "daemon/daemon.hpp"
#include "daemon/node_command.hpp"
#include "daemon/node_source.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"

namespace dora::daemon {

std::filesystem::path Daemon::clone_root(const Descriptor& descriptor,
                                         const std::string& cli_machine) const {
    // A dataflow sent from another machine is built in the work directory's `build`.
    return cli_machine != sys::machine_identity() ? options_.work_dir / "build"
                                                  : descriptor.base_dir;
}

std::string Daemon::clones_in_use(const std::vector<BuildRunner::Step>& steps) const {
    std::string busy;
    for (const auto& step : steps) {
        if (step.target.empty()) continue;
        const std::filesystem::path& dir = step.target;
        for (const auto& [id, flow] : dataflows_) {
            for (const auto& node : flow->descriptor.nodes) {
                if (node.checkout_dir == dir) {
                    busy += fmt::format(
                        "\n  node {}: {} is in use by node {} of running dataflow "
                        "{}; stop it before rebuilding",
                        step.node_id, dir.string(), node.id, id);
                }
            }
        }
    }
    return busy;
}

std::filesystem::path Daemon::build_copy_dir(const std::string& cli_machine,
                                             const std::string& descriptor_path) const {
    const std::string key = cli_machine + "\n" + descriptor_path;
    return options_.work_dir / "builds" /
           deploy::sha256_hex(std::as_bytes(std::span(key.data(), key.size()))).substr(0, 16);
}

void Daemon::handle(const message::BuildNodes& request) {
    message::BuildNodes stripped = request;  // kept without its files
    stripped.files = nullptr;
    if (request.files.is_null()) {
        build(stripped, {});
        return;
    }
    if (request.cli_machine == sys::machine_identity()) {
        // The CLI's machine: built in the dataflow's own directory.
        link_->send(message::make(message::FilesNeeded{request.transfer, {}, true}));
        build(stripped, {});
        return;
    }
    const uint64_t request_id = request.request_id;
    receive_files(
        request.transfer, "build " + request.transfer, request.files,
        [this, stripped](const deploy::Manifest& manifest, uint64_t files, uint64_t bytes) {
            // A fresh copy each build: nothing of an earlier one (sources since deleted, stale
            // output) leaks into it.
            const auto dir = build_copy_dir(stripped.cli_machine, stripped.descriptor_path);
            std::error_code ec;
            std::filesystem::remove_all(dir, ec);
            std::filesystem::create_directories(dir.parent_path(), ec);
            if (auto copied = file_store_->materialize(manifest, dir); !copied) {
                link_->send(message::make(message::DaemonBuildResult{
                    stripped.request_id, false,
                    fmt::format("cannot copy the dataflow's files into {}: {}", dir.string(),
                                copied.error().message())}));
                return;
            }
            say(fmt::format("build {}: {} file(s) in {}; received {} ({} bytes)", stripped.transfer,
                            manifest.files.size(), dir.string(), files, bytes));
            build(stripped, dir);
        },
        [this, request_id](const std::string& why) {
            // The coordinator puts the machine in front of the message.
            link_->send(message::make(message::DaemonBuildResult{request_id, false, why}));
        });
}

void Daemon::build(const message::BuildNodes& request, const std::filesystem::path& copy) {
    const uint64_t request_id = request.request_id;
    auto reply = [this, request_id](bool success, const std::string& text) {
        link_->send(message::make(message::DaemonBuildResult{request_id, success, text}));
    };
    auto descriptor = parse_descriptor(request.descriptor_yaml, request.descriptor_path);
    if (!descriptor) {
        reply(false, descriptor.error().message());
        return;
    }
    if (request.cli_machine != sys::machine_identity()) {
        descriptor->base_dir = copy.empty() ? clone_root(*descriptor, request.cli_machine) : copy;
        std::error_code ec;
        std::filesystem::create_directories(descriptor->base_dir, ec);
        if (ec) {
            reply(false, fmt::format("cannot create the build directory {}: {}",
                                     descriptor->base_dir.string(), ec.message()));
            return;
        }
    }
    const Descriptor& d = *descriptor;
    // The coordinator names the nodes built here (a node placed by labels may be built on several
    // daemons).
    auto steps = plan_build(
        d,
        [&request](const NodeDescriptor& node) {
            return std::find(request.nodes.begin(), request.nodes.end(), node.id) !=
                   request.nodes.end();
        },
        source_places(clone_root(d, request.cli_machine)));
    if (auto busy = clones_in_use(steps); !busy.empty()) {
        reply(false, "cannot update a git checkout that a running dataflow uses:" + busy);
        return;
    }
    builds_->run(
        std::move(steps),
        [this, request_id](const std::string& node, std::string_view line) {
            link_->send(
                message::make(message::DaemonBuildOutput{request_id, node, std::string(line)}));
        },
        // The coordinator puts the machine in front of the message.
        reply);
}

void Daemon::fetch_then_prepare(const message::PrepareDataflow& request, Descriptor descriptor) {
    const Descriptor& d = descriptor;
    auto downloads = plan_downloads(
        d, [this, &d](const NodeDescriptor& node) { return is_local(d, node); },
        source_places(clone_root(d, request.cli_machine)));
    if (downloads.empty()) {
        prepare(request, std::move(descriptor));
        return;
    }
    const std::string id = request.dataflow_id;
    fetching_[id] = false;
    auto pending = std::make_shared<std::pair<message::PrepareDataflow, Descriptor>>(
        request, std::move(descriptor));
    builds_->run(
        std::move(downloads),
        [this, id](const std::string& node, std::string_view line) {
            say(fmt::format("dataflow {}: node {}: {}", id, node, line));
            message::DaemonLog log;
            log.log = {id, node, options_.machine_id, "dora", std::string(line)};
            link_->send(message::make(log));
        },
        [this, id, pending](bool success, const std::string& message) {
            auto fetching = fetching_.extract(id);
            if (fetching.empty() || fetching.mapped()) {
                return;  // stopped meanwhile: nothing to prepare
            }
            if (!success) {
                message::DataflowPrepared reply;
                reply.dataflow_id = id;
                reply.error = fmt::format("machine `{}`: {}", options_.machine_id, message);
                link_->send(message::make(reply));
                return;
            }
            prepare(pending->first, std::move(pending->second));
        });
}

Result<> Daemon::check_local_nodes(Descriptor& descriptor, const std::string& cli_machine) const {
    const Descriptor& d = descriptor;
    auto local = [this, &d](const NodeDescriptor& node) { return is_local(d, node); };
    if (auto ok = resolve_fetched_sources(descriptor, local,
                                          source_places(clone_root(descriptor, cli_machine)));
        !ok) {
        return fail("machine `{}`: {}", options_.machine_id, ok.error().message());
    }
    std::string problems;
    for (const auto& node : descriptor.nodes) {
        if (!is_local(descriptor, node)) continue;
        auto dir = node_working_dir(descriptor, node);
        std::error_code ec;
        if (!std::filesystem::is_directory(dir, ec)) {
            problems += fmt::format("\nmachine `{}`: node {}: working directory {} does not exist",
                                    options_.machine_id, node.id, dir.string());
            continue;
        }
        // Fetched sources were built by `dora build` already: their files must be there now.
        bool fetched = node.git || !node.checkout_dir.empty() || is_url_path(node.path);
        bool names_a_file = node.kind == NodeKind::kExecutable || node.kind == NodeKind::kPython;
        if (names_a_file && (!node.build || fetched)) {
            if (auto p = resolve_node_path(descriptor, node); !p) {
                problems += fmt::format(
                    "\nmachine `{}`: node {}{}: {}", options_.machine_id, node.id,
                    node.git ? " (from " + describe_git_source(*node.git) + ")" : std::string(),
                    p.error().message());
            }
        }
        if (node.kind == NodeKind::kOperators && !node.build) {
            for (const auto& op : node.operators) {
                if (auto p = resolve_operator_file(descriptor, op); !p) {
                    problems += fmt::format("\nmachine `{}`: node {}: {}", options_.machine_id,
                                            node.id, p.error().message());
                }
            }
        }
    }
    if (!problems.empty()) {
        return fail("the dataflow cannot run here:{}", problems);
    }
    return {};
}

}  // namespace dora::daemon
