// `dora start DATAFLOW [--name N] [--attach|--detach] [--strict]`: hands the dataflow to the
// coordinator; attached (the default), prints the nodes' output until the dataflow ends and exits
// with its result (0 only if every node succeeded). Ctrl-C stops the dataflow; a second one stops
// waiting.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "message/cli_to_coordinator.hpp"
#include "message/coordinator_to_cli.hpp"

namespace dora::cli {
namespace {

struct StartOptions {
    ClientOptions client;
    std::string dataflow;
    std::string name;
    bool attach = false;
    bool detach = false;
    bool strict = false;
};

// SIGINT/SIGTERM as a descriptor to poll beside the connection.
sys::UniqueFd signal_fd() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &set, nullptr);
    return sys::UniqueFd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
}

// Prints a streamed message; true once the dataflow's result has been reported.
bool handle(const message::CoordinatorToCli& m, bool strict) {
    if (const auto* event = std::get_if<message::LogEvent>(&m)) {
        std::string text = format_log_line(event->log.node_id, event->log.machine_id,
                                           event->log.stream, event->log.line);
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
    } else if (const auto* result = std::get_if<message::DataflowResult>(&m)) {
        report_result(*result, strict);  // throws when it failed
        return true;
    } else if (const auto* error = std::get_if<message::ErrorMessage>(&m)) {
        // e.g. the stop came after the dataflow had ended: the result follows anyway.
        std::cerr << "coordinator: " << error->message << "\n";
    }
    return false;
}

void attach(CoordinatorClient& client, const std::string& id, bool strict) {
    auto signals = signal_fd();
    int interrupts = 0;
    for (;;) {
        // Messages already read (e.g. a result that came with "start triggered") first: poll
        // would not see them again.
        for (auto m = or_throw(client.receive(std::chrono::milliseconds(0))); m;
             m = or_throw(client.receive(std::chrono::milliseconds(0)))) {
            if (handle(*m, strict)) {
                return;
            }
        }
        pollfd fds[2] = {{client.fd(), POLLIN, 0}, {signals.get(), POLLIN, 0}};
        ::poll(fds, 2, -1);
        if (fds[1].revents & POLLIN) {
            signalfd_siginfo info{};
            while (::read(signals.get(), &info, sizeof info) == sizeof info) {
                const char* name = info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
                if (++interrupts == 1) {
                    std::cerr << "received " << name << ": stopping dataflow " << id
                              << " (interrupt again to stop waiting)\n";
                    message::CliStop stop;
                    stop.dataflow_id = id;
                    or_throw(client.send(stop));
                } else {
                    throw Exception(Error::make(
                        "stopped waiting for dataflow {}; it may still be stopping (see `dora "
                        "list`)",
                        id));
                }
            }
        }
        // What is readable now is taken at the top of the loop.
    }
}

void run_start(const StartOptions& options) {
    if (options.attach && options.detach) {
        throw Exception(Error("--attach and --detach exclude each other; give one"));
    }
    if (options.strict && options.detach) {
        throw Exception(
            Error("--strict judges the result an attached start waits for; --detach does not wait. "
                  "Drop one of them, or put `strict: true` in the dataflow"));
    }
    std::error_code ec;
    auto path = std::filesystem::absolute(options.dataflow, ec);
    if (ec) {
        throw Exception(Error::make("cannot resolve {}: {}", options.dataflow, ec.message()));
    }
    message::CliStart start;
    start.descriptor_yaml = read_dataflow_file(path);
    start.descriptor_path = path.lexically_normal().string();
    start.name = options.name;
    start.attach = !options.detach;
    start.cli_machine = sys::machine_identity();

    auto client = connect_or_throw(options.client);
    auto reply = or_throw(client.request<message::StartTriggered>(start, std::chrono::seconds(30)));
    const std::string& id = reply.dataflow_id;
    std::cout << "dataflow start triggered: " << id << std::endl;
    if (options.detach) {
        return;
    }
    // On stderr, as dora prints it: stdout stays the nodes' output.
    std::cerr << "attaching to dataflow (use `--detach` to run in background)" << std::endl;
    attach(client, id, options.strict);
}

}  // namespace

void add_start_command(CLI::App& app) {
    auto options = std::make_shared<StartOptions>();
    auto* cmd = app.add_subcommand("start", "Start a dataflow on the running coordinator");
    cmd->add_option("dataflow", options->dataflow, "The dataflow file (YAML)")->required();
    cmd->add_option("--name", options->name, "A name for the dataflow (unique among running ones)");
    cmd->add_flag("--attach", options->attach,
                  "Wait for the dataflow to finish, printing its output (the default)");
    cmd->add_flag("--detach", options->detach, "Return once the dataflow is started");
    cmd->add_flag("--strict", options->strict,
                  "Exit with a failure status if the dataflow dropped any message (as the "
                  "dataflow key `strict: true` does)");
    add_client_options(cmd, options->client);
    cmd->callback([options] { run_start(*options); });
}

}  // namespace dora::cli
