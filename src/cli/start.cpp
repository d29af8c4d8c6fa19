// `dora start DATAFLOW [--name N] [--attach|--detach] [--strict]`: hands the dataflow to the
// coordinator; attached (the default), prints the nodes' output until the dataflow ends and exits
// with its result (0 only if every node succeeded). Ctrl-C stops the dataflow; a second one stops
// waiting.
//
// Attached, a lost coordinator is waited for (its daemons keep the dataflow running): the CLI
// connects again every half second, re-attaches once the coordinator knows the dataflow again
// (kReattachWait after it is back at most) and goes on printing. Ctrl-C meanwhile is remembered
// and sent once the coordinator is back; then the wait is bounded (kStopWait), and giving up says
// the dataflow was not stopped.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "cli/ship.hpp"
#include "core/net.hpp"
#include "message/cli_to_coordinator.hpp"
#include "message/coordinator_to_cli.hpp"

namespace dora::cli {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kRetryInterval = std::chrono::milliseconds(500);
constexpr auto kReattachWait = std::chrono::seconds(30);
constexpr auto kStopWait = std::chrono::seconds(60);

struct StartOptions {
    ClientOptions client;
    std::string dataflow;
    std::string name;
    bool attach = false;
    bool detach = false;
    bool strict = false;
    ShipOptions ship;
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

// An attached start's state across connections.
struct Session {
    ClientOptions options;
    std::string id;
    bool strict = false;
    sys::UniqueFd signals;
    int interrupts = 0;
    bool stop_pending = false;  // Ctrl-C while the coordinator was away
    Clock::time_point give_up{};
};

std::string where(const Session& session) {
    return net::join_host_port(session.options.addr, session.options.port);
}

void send_stop(Session& session, CoordinatorClient& client) {
    message::CliStop stop;
    stop.dataflow_id = session.id;
    if (client.send(stop)) {
        return;
    }
    session.stop_pending = true;  // the connection broke: sent once the coordinator is back
    session.give_up = Clock::now() + kStopWait;
}

// Reads SIGINT/SIGTERM: the first stops the dataflow (now, or once the coordinator is back when
// `client` is null), the next one stops waiting.
void on_signals(Session& session, CoordinatorClient* client) {
    signalfd_siginfo info{};
    while (::read(session.signals.get(), &info, sizeof info) == sizeof info) {
        const char* name = info.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
        if (++session.interrupts > 1) {
            throw Exception(
                client != nullptr
                    ? Error::make("stopped waiting for dataflow {}; it may still be stopping (see "
                                  "`dora list`)",
                                  session.id)
                    : Error::make("stopped waiting for the coordinator at {}: dataflow {} was not "
                                  "stopped and may still run on its daemons; once the coordinator "
                                  "is back, stop it with `dora stop {}`",
                                  where(session), session.id, session.id));
        }
        if (client != nullptr) {
            std::cerr << "received " << name << ": stopping dataflow " << session.id
                      << " (interrupt again to stop waiting)\n";
            send_stop(session, *client);
        } else {
            std::cerr << "received " << name << " while the coordinator is away: dataflow "
                      << session.id << " is stopped once it is back (waiting at most "
                      << kStopWait.count() << " s; interrupt again to stop waiting)\n";
            session.stop_pending = true;
            session.give_up = Clock::now() + kStopWait;
        }
    }
}

// Waits up to `timeout` (-1: no limit) for `fd` (-1: none) to be readable, handling signals
// meanwhile; a stop goes through `attached` (null: not attached now, sent once re-attached).
void wait_readable(Session& session, int fd, CoordinatorClient* attached,
                   std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {session.signals.get(), POLLIN, 0}};
    ::poll(fds, 2, static_cast<int>(timeout.count()));
    if (fds[1].revents & POLLIN) {
        on_signals(session, attached);
    }
}

// Prints the dataflow's output; returns once its result is reported (report_result throws when
// it failed), or with an error when the connection to the coordinator is lost.
Result<> follow(Session& session, CoordinatorClient& client) {
    for (;;) {
        // Messages already read (e.g. a result that came with "start triggered") first: poll
        // would not see them again.
        for (;;) {
            auto m = client.receive(std::chrono::milliseconds(0));
            if (!m) {
                return fail(m.error());
            }
            if (!*m) {
                break;
            }
            if (handle(**m, session.strict)) {
                return {};
            }
        }
        wait_readable(session, client.fd(), &client, std::chrono::milliseconds(-1));
    }
}

void check_give_up(const Session& session, const std::string& where) {
    if (session.stop_pending && Clock::now() >= session.give_up) {
        throw Exception(Error::make(
            "the coordinator at {} did not come back within {} s: dataflow {} was not stopped "
            "and may still run on its daemons; once the coordinator is back, stop it with `dora "
            "stop {}`",
            where, kStopWait.count(), session.id, session.id));
    }
}

// After a connection loss: connects again until the coordinator is back and knows the dataflow.
CoordinatorClient reattach(Session& session) {
    const std::string at = where(session);
    ClientOptions options = session.options;
    options.connect_timeout = std::chrono::milliseconds(1000);
    for (;;) {
        check_give_up(session, at);
        auto client = CoordinatorClient::connect(options);
        if (!client || !client->send(message::CliAttach{session.id})) {
            wait_readable(session, -1, nullptr, kRetryInterval);
            continue;
        }
        const auto deadline = Clock::now() + kReattachWait;
        while (Clock::now() < deadline) {
            check_give_up(session, at);
            auto m = client->receive(std::chrono::milliseconds(0));
            if (!m) {
                break;  // lost again
            }
            if (!*m) {
                wait_readable(session, client->fd(), nullptr, kRetryInterval);
                continue;
            }
            if (const auto* error = std::get_if<message::ErrorMessage>(&**m)) {
                throw Exception(
                    Error::make("the coordinator at {} is back but refuses to "
                                "re-attach to dataflow {}: {}",
                                at, session.id, error->message));
            }
            if (std::holds_alternative<message::Attached>(**m)) {
                std::cerr << "the coordinator at " << at << " is back: re-attached to dataflow "
                          << session.id << " (what its nodes printed meanwhile is in their logs: "
                          << "`dora logs " << session.id << " <node>`)" << std::endl;
                return std::move(*client);
            }
        }
        if (Clock::now() >= deadline) {
            throw Exception(Error::make(
                "the coordinator at {} is back, but no daemon reported dataflow {} to it within {} "
                "s: it may have ended while the coordinator was away, or its daemons are not back "
                "(see `dora list`; its nodes' logs are in out/{}/ in their working directories)",
                at, session.id, kReattachWait.count(), session.id));
        }
    }
}

void attach(CoordinatorClient client, Session& session) {
    for (;;) {
        auto followed = follow(session, client);
        if (followed) {
            return;
        }
        // The error names the coordinator already ("coordinator at X: why"): say why once.
        std::string why = followed.error().message();
        if (const std::string named = "coordinator at " + client.where() + ": ";
            why.starts_with(named)) {
            why.erase(0, named.size());
        }
        std::cerr << "lost the coordinator at " << client.where() << " (" << why
                  << "); waiting for it to come back (Ctrl-C stops the dataflow once it is back)"
                  << std::endl;
        client = reattach(session);
        if (session.stop_pending) {
            session.stop_pending = false;
            std::cerr << "stopping dataflow " << session.id << " as asked" << std::endl;
            send_stop(session, client);
        }
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
    start.ship = !options.ship.no_ship;

    auto client = connect_or_throw(options.client);
    std::optional<deploy::Manifest> manifest;
    auto reply = or_throw(start_with_files(client, start, [&] {
        manifest = or_throw(dataflow_manifest(path, options.ship));
        return manifest ? deploy::to_json(*manifest) : nlohmann::json();
    }));
    const std::string& id = reply.dataflow_id;
    std::cout << "dataflow start triggered: " << id << std::endl;
    if (manifest) {
        ship_dataflow_files(client, id, path.parent_path(), *manifest,
                            [&options](const message::CoordinatorToCli& m) {
                                if (handle(m, options.strict)) {
                                    throw Exception(
                                        Error("the dataflow ended before its files "
                                              "were sent"));
                                }
                            });
    }
    if (options.detach) {
        return;
    }
    // On stderr, as dora prints it: stdout stays the nodes' output.
    std::cerr << "attaching to dataflow (use `--detach` to run in background)" << std::endl;
    Session session;
    session.options = options.client;
    session.id = id;
    session.strict = options.strict;
    session.signals = signal_fd();
    attach(std::move(client), session);
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
    add_ship_options(cmd, options->ship);
    cmd->callback([options] { run_start(*options); });
}

}  // namespace dora::cli
