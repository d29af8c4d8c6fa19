#include "testing/cluster.hpp"

#include <iostream>
#include <regex>

#include "testing/ports.hpp"
#include "testing/text.hpp"
#include "testing/wait.hpp"

namespace dora::testing {

using namespace std::chrono_literals;

Cluster::Cluster(std::filesystem::path dora, std::filesystem::path dir)
    : dora_(std::move(dora)), dir_(std::move(dir)), control_port_(free_tcp_port()) {
    std::filesystem::create_directories(runtime_dir());
    std::filesystem::create_directories(dir_ / "config");
}

Cluster::~Cluster() { destroy(); }

void Cluster::destroy() {
    if (coordinator_ && !coordinator_->exited()) {
        // Best effort: whatever destroy leaves behind is killed by PID below.
        (void)run({"destroy"}, 30s);
    }
    for (auto& daemon : daemons_) {
        daemon->terminate(20s);  // destroy ends them; SIGTERM, then SIGKILL, if it did not
    }
    if (coordinator_) {
        coordinator_->terminate(10s);
    }
}

SpawnOptions Cluster::spawn_options() const {
    SpawnOptions options;
    options.cwd = dir_;
    options.env = {
        {"DORA_COORDINATOR_ADDR", "127.0.0.1"},
        {"DORA_COORDINATOR_PORT", std::to_string(control_port_)},
        {"XDG_RUNTIME_DIR", runtime_dir().string()},
        {"XDG_CONFIG_HOME", (dir_ / "config").string()},
        {"XDG_STATE_HOME", (dir_ / "state-home").string()},
        {"DORA_TOKEN", std::nullopt},
        {"ZENOH_CONFIG", std::nullopt},
    };
    return options;
}

::testing::AssertionResult Cluster::start_coordinator(std::vector<std::string> extra) {
    std::vector<std::string> args{
        dora_.string(), "coordinator", "--port", "0", "--control-port", "0"};
    args.insert(args.end(), extra.begin(), extra.end());
    coordinator_ = std::make_unique<Process>(args, spawn_options());
    const std::regex ports(R"(daemons on [^ ]+:(\d+), control on [^ ]+:(\d+))");
    std::smatch m;
    bool up = coordinator_->wait_for(
        [&] { return std::regex_search(coordinator_->out(), m, ports) || coordinator_->exited(); },
        10s);
    if (!up || m.empty()) {
        return ::testing::AssertionFailure() << "the coordinator did not say where it listens:\n"
                                             << coordinator_->all();
    }
    daemon_port_ = static_cast<uint16_t>(std::stoi(m[1]));
    control_port_ = static_cast<uint16_t>(std::stoi(m[2]));
    return ::testing::AssertionSuccess();
}

Process& Cluster::start_daemon(const std::string& machine, std::vector<std::string> extra,
                               const std::map<std::string, std::optional<std::string>>& env) {
    std::vector<std::string> args{
        dora_.string(),        "daemon",    "--machine-id",       machine,
        "--coordinator-addr",  "127.0.0.1", "--coordinator-port", std::to_string(daemon_port_),
        "--local-listen-port", "0",         "--work-dir",         work_dir(machine).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    SpawnOptions options = spawn_options();
    for (const auto& [key, value] : env) {
        options.env[key] = value;
    }
    daemons_.push_back(std::make_unique<Process>(args, options));
    daemon_names_.push_back(machine);
    return *daemons_.back();
}

::testing::AssertionResult Cluster::wait_for_daemons(size_t count,
                                                     std::chrono::milliseconds timeout) {
    std::string listing;
    bool ok = wait_until(
        [&] {
            listing = run({"list"}, 10s).out;
            return count_of(listing, " connected ") == count;
        },
        timeout, 20ms);
    if (!ok) {
        return ::testing::AssertionFailure() << count << " daemons did not register; `dora list`:\n"
                                             << listing << "\n"
                                             << logs();
    }
    return ::testing::AssertionSuccess();
}

::testing::AssertionResult Cluster::start(const std::vector<std::string>& machines) {
    if (auto ok = start_coordinator(); !ok) {
        return ok;
    }
    for (const auto& machine : machines) {
        start_daemon(machine);
    }
    return wait_for_daemons(machines.size());
}

std::vector<std::string> Cluster::cli(std::vector<std::string> args) const {
    args.insert(args.begin(), dora_.string());
    args.insert(args.end(), {"--coordinator-port", std::to_string(control_port_)});
    return args;
}

std::unique_ptr<Process> Cluster::spawn(std::vector<std::string> args) const {
    return std::make_unique<Process>(cli(std::move(args)), spawn_options());
}

Cluster::Result Cluster::run(std::vector<std::string> args,
                             std::chrono::milliseconds timeout) const {
    Process p(cli(std::move(args)), spawn_options());
    int status = p.wait(timeout);
    return {exit_code(status), p.out(), p.err()};
}

void stop_cluster(std::unique_ptr<Cluster>& cluster, bool failed) {
    if (cluster && failed) {
        std::cerr << cluster->logs();
    }
    cluster.reset();
}

std::string Cluster::logs() {
    std::string text;
    if (coordinator_) {
        text += "--- coordinator (" +
                (coordinator_->exited() ? describe_status(coordinator_->status()) : "running") +
                ")\n" + coordinator_->all();
    }
    for (size_t i = 0; i < daemons_.size(); ++i) {
        auto& d = *daemons_[i];
        text += "--- daemon " + daemon_names_[i] + " (" +
                (d.exited() ? describe_status(d.status()) : "running") + ")\n" + d.all();
    }
    return text;
}

}  // namespace dora::testing
