// What `dora cluster` runs on a machine, as POSIX sh scripts sent over ssh (cluster_ssh.hpp),
// and what it reads back. Everything lives in the machine's install dir (ClusterFile::dir_of):
//
//   .dora-cluster        marker: this dir was made by `dora cluster up` (down removes only such)
//   bin/dora, bin/dora-runtime, <libdir>/dora/python/   the copied bundle (bundle.sha256 lists
//                        their SHA-256; its own hash is the bundle's identity)
//   token                the cluster token, mode 0600
//   daemon.sh            the daemon's command line and environment
//   exe                  the dora executable daemon.sh runs (copied, or one already there)
//   work/                the daemon's work dir; daemon.log its log
//   supervise.sh, supervisor.pid, daemon.pid, daemon.out   the supervised-process service
//
// The systemd service is a unit `dora-daemon-<id>.service` (system unit as root, else
// `systemctl --user`) that runs daemon.sh.
//
// Thread safety: pure functions.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "cli/cluster_file.hpp"
#include "core/error.hpp"

namespace dora::cli {

// A probe's answer: `key=value` lines.
struct Probe {
    std::string dir;        // resolved (absolute)
    std::string arch;       // uname -m
    std::string dir_state;  // missing | ours | foreign
    std::string bundle;     // identity of the intact copied bundle, "" if none
    std::string path_dora;  // `dora` on PATH there, if any
    std::string path_version;
    std::string running_version;  // of the exe daemon.sh runs
    std::string systemd;          // system | user | none
    std::string service;          // systemd | process | none: how the daemon runs now
    std::string user;             // who ssh logged in as there
    bool linger = false;          // logind keeps that user's manager running without a session
    bool running = false;
    std::optional<uint64_t> free_bytes;
};

[[nodiscard]] std::string probe_script(const ClusterFile& file, const ClusterMachine& machine);
[[nodiscard]] Result<Probe> parse_probe(const std::string& output);

// Unpacks the bundle (a tar on stdin) into a fresh dir, checks every file against bundle.sha256
// and that `bin/dora --version` runs, then moves it into place. Prints `ok` or `error=...`.
[[nodiscard]] std::string install_script(const ClusterFile& file, const ClusterMachine& machine);

struct LaunchPlan {
    std::string exe;            // the dora executable there
    std::string service;        // systemd | process
    std::string systemd_scope;  // system | user (for systemd)
    bool restart = false;       // the executable changed: restart even if nothing else did
};

// The daemon's start script (daemon.sh) for `machine`.
[[nodiscard]] std::string daemon_script(const ClusterFile& file, const ClusterMachine& machine,
                                        const std::string& dir, const std::string& exe);
// The systemd unit running daemon.sh from `dir`; `scope` system or user.
[[nodiscard]] std::string unit_text(const ClusterMachine& machine, const std::string& dir,
                                    const std::string& scope);
// The supervisor loop of the process service.
[[nodiscard]] std::string supervisor_script(const ClusterMachine& machine, const std::string& dir);

// Writes the token (read from stdin), daemon.sh and the service, and starts or restarts the daemon
// when something changed. Prints `action=unchanged|started|restarted`, or `error=...`.
[[nodiscard]] std::string apply_script(const ClusterFile& file, const ClusterMachine& machine,
                                       const std::string& dir, const LaunchPlan& plan);

// Stops the daemon (unit or supervisor) and removes what `up` installed. Prints `removed=...` and
// `stopped=...` lines.
[[nodiscard]] std::string down_script(const ClusterFile& file, const ClusterMachine& machine);

// The last lines of the daemon's log there (for a daemon that did not register).
[[nodiscard]] std::string log_tail_script(const ClusterFile& file, const ClusterMachine& machine);

// `error=` lines of a script's output joined, "" when there are none.
[[nodiscard]] std::string script_errors(const std::string& output);
// The value of the first `key=` line, "" when absent.
[[nodiscard]] std::string script_value(const std::string& output, std::string_view key);

}  // namespace dora::cli
