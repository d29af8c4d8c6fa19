// `dora coordinator`: runs the coordinator in the foreground (see src/coordinator/).
#include "coordinator/coordinator.hpp"

#include <signal.h>

#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "cli/quiet_log.hpp"
#include "core/net.hpp"
#include "message/auth.hpp"
#include "pki/files.hpp"

namespace dora::cli {
namespace {

struct CoordinatorCliOptions {
    std::string interface = "0.0.0.0";
    uint16_t port = kDefaultDaemonPort;
    // As in dora 0.3.12: every interface. Without a cluster token only this machine's CLIs are
    // accepted (a remote one is told how to set a token), so this exposes nothing more.
    std::string control_interface = "0.0.0.0";
    uint16_t control_port = kDefaultControlPort;
    std::string token_file;
    bool quiet = false;
    std::string log_file;
    std::string web;        // "host:port"; "" = off
    std::string state_dir;  // "" = pki::default_state_dir()
    int ca_days = 3650;
    int cert_days = pki::kDefaultCertificateDays;
    size_t max_pending = coordinator::CoordinatorOptions{}.pending.total;
    size_t max_pending_per_address = coordinator::CoordinatorOptions{}.pending.per_address;
    uint64_t hello_timeout_ms =
        static_cast<uint64_t>(coordinator::CoordinatorOptions{}.hello_timeout.count());
};

// "127.0.0.1:8080", "[::1]:8080", ":8080" (loopback), "8080" (loopback).
std::pair<std::string, uint16_t> parse_web_address(const std::string& text) {
    std::string host = "127.0.0.1";
    std::string port = text;
    if (auto colon = text.rfind(':'); colon != std::string::npos) {
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
            host = host.substr(1, host.size() - 2);
        }
        if (host.empty()) host = "127.0.0.1";
    }
    char* end = nullptr;
    const unsigned long value = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || end == nullptr || *end != '\0' || value > 65535) {
        throw Exception(Error::make(
            "--web {}: expected HOST:PORT (e.g. 127.0.0.1:8080; port 0 picks a free one)", text));
    }
    return {host, static_cast<uint16_t>(value)};
}

void run_coordinator(const CoordinatorCliOptions& cli) {
    coordinator::CoordinatorOptions options;
    options.interface = cli.interface;
    options.port = cli.port;
    options.control_interface = cli.control_interface;
    options.control_port = cli.control_port;
    options.dora_version = version_text();
    options.pending = {cli.max_pending, cli.max_pending_per_address};
    options.hello_timeout = std::chrono::milliseconds(cli.hello_timeout_ms);
    if (!cli.web.empty()) {
        options.web = parse_web_address(cli.web);
    }
    options.token = or_throw(message::load_token(
        cli.token_file.empty() ? std::nullopt
                               : std::optional<std::filesystem::path>(cli.token_file)));
    options.ca_days = cli.ca_days;
    options.certificate_days = cli.cert_days;
    if (options.token) {  // only a coordinator with a token keeps a CA
        options.state_dir = cli.state_dir.empty() ? or_throw(pki::default_state_dir())
                                                  : std::filesystem::path(cli.state_dir);
    }
    // --quiet: every line the coordinator would print goes to the log file instead.
    std::function<void(const std::string&)> say = [](const std::string& line) {
        std::cerr << "[coordinator] " << line << std::endl;
    };
    if (cli.quiet) {
        options.log = open_quiet_log(cli.log_file.empty() ? default_quiet_log("coordinator")
                                                          : std::filesystem::path(cli.log_file),
                                     "[coordinator]");
        say = options.log;
    }
    auto loop = or_throw(EventLoop::create());
    auto coordinator = or_throw(coordinator::Coordinator::create(*loop, options));
    auto stop = [&loop, &say] {
        say("interrupted: exiting (daemons and dataflows keep running; they reconnect to the "
            "next coordinator)");
        loop->stop();
    };
    loop->on_signal(SIGINT, stop);
    loop->on_signal(SIGTERM, stop);
    // Tests and scripts read the bound ports from this line (port 0 asks for free ones).
    const std::string listening =
        fmt::format("coordinator listening: daemons on {}:{}, control on {}:{}{}", cli.interface,
                    coordinator->daemon_port(), cli.control_interface, coordinator->control_port(),
                    options.token ? " (cluster token required)"
                                  : " (no cluster token: only this machine may connect)");
    if (cli.quiet) {
        say(listening);
    } else {
        std::printf("%s\n", listening.c_str());
        std::fflush(stdout);
    }
    if (options.web) {
        say(fmt::format("web view on http://{}/{}",
                        net::join_host_port(options.web->first, coordinator->web_port()),
                        options.token ? "?token=<cluster token> (needed once per browser)"
                                      : " (this machine's browsers only: no cluster token)"));
    }
    loop->run();
}

}  // namespace

void add_coordinator_command(CLI::App& app) {
    auto options = std::make_shared<CoordinatorCliOptions>();
    auto* cmd = app.add_subcommand("coordinator", "Run the dora coordinator (foreground)");
    cmd->add_option("--interface", options->interface, "Address to listen on for daemons")
        ->capture_default_str();
    cmd->add_option("--port", options->port, "Port for daemons (0: any free port)")
        ->capture_default_str();
    cmd->add_option("--control-interface", options->control_interface,
                    "Address to listen on for the CLI")
        ->capture_default_str();
    cmd->add_option("--control-port", options->control_port, "Port for the CLI (0: any free port)")
        ->capture_default_str();
    cmd->add_option("--token-file", options->token_file,
                    "File with the cluster token (else DORA_TOKEN or ~/.config/dora/token; "
                    "without one only this machine may connect)");
    cmd->add_flag("--quiet", options->quiet,
                  "Print nothing: log lines go to --log-file (default "
                  "$XDG_RUNTIME_DIR/dora/coordinator.log, else /tmp/dora-$UID/coordinator.log)");
    cmd->add_option("--log-file", options->log_file, "Where --quiet writes the log lines");
    cmd->add_option("--web", options->web,
                    "Serve the live web view on HOST:PORT (off by default; beyond this machine "
                    "only with a cluster token)");
    cmd->add_option("--state-dir", options->state_dir,
                    "Where the cluster CA is kept (ca.key, ca.crt) when there is a cluster token "
                    "(default $XDG_STATE_HOME/dora/coordinator, else "
                    "~/.local/state/dora/coordinator)");
    cmd->add_option("--ca-days", options->ca_days,
                    "Validity in days of a cluster CA created at this start")
        ->capture_default_str()
        ->check(CLI::Range(1, 36500));
    cmd->add_option("--cert-days", options->cert_days,
                    "Validity in days of the certificates issued when the request does not say")
        ->capture_default_str()
        ->check(CLI::Range(1, pki::kMaxCertificateDays));
    cmd->add_option("--max-pending-connections", options->max_pending,
                    "Connections that have not sent their hello yet, in all (beyond: the newest "
                    "is closed)")
        ->check(CLI::Range(size_t{1}, size_t{100000}))
        ->capture_default_str();
    cmd->add_option("--max-pending-per-address", options->max_pending_per_address,
                    "Of those, from one source address")
        ->check(CLI::Range(size_t{1}, size_t{100000}))
        ->capture_default_str();
    cmd->add_option("--hello-timeout", options->hello_timeout_ms,
                    "Milliseconds a connection has to send its hello")
        ->check(CLI::Range(uint64_t{100}, uint64_t{600000}))
        ->capture_default_str();
    cmd->callback([options] { run_coordinator(*options); });
}

}  // namespace dora::cli
