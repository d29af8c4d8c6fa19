// `dora daemon`: runs this machine's daemon in the foreground (see src/daemon/daemon.hpp).
#include "daemon/daemon.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/quiet_log.hpp"
#include "core/event_loop.hpp"
#include "core/sys.hpp"
#include "daemon/python_env.hpp"
#include "message/auth.hpp"
#include "shm/segment.hpp"
#include "zenoh/config.hpp"

namespace dora::cli {
namespace {

constexpr uint64_t kDaemonPeerLeaseMs = 4000;

struct DaemonCliOptions {
    std::string machine_id;
    std::string coordinator_addr = "127.0.0.1";
    uint16_t coordinator_port = 53290;
    uint16_t local_listen_port = 53291;
    std::string token_file;
    std::string work_dir;
    bool quiet = false;
    std::string log_file;
    std::string labels;  // "k=v,k2=v2"
    size_t keep_copies = 3;
};

// `--labels gpu=true,zone=edge` -> {gpu: true, zone: edge}.
std::map<std::string, std::string> parse_labels(const std::string& text) {
    std::map<std::string, std::string> labels;
    size_t start = 0;
    while (start < text.size()) {
        size_t comma = text.find(',', start);
        const std::string item =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        const size_t eq = item.find('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) {
            throw Exception(
                Error::make("--labels: \"{}\" is not `name=value`; write e.g. "
                            "`--labels gpu=true,zone=edge`",
                            item));
        }
        labels[item.substr(0, eq)] = item.substr(eq + 1);
        start = comma == std::string::npos ? text.size() : comma + 1;
    }
    return labels;
}

std::string default_work_dir(const std::string& machine_id) {
    return (sys::runtime_dir() /
            fmt::format("daemon-{}", machine_id.empty() ? "default" : machine_id))
        .string();
}

void run_daemon(const DaemonCliOptions& cli) {
    daemon::DaemonOptions options;
    options.machine_id = cli.machine_id;
    options.labels = parse_labels(cli.labels);
    options.coordinator_addr = cli.coordinator_addr;
    options.coordinator_port = cli.coordinator_port;
    options.local_listen_port = cli.local_listen_port;
    options.work_dir = cli.work_dir.empty() ? default_work_dir(cli.machine_id) : cli.work_dir;
    options.dora_version = version_text();
    options.keep_copies = cli.keep_copies;
    // --quiet: every line the daemon would print goes to the log file instead.
    std::function<void(const std::string&)> say = [](const std::string& line) {
        std::cerr << "[daemon] " << line << "\n";
    };
    if (cli.quiet) {
        options.log = open_quiet_log(cli.log_file.empty()
                                         ? std::filesystem::path(options.work_dir) / "daemon.log"
                                         : std::filesystem::path(cli.log_file),
                                     "[daemon]");
        say = options.log;
    }
    auto token = message::load_token(cli.token_file.empty()
                                         ? std::nullopt
                                         : std::optional<std::filesystem::path>(cli.token_file));
    if (!token) {
        throw Exception(token.error());
    }
    options.token = *token;
    options.extra_node_env["PYTHONPATH"] =
        daemon::prepend_python_path(daemon::dora_python_path(), std::getenv("PYTHONPATH"));
    if (const char* file = std::getenv("ZENOH_CONFIG"); file != nullptr && *file != '\0') {
        auto config = zenoh::load_config(file);
        if (!config) {
            throw Exception(config.error().context("ZENOH_CONFIG"));
        }
        if (!config->unknown_keys.empty()) {
            std::string keys;
            for (const auto& k : config->unknown_keys) keys += (keys.empty() ? "" : ", ") + k;
            say("ZENOH_CONFIG: ignoring keys dora-cpp does not use: " + keys);
        }
        options.zenoh = *config;
    } else {
        options.zenoh.mode = zenoh::Mode::kPeer;
        // With a token the other daemons reach this one over TLS under the cluster CA.
        auto any = zenoh::parse_endpoint(options.token ? "tls/0.0.0.0:0" : "tcp/0.0.0.0:0");
        options.zenoh.listen.push_back(*any);
        // Between our own daemons a lost link (a partition, a machine gone) is noticed after 4 s
        // of silence rather than Zenoh's 10 s, so consumers hear that a producer is unreachable
        // soon; keep-alives go every second. ZENOH_CONFIG's `transport.link.tx.lease` sets it.
        options.zenoh.lease_ms = kDaemonPeerLeaseMs;
    }
    shm::remove_stale_segments();

    auto loop = EventLoop::create();
    if (!loop) {
        throw Exception(loop.error());
    }
    auto d = daemon::Daemon::create(**loop, options);
    if (!d) {
        throw Exception(d.error());
    }
    int interrupts = 0;
    auto on_signal = [&] {
        if (++interrupts == 1) {
            say("stopping: every dataflow on this machine gets STOP (interrupt again to kill the "
                "nodes)");
            (*d)->shut_down(std::chrono::seconds(15));
        } else {
            (*d)->shut_down(std::chrono::seconds(0));
        }
    };
    (*loop)->on_signal(SIGINT, on_signal);
    (*loop)->on_signal(SIGTERM, on_signal);
    say(fmt::format("machine `{}` connecting to the coordinator at {}:{}", options.machine_id,
                    options.coordinator_addr, options.coordinator_port));
    (*d)->start();
    (*loop)->run();
}

}  // namespace

void add_daemon_command(CLI::App& app) {
    auto options = std::make_shared<DaemonCliOptions>();
    auto* cmd = app.add_subcommand("daemon", "Run the daemon of this machine (foreground)");
    cmd->add_option("--machine-id", options->machine_id,
                    "This machine's id, as nodes name it in `deploy: machine:` (none: the default "
                    "daemon)");
    cmd->add_option("-c,--coordinator-addr", options->coordinator_addr, "Coordinator address")
        ->capture_default_str();
    cmd->add_option("--coordinator-port", options->coordinator_port, "Coordinator port for daemons")
        ->capture_default_str();
    cmd->add_option("--local-listen-port", options->local_listen_port,
                    "Port on 127.0.0.1 for dynamic nodes (give each daemon of a machine its own)")
        ->capture_default_str();
    cmd->add_option("--token-file", options->token_file,
                    "File with the cluster token (else DORA_TOKEN or ~/.config/dora/token)");
    cmd->add_option("--work-dir", options->work_dir,
                    "Where dataflows started from other machines run (default under "
                    "$XDG_RUNTIME_DIR/dora or /tmp/dora-$UID)");
    cmd->add_option("--keep-copies", options->keep_copies,
                    "Copies of finished dataflows' files (sent by `dora start` from other "
                    "machines, with their nodes' logs) kept in the work dir: older ones are "
                    "removed, and so are the stored files no kept copy uses")
        ->capture_default_str();
    cmd->add_option("--labels", options->labels,
                    "This machine's labels, `name=value,...`: nodes whose `deploy.labels` all "
                    "match may be placed here");
    cmd->add_flag("--quiet", options->quiet,
                  "Print nothing: log lines go to --log-file (default <work dir>/daemon.log)");
    cmd->add_option("--log-file", options->log_file, "Where --quiet writes the log lines");
    cmd->callback([options] { run_daemon(*options); });
}

}  // namespace dora::cli
