// `dora cluster up|status|down [FILE]` (see cluster.hpp): registration, `status`, `down` and
// what they share; `up` is in cluster_up.cpp.
#include "cli/cluster.hpp"

#include <signal.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <tuple>

#include "cli/cluster_bundle.hpp"
#include "cli/cluster_remote.hpp"
#include "cli/cluster_ssh.hpp"
#include "cli/commands.hpp"
#include "core/sys.hpp"

namespace dora::cli {
namespace {

bool is_coordinator(pid_t pid) {
    std::ifstream in(fmt::format("/proc/{}/cmdline", pid));
    std::string cmdline((std::istreambuf_iterator<char>(in)), {});
    return cmdline.find(std::string("coordinator\0", 12)) != std::string::npos;
}

std::string service_text(const Probe& probe) {
    if (probe.service == "none") return "none";
    return probe.service + (probe.running ? " (running)" : " (stopped)");
}

// Dataflows that have nodes on `machine` and are not finished.
size_t running_dataflows(const message::DataflowList& list, const std::string& machine) {
    size_t count = 0;
    for (const auto& d : list.dataflows) {
        if (d.status == "finished" || d.status == "failed") continue;
        for (const auto& [m, nodes] : d.nodes_per_machine) {
            if (m == machine) {
                ++count;
                break;
            }
        }
    }
    return count;
}

void run_status(const ClusterOptions& options) {
    ::signal(SIGPIPE, SIG_IGN);
    auto file = load_cluster_file(options.file);
    if (!file) throw Exception(file.error());
    const auto list = cluster_list(cluster_client(*file, options));
    const auto state = read_cluster_state(*file);
    std::cout << "coordinator: "
              << (list ? fmt::format("running (control port 127.0.0.1:{}{})", file->control_port,
                                     state && state->coordinator_pid != 0
                                         ? fmt::format(", pid {}", state->coordinator_pid)
                                         : "")
                       : fmt::format("not answering on 127.0.0.1:{}", file->control_port))
              << std::endl;
    std::vector<std::vector<std::string>> rows{{"MACHINE", "ADDRESS", "REACHABLE", "DAEMON VERSION",
                                                "SERVICE", "REGISTERED", "DATAFLOWS"}};
    std::string problems;
    for (const auto& m : file->machines) {
        const bool is_registered = list && registered(*list, m.id);
        const std::string dataflows = list ? std::to_string(running_dataflows(*list, m.id)) : "?";
        auto out = ssh_run(*file, m, {probe_script(*file, m), "", "", std::chrono::seconds(60)});
        Result<Probe> probe = out ? parse_probe(out->out) : fail(out.error());
        if (!probe) {
            rows.push_back(
                {m.id, ssh_address(m), "no", "?", "?", is_registered ? "yes" : "no", dataflows});
            problems += fmt::format("machine `{}` ({}): {}\n", m.id, ssh_address(m),
                                    probe.error().message());
            continue;
        }
        rows.push_back({m.id, ssh_address(m), "yes",
                        probe->running_version.empty() ? "-" : probe->running_version,
                        service_text(*probe), is_registered ? "yes" : "no", dataflows});
    }
    print_table(rows);
    std::cerr << problems;
}

// Stops the coordinator `up` started and removes the token it made.
void down_here(const ClusterFile& file) {
    const auto state = read_cluster_state(file);
    if (!state) return;
    const pid_t pid = state->coordinator_pid;
    if (pid != 0 && is_coordinator(pid)) {
        ::kill(pid, SIGTERM);
        for (int i = 0; i < 200 && ::kill(pid, 0) == 0 && is_coordinator(pid); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        if (is_coordinator(pid)) ::kill(pid, SIGKILL);
        std::cout << "here: stopped the coordinator (pid " << pid << ")" << std::endl;
    }
    std::error_code ec;
    if (!state->token_created.empty() && std::filesystem::remove(state->token_created, ec)) {
        std::cout << "here: removed the cluster token " << state->token_created
                  << " (made by dora cluster up)" << std::endl;
    }
    std::filesystem::remove(cluster_state_path(file), ec);
    std::filesystem::remove(
        sys::runtime_dir() / fmt::format("cluster-coordinator-{}.log", file.control_port), ec);
}

void run_down(const ClusterOptions& options) {
    ::signal(SIGPIPE, SIG_IGN);
    auto file = load_cluster_file(options.file);
    if (!file) throw Exception(file.error());
    std::string failures;
    for (const auto& m : file->machines) {
        auto out = ssh_run(*file, m, {down_script(*file, m), "", "", std::chrono::seconds(90)});
        if (!out) {
            failures +=
                fmt::format("machine `{}` ({}): {}\n", m.id, ssh_address(m), out.error().message());
            continue;
        }
        std::istringstream lines(out->out);
        bool said = false;
        for (std::string line; std::getline(lines, line);) {
            const size_t eq = line.find('=');
            if (eq == std::string::npos) continue;
            std::cout << m.id << ": " << line.substr(0, eq) << " " << line.substr(eq + 1)
                      << std::endl;
            said = true;
        }
        if (!said) std::cout << m.id << ": nothing to stop or remove" << std::endl;
    }
    down_here(*file);
    if (!failures.empty()) {
        throw Exception(
            Error::make("{}what `dora cluster up` started there is still there: run "
                        "`dora cluster down {}` again once they are reachable",
                        failures, options.file));
    }
}

}  // namespace

std::filesystem::path cluster_state_path(const ClusterFile& file) {
    const auto key = sha256_text(std::filesystem::absolute(file.path).lexically_normal().string());
    return sys::runtime_dir() / fmt::format("cluster-{}.json", key.substr(0, 16));
}

std::optional<ClusterState> read_cluster_state(const ClusterFile& file) {
    std::ifstream in(cluster_state_path(file));
    if (!in) return std::nullopt;
    auto json = nlohmann::json::parse(in, nullptr, false);
    if (json.is_discarded() || !json.is_object()) return std::nullopt;
    ClusterState state;
    state.coordinator_pid = json.value("coordinator_pid", 0);
    state.token_created = json.value("token_created", "");
    return state;
}

void write_cluster_state(const ClusterFile& file, const ClusterState& state) {
    const auto path = cluster_state_path(file);
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << nlohmann::json{{"coordinator_pid", state.coordinator_pid},
                                          {"token_created", state.token_created}}
                               .dump()
                        << "\n";
}

ClientOptions cluster_client(const ClusterFile& file, const ClusterOptions& options) {
    ClientOptions client;
    client.addr = "127.0.0.1";
    client.port = file.control_port;
    client.token_file = options.token_file;
    return client;
}

std::optional<message::DataflowList> cluster_list(const ClientOptions& client) {
    auto c = CoordinatorClient::connect(client);
    if (!c) return std::nullopt;
    auto list = c->request<message::DataflowList>(message::CliList{}, std::chrono::seconds(5));
    if (!list) return std::nullopt;
    return *list;
}

bool registered(const message::DataflowList& list, const std::string& machine) {
    for (const auto& d : list.daemons) {
        if (d.machine_id == machine && d.connected) return true;
    }
    return false;
}

void print_table(const std::vector<std::vector<std::string>>& rows) {
    std::vector<size_t> widths;
    for (const auto& row : rows) {
        widths.resize(std::max(widths.size(), row.size()));
        for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    std::string out;
    for (const auto& row : rows) {
        std::string line;
        for (size_t i = 0; i < row.size(); ++i) {
            line += i + 1 == row.size() ? row[i] : fmt::format("{:<{}}  ", row[i], widths[i]);
        }
        out += line + "\n";
    }
    std::cout << out << std::flush;
}

void add_cluster_command(CLI::App& app) {
    auto* cluster = app.add_subcommand(
        "cluster", "Daemons on the machines of a cluster file, over ssh: up, status, down");
    cluster->require_subcommand(1);
    using Run = void (*)(const ClusterOptions&);
    static const std::tuple<const char*, const char*, Run> kVerbs[] = {
        {"up",
         "Start the coordinator here and a daemon on every machine (copying dora where it lacks "
         "this version); wait until all registered",
         run_cluster_up},
        {"status", "Each machine: reachable, daemon version, service, registered, dataflows",
         run_status},
        {"down",
         "Stop and remove what `dora cluster up` started (daemons, services, copies, the "
         "coordinator here)",
         run_down},
    };
    for (const auto& [name, help, run] : kVerbs) {
        auto options = std::make_shared<ClusterOptions>();
        auto* cmd = cluster->add_subcommand(name, help);
        cmd->add_option("FILE", options->file, "The cluster file")->capture_default_str();
        cmd->add_option("--token-file", options->token_file,
                        "File with the cluster token (else DORA_TOKEN or ~/.config/dora/token, "
                        "which `up` makes when there is none)");
        if (run == run_cluster_up) {
            cmd->add_option("--timeout", options->timeout_s,
                            "Seconds to wait for the daemons to register")
                ->capture_default_str();
        }
        cmd->callback([options, run = run] { run(*options); });
    }
    // dora 1.x's other cluster verbs, refused by name with what to use here (hidden from --help).
    static const std::pair<const char*, const char*> kNotHere[] = {
        {"install",
         "`dora cluster up` already installs each daemon as a systemd unit where "
         "systemd runs"},
        {"uninstall", "`dora cluster down` removes the units and files `up` installed"},
        {"upgrade",
         "`dora cluster up` again copies the new dora and restarts the daemons it changed"},
        {"restart", "`dora stop <dataflow>`, then `dora start <file>` again"},
    };
    for (const auto& [verb, instead] : kNotHere) {
        auto* cmd = cluster->add_subcommand(verb, "");
        cmd->group("");
        cmd->prefix_command();
        cmd->callback([verb = std::string(verb), instead = std::string(instead)] {
            throw Exception(
                Error::make("`dora cluster {}` is a dora 1.x command that dora-cpp "
                            "does not have; {}",
                            verb, instead));
        });
    }
}

}  // namespace dora::cli
