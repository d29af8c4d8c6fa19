// The cluster file of `dora cluster up|status|down`: where the coordinator runs and the machines
// to bring daemons up on over ssh. dora 1.x's keys (`coordinator: {addr, port}`, `machines[]`
// with `id`, `host`, `user`, `port`, `daemon_port`, `labels`) mean the same here, so its files
// work; dora-cpp adds `coordinator.control_port`, `ssh: {config, options}` and, per machine,
// `env`, `dir`, `identity_file` and `service`. dora 1.x's `zenoh_peer` is refused by name.
//
// Every problem is reported at once, each as `file:line:column: message`; an unknown key gets a
// did-you-mean and the list of keys.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace dora::cli {

// How the daemon of a machine is kept running.
enum class ServiceKind {
    kAuto,     // a systemd unit where systemd runs (system unit as root, else `--user`), else a
               // process
    kSystemd,  // a systemd unit, or an error where systemd does not run
    kProcess,  // a supervised background process (restarted when it dies)
};

struct ClusterMachine {
    std::string id;
    std::string host;
    std::string user;                  // "" = ssh's choice (ssh config, else the login name)
    std::optional<uint16_t> ssh_port;  // `port:`; none = ssh's choice (22)
    uint16_t daemon_port = 53291;      // the daemon's --local-listen-port
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> env;  // the daemon's environment (and so its nodes')
    std::string dir;            // install dir there; "" = `.dora/cluster/<id>` under home
    std::string identity_file;  // ssh -i, absolute ("" = ssh's keys)
    ServiceKind service = ServiceKind::kAuto;
};

struct ClusterFile {
    std::filesystem::path path;
    std::string coordinator_addr;          // what the daemons connect to
    uint16_t coordinator_port = 53290;     // the coordinator's port for daemons
    uint16_t control_port = 6012;          // its port for the CLI (on this machine's loopback)
    std::string ssh_config;                // ssh -F, absolute ("" = the user's)
    std::vector<std::string> ssh_options;  // each ssh -o, in order
    std::vector<ClusterMachine> machines;

    // The install dir of `machine` as given to the remote shell ("" made the default).
    [[nodiscard]] std::string dir_of(const ClusterMachine& machine) const;
};

// Relative paths (`ssh.config`, `identity_file`) are relative to the directory of `path`.
[[nodiscard]] Result<ClusterFile> parse_cluster_file(std::string_view text,
                                                     const std::filesystem::path& path);
[[nodiscard]] Result<ClusterFile> load_cluster_file(const std::filesystem::path& path);

}  // namespace dora::cli
