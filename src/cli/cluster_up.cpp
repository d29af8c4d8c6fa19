// `dora cluster up FILE`: the coordinator here (started in the background unless one answers),
// then per machine over ssh: probe, copy this dora when it lacks it, write the token and the
// service, start the daemon (or leave it be when nothing changed); then waits until every daemon
// registered and prints a table. A machine that fails is named with what to do; the others are
// left up, and the summary says so.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "cli/cluster.hpp"
#include "cli/cluster_bundle.hpp"
#include "cli/cluster_remote.hpp"
#include "cli/cluster_ssh.hpp"
#include "cli/commands.hpp"
#include "cli/detached.hpp"
#include "core/net.hpp"
#include "core/sys.hpp"
#include "message/auth.hpp"

namespace dora::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct MachineResult {
    const ClusterMachine* machine = nullptr;
    std::string dora;     // "copied", "had it", "/usr/bin/dora"
    std::string service;  // "systemd (system)", "process"
    std::string action;   // started | restarted | unchanged
    std::string error;    // "" = up
    std::vector<std::string> warnings;
};

std::filesystem::path default_token_path() {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    const char* home = std::getenv("HOME");
    std::filesystem::path dir =
        xdg != nullptr && *xdg != '\0'
            ? std::filesystem::path(xdg)
            : std::filesystem::path(home != nullptr ? home : "/") / ".config";
    return dir / "dora" / "token";
}

// The cluster's token: the configured one, else a new one in the config dir (remembered in
// `state` so `down` removes it).
std::string cluster_token(const ClusterOptions& options, ClusterState& state) {
    auto token = message::load_token(
        options.token_file.empty() ? std::nullopt
                                   : std::optional<std::filesystem::path>(options.token_file));
    if (!token) throw Exception(token.error());
    if (*token) return **token;
    const auto path = default_token_path();
    std::filesystem::create_directories(path.parent_path());
    const std::string fresh = message::random_hex32();
    // Made 0600 from the start: the token is never readable by others, not even for a moment.
    sys::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd.valid() || !sys::write_all(fd.get(), fresh + "\n")) {
        throw Exception(sys::errno_error("writing the cluster token " + path.string()));
    }
    state.token_created = path.string();
    std::cout << "made a cluster token: " << path.string() << " (mode 0600)" << std::endl;
    return fresh;
}

void ensure_coordinator(const ClusterFile& file, const ClusterOptions& options,
                        ClusterState& state) {
    auto client = cluster_client(file, options);
    client.connect_timeout = std::chrono::milliseconds(1000);
    auto connected = CoordinatorClient::connect(client);
    if (connected) {
        std::cout << "coordinator already running at " << connected->where() << std::endl;
        return;
    }
    // Something answers on the port but the hello failed (another token, another program):
    // starting a coordinator there would only fail to listen.
    if (net::connect_tcp("127.0.0.1", file.control_port, std::chrono::milliseconds(1000))) {
        throw Exception(connected.error().context(fmt::format(
            "something listens on 127.0.0.1:{} (`coordinator: control_port:`) but is not a "
            "coordinator this CLI can use",
            file.control_port)));
    }
    std::vector<std::string> args{"coordinator", "--port", std::to_string(file.coordinator_port),
                                  "--control-port", std::to_string(file.control_port)};
    if (!options.token_file.empty()) {
        args.insert(args.end(), {"--token-file", std::filesystem::absolute(options.token_file)});
    }
    const auto log =
        sys::runtime_dir() / fmt::format("cluster-coordinator-{}.log", file.control_port);
    std::filesystem::create_directories(log.parent_path());
    auto started = spawn_detached(args, log);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!CoordinatorClient::connect(client)) {
        if (child_exited(started.pid) || Clock::now() > deadline) {
            throw Exception(Error::make("the coordinator did not come up; its log ({}):\n{}",
                                        log.string(), log_tail(log)));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    state.coordinator_pid = started.pid;
    std::cout << "started the coordinator (pid " << started.pid << ", daemons connect to "
              << file.coordinator_addr << ":" << file.coordinator_port << ", log " << log.string()
              << ")" << std::endl;
}

std::string install_error(const ClusterMachine& m, const Probe& probe, const std::string& error) {
    if (error.find("No space left") != std::string::npos) {
        return fmt::format(
            "the disk is full at {} there ({}); nothing was installed. Free space "
            "there or choose another `dir:` for machine `{}`",
            probe.dir, error, m.id);
    }
    if (error.starts_with("checksum")) {
        return fmt::format(
            "the copy arrived different from this machine's files ({}): a file "
            "changed during the transfer or the transfer was damaged; nothing was "
            "installed. Run `dora cluster up` again",
            error);
    }
    if (error.starts_with("run")) {
        return fmt::format(
            "the copied dora does not run there ({}); nothing was installed. "
            "Install what it needs there (the dora-cpp Debian package brings its "
            "libraries)",
            error);
    }
    return fmt::format("copying dora there failed ({}); nothing was installed", error);
}

// Makes sure the machine has this dora; the executable to run.
Result<std::string> provide_dora(const ClusterFile& file, const ClusterMachine& m,
                                 const Probe& probe, Bundle& bundle, MachineResult& result,
                                 bool& restart) {
    if (probe.bundle == bundle.id()) {
        result.dora = "had it";
        return probe.dir + "/bin/dora";
    }
    if (!probe.path_dora.empty() && probe.path_version == version_text()) {
        result.dora = probe.path_dora;
        return probe.path_dora;
    }
    if (probe.arch != local_arch()) {
        return fail(
            "it is {}, this machine {}: this dora cannot run there and was not copied. "
            "Install {} built for {} there (its `dora` on PATH is then used) and run "
            "`dora cluster up` again",
            probe.arch, local_arch(), version_text(), probe.arch);
    }
    const uint64_t needed = bundle.bytes() + bundle.bytes() / 10 + (16u << 20);
    if (probe.free_bytes && *probe.free_bytes < needed) {
        return fail(
            "the disk is full at {} there: {} MB free, the copy of dora needs {} MB. Free "
            "space there or choose another `dir:` for machine `{}`",
            probe.dir, *probe.free_bytes >> 20, needed >> 20, m.id);
    }
    auto tar = bundle.tar();
    if (!tar) return fail(tar.error());
    auto out =
        ssh_run(file, m, {install_script(file, m), "", tar->string(), std::chrono::seconds(600)});
    if (!out) return fail(out.error());
    if (auto error = script_errors(out->out); !error.empty() || out->exit_code != 0) {
        return fail("{}", install_error(m, probe, error.empty() ? out->err : error));
    }
    result.dora = "copied";
    restart = true;
    return probe.dir + "/bin/dora";
}

// How the daemon runs there. A user manager without lingering stops when the user's last session
// ends, and with it the units it runs: then `auto` picks the supervised process (with a warning
// saying how to get a unit) and `systemd` is refused.
Result<LaunchPlan> plan_service(const ClusterMachine& m, const Probe& probe,
                                std::vector<std::string>& warnings) {
    LaunchPlan plan;
    const bool no_linger = probe.systemd == "user" && !probe.linger;
    const bool systemd = probe.systemd == "system" || (probe.systemd == "user" && !no_linger);
    if (m.service == ServiceKind::kSystemd && no_linger) {
        return fail(
            "`service: systemd`, but lingering is off for {0} there, so {0}'s systemd user "
            "manager stops at logout, and the daemon with it: run `sudo loginctl enable-linger "
            "{0}` there, or use `service: process` or `auto`",
            probe.user);
    }
    if (m.service == ServiceKind::kSystemd && !systemd) {
        return fail(
            "`service: systemd`, but systemd does not run there (or, for a user other "
            "than root, has no user manager): use `service: process` or `auto`");
    }
    if (m.service == ServiceKind::kAuto && no_linger) {
        warnings.push_back(fmt::format(
            "lingering is off for {0} there: the daemon runs as a supervised process, since a "
            "systemd user unit would stop at logout; `sudo loginctl enable-linger {0}` there "
            "lets the next `up` make it a unit",
            probe.user));
    }
    if (m.service != ServiceKind::kProcess && systemd) {
        plan.service = "systemd";
        plan.systemd_scope = probe.systemd;
    } else {
        plan.service = "process";
    }
    return plan;
}

void up_machine(const ClusterFile& file, const ClusterMachine& m, const std::string& token,
                Bundle& bundle, MachineResult& result) {
    auto out = ssh_run(file, m, {probe_script(file, m), "", "", std::chrono::seconds(60)});
    if (!out) throw Exception(out.error());
    auto probe = parse_probe(out->out);
    if (!probe) throw Exception(probe.error());
    if (probe->dir_state == "foreign") {
        throw Exception(
            Error::make("{} there exists and was not made by `dora cluster up`; set "
                        "`dir:` of this machine to a new or empty directory",
                        probe->dir));
    }
    auto plan = plan_service(m, *probe, result.warnings);
    if (!plan) throw Exception(plan.error());
    auto exe = provide_dora(file, m, *probe, bundle, result, plan->restart);
    if (!exe) throw Exception(exe.error());
    plan->exe = *exe;
    result.service =
        plan->service == "systemd" ? "systemd (" + plan->systemd_scope + ")" : "process";
    auto applied = ssh_run(
        file, m,
        {apply_script(file, m, probe->dir, *plan), token + "\n", "", std::chrono::seconds(90)});
    if (!applied) throw Exception(applied.error());
    std::istringstream lines(applied->out);
    for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("warning=")) result.warnings.push_back(line.substr(8));
    }
    if (auto error = script_errors(applied->out); !error.empty() || applied->exit_code != 0) {
        throw Exception(
            Error::make("starting the daemon failed: {}. What `up` wrote stays in {} there "
                        "(`dora cluster down` removes it)",
                        error.empty() ? applied->err : error, probe->dir));
    }
    result.action = script_value(applied->out, "action");
}

// Waits until every machine that came up has registered; those that did not get an error with
// the end of their daemon's log.
void wait_registered(const ClusterFile& file, const ClusterOptions& options,
                     std::vector<MachineResult>& results) {
    const auto client = cluster_client(file, options);
    const auto deadline =
        Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(options.timeout_s * 1000));
    std::optional<message::DataflowList> list;
    for (;;) {
        list = cluster_list(client);
        bool all = list.has_value();
        for (const auto& r : results) {
            if (r.error.empty() && (!list || !registered(*list, r.machine->id))) all = false;
        }
        if (all || Clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    for (auto& r : results) {
        if (!r.error.empty() || (list && registered(*list, r.machine->id))) continue;
        auto tail = ssh_run(file, *r.machine,
                            {log_tail_script(file, *r.machine), "", "", std::chrono::seconds(30)});
        r.error = fmt::format(
            "its daemon runs ({}) but did not register with the coordinator at {}:{} within "
            "{} s: check that the machine reaches that address (`coordinator: addr:`); the end "
            "of its log:\n{}",
            r.service, file.coordinator_addr, file.coordinator_port, options.timeout_s,
            tail ? tail->out : tail.error().message());
    }
}

void report(const std::vector<MachineResult>& results, const ClusterOptions& options) {
    std::vector<std::vector<std::string>> rows{
        {"MACHINE", "ADDRESS", "DORA", "SERVICE", "DAEMON", "REGISTERED"}};
    std::vector<std::string> up;
    std::vector<std::string> failed;
    for (const auto& r : results) {
        const bool ok = r.error.empty();
        rows.push_back({r.machine->id, ssh_address(*r.machine), r.dora.empty() ? "-" : r.dora,
                        r.service.empty() ? "-" : r.service,
                        r.action.empty() ? (ok ? "-" : "failed") : r.action, ok ? "yes" : "no"});
        (ok ? up : failed).push_back(r.machine->id);
    }
    print_table(rows);
    for (const auto& r : results) {
        for (const auto& w : r.warnings)
            std::cerr << "warning: " << r.machine->id << ": " << w << "\n";
    }
    if (failed.empty()) {
        std::cout << "cluster up: " << results.size() << " machine(s) registered" << std::endl;
        return;
    }
    std::string text;
    for (const auto& r : results) {
        if (!r.error.empty()) {
            text += fmt::format("machine `{}` ({}): {}\n", r.machine->id, ssh_address(*r.machine),
                                r.error);
        }
    }
    auto names = [](const std::vector<std::string>& ids) {
        std::string out;
        for (const auto& id : ids) out += (out.empty() ? "" : ", ") + id;
        return out;
    };
    text += fmt::format(
        "{} of {} machine(s) failed: {}. {}Fix them and run `dora cluster up {}` again (machines "
        "already up stay unchanged), or `dora cluster down {}` to stop everything",
        failed.size(), results.size(), names(failed),
        up.empty() ? "" : fmt::format("Still up and running: {}. ", names(up)), options.file,
        options.file);
    throw Exception(Error(text));
}

}  // namespace

void run_cluster_up(const ClusterOptions& options) {
    ::signal(SIGPIPE, SIG_IGN);
    auto file = load_cluster_file(options.file);
    if (!file) throw Exception(file.error());
    ClusterState state = read_cluster_state(*file).value_or(ClusterState{});
    const std::string token = cluster_token(options, state);
    ensure_coordinator(*file, options, state);
    write_cluster_state(*file, state);
    auto bundle = Bundle::describe();
    if (!bundle) throw Exception(bundle.error());
    std::vector<MachineResult> results;
    for (const auto& m : file->machines) {
        MachineResult result;
        result.machine = &m;
        std::cout << "machine " << m.id << " (" << ssh_address(m) << ")..." << std::endl;
        try {
            up_machine(*file, m, token, *bundle, result);
        } catch (const Exception& e) {
            result.error = e.what();
        }
        results.push_back(std::move(result));
    }
    wait_registered(*file, options, results);
    report(results, options);
}

}  // namespace dora::cli
