// How `dora cluster` reaches a machine: the OpenSSH client (`ssh`, with the user's keys and ssh
// config, BatchMode so it never prompts), one remote `sh -c SCRIPT` per step, its output captured.
// A failed connection becomes an error that names the machine and says what to do (unreachable,
// key refused, unknown host key).
//
// Thread safety: free functions; each call runs its own child processes.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cli/cluster_file.hpp"
#include "core/error.hpp"

namespace dora::cli {

struct CommandOutput {
    int exit_code = 0;  // 128 + signal when killed
    std::string out;
    std::string err;
};

// Runs `argv` (looked up on PATH) with `input` on its stdin, or with the file `input_file` on it
// when that is not empty; kills it after `timeout`.
[[nodiscard]] Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                                const std::string& input,
                                                const std::string& input_file,
                                                std::chrono::seconds timeout);

// `text` quoted for a POSIX shell ('...').
[[nodiscard]] std::string shell_quote(std::string_view text);

// "user@host:port" as the messages name a machine's ssh address.
[[nodiscard]] std::string ssh_address(const ClusterMachine& machine);

// The ssh command line that runs `sh -c script` on `machine`.
[[nodiscard]] std::vector<std::string> ssh_argv(const ClusterFile& file,
                                                const ClusterMachine& machine,
                                                const std::string& script);

struct SshRun {
    std::string script;
    std::string input;       // on the script's stdin
    std::string input_file;  // or this file's content
    std::chrono::seconds timeout{60};
};

// Runs the script on the machine. An ssh failure (exit 255) is an error saying what to do (the
// caller names the machine); any other exit is returned for the caller to judge.
[[nodiscard]] Result<CommandOutput> ssh_run(const ClusterFile& file, const ClusterMachine& machine,
                                            const SshRun& run);

}  // namespace dora::cli
