// `dora up`: makes sure a coordinator and a default daemon run on this machine, starting them in
// the background (detached, output to a log file under $XDG_RUNTIME_DIR/dora or /tmp/dora-$UID)
// when they do not answer yet; returns once the daemon is registered.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "cli/detached.hpp"
#include "core/sys.hpp"
#include "message/cli_to_coordinator.hpp"

namespace dora::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct UpOptions {
    ClientOptions client;
    uint16_t daemon_port = kDefaultDaemonPort;
    std::optional<uint16_t> local_listen_port;
};

std::filesystem::path runtime_dir() {
    std::filesystem::path dir = sys::runtime_dir();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    return dir;
}

std::optional<CoordinatorClient> try_connect(ClientOptions options) {
    options.connect_timeout = std::chrono::milliseconds(1000);
    auto client = CoordinatorClient::connect(options);
    if (!client) return std::nullopt;
    return std::move(*client);
}

bool default_daemon_connected(CoordinatorClient& client) {
    auto list = client.request<message::DataflowList>(message::CliList{}, std::chrono::seconds(5));
    if (!list) return false;
    for (const auto& d : list->daemons) {
        if (d.machine_id.empty() && d.connected) return true;
    }
    return false;
}

[[noreturn]] void gave_up(const std::string& what, const Started& started) {
    throw Exception(Error::make("the {} did not come up; its log ({}):\n{}", what,
                                started.log.string(), log_tail(started.log)));
}

void run_up(const UpOptions& options) {
    auto dir = runtime_dir();
    std::vector<std::string> token_args;
    if (!options.client.token_file.empty()) {
        token_args = {"--token-file", std::filesystem::absolute(options.client.token_file)};
    }
    auto client = try_connect(options.client);
    if (client) {
        std::cout << "coordinator already running at " << client->where() << std::endl;
    } else {
        std::vector<std::string> args{"coordinator", "--port", std::to_string(options.daemon_port),
                                      "--control-port", std::to_string(options.client.port)};
        args.insert(args.end(), token_args.begin(), token_args.end());
        auto started = spawn_detached(args, dir / "coordinator.log");
        auto deadline = Clock::now() + std::chrono::seconds(10);
        while (!(client = try_connect(options.client))) {
            if (child_exited(started.pid) || Clock::now() > deadline)
                gave_up("coordinator", started);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        std::cout << "started coordinator (pid " << started.pid << ", log " << started.log.string()
                  << ")" << std::endl;
    }
    if (default_daemon_connected(*client)) {
        std::cout << "daemon already running" << std::endl;
        return;
    }
    std::vector<std::string> args{"daemon", "--coordinator-addr", options.client.addr,
                                  "--coordinator-port", std::to_string(options.daemon_port)};
    if (options.local_listen_port) {
        args.insert(args.end(),
                    {"--local-listen-port", std::to_string(*options.local_listen_port)});
    }
    args.insert(args.end(), token_args.begin(), token_args.end());
    auto started = spawn_detached(args, dir / "daemon.log");
    auto deadline = Clock::now() + std::chrono::seconds(15);
    while (!default_daemon_connected(*client)) {
        if (child_exited(started.pid) || Clock::now() > deadline) gave_up("daemon", started);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::cout << "started daemon (pid " << started.pid << ", log " << started.log.string() << ")"
              << std::endl;
}

}  // namespace

void add_up_command(CLI::App& app) {
    auto options = std::make_shared<UpOptions>();
    auto* cmd = app.add_subcommand(
        "up", "Start a coordinator and a daemon on this machine (in the background) if needed");
    add_client_options(cmd, options->client);
    cmd->add_option("--daemon-port", options->daemon_port,
                    "Port the coordinator listens on for daemons")
        ->capture_default_str();
    cmd->add_option("--local-listen-port", options->local_listen_port,
                    "The daemon's port for dynamic nodes (default 53291)");
    cmd->callback([options] { run_up(*options); });
}

}  // namespace dora::cli
