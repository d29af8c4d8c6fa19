// `dora run DATAFLOW`: runs a whole dataflow on this machine, without coordinator or daemon
// processes, and exits when every node has exited: 0 only if every node succeeded. With debug
// inspection on, it also opens a Zenoh session (ZENOH_CONFIG, else a peer listening on a free
// loopback port, announced on stderr) and publishes every output there, as a daemon does.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "cli/run_local.hpp"
#include "cli/zenoh_cli.hpp"
#include "core/descriptor.hpp"
#include "core/event_loop.hpp"
#include "core/uuid.hpp"
#include "daemon/build_runner.hpp"
#include "daemon/local_dataflow.hpp"
#include "daemon/node_source.hpp"
#include "daemon/python_env.hpp"
#include "daemon/spawner.hpp"
#include "daemon/zenoh_bridge.hpp"
#include "message/auth.hpp"
#include "shm/segment.hpp"

namespace dora::cli {
namespace {

struct RunOptions {
    std::string dataflow;
    LocalRunOptions run;
};

std::chrono::nanoseconds seconds(double s) {
    return std::chrono::nanoseconds(static_cast<int64_t>(s * 1e9));
}

// Downloads the URL nodes not yet cached (on the loop: Ctrl-C cancels them through
// `fetching`), then points git and URL nodes at their files; throws naming what is missing.
void fetch_sources(EventLoop& loop, Descriptor& descriptor, daemon::BuildRunner*& fetching) {
    auto all = [](const NodeDescriptor&) { return true; };
    auto places = daemon::source_places(descriptor.base_dir);
    auto steps = daemon::plan_downloads(descriptor, all, places);
    if (!steps.empty()) {
        daemon::BuildRunner runner(loop, daemon::current_environment());
        std::optional<std::pair<bool, std::string>> outcome;
        fetching = &runner;
        runner.run(
            std::move(steps),
            [](const std::string& node, std::string_view line) {
                print_log_line(node, "", "dora", line);
            },
            [&](bool success, const std::string& message) { outcome.emplace(success, message); });
        while (!outcome && loop.run_once(std::chrono::milliseconds(100))) {
        }
        fetching = nullptr;
        if (!outcome || !outcome->first) {
            throw Exception(Error::make("cannot run the dataflow:\n  {}",
                                        outcome ? outcome->second : std::string("interrupted")));
        }
    }
    if (auto ok = daemon::resolve_fetched_sources(descriptor, all, places); !ok) {
        throw Exception(ok.error());
    }
}

// Debug inspection: the session every output is published through (ZENOH_CONFIG, else a peer on
// a free loopback port), announced on stderr so that a watcher knows where to connect.
std::unique_ptr<daemon::ZenohBridge> start_inspection(EventLoop& loop,
                                                      daemon::LocalDataflow& flow) {
    daemon::ZenohBridgeOptions options;
    options.machine_id = "local";
    if (has_config_file(ZenohCliOptions{})) {
        options.config = resolve_zenoh_config(ZenohCliOptions{}, "dora run");
    } else {
        options.config.mode = zenoh::Mode::kPeer;
        options.config.listen.push_back(*zenoh::parse_endpoint("tcp/127.0.0.1:0"));
    }
    auto bridge = or_throw(daemon::ZenohBridge::start(loop, options));
    if (auto ok = bridge->attach(flow, [](const std::string&, const std::string&) {}); !ok) {
        throw Exception(ok.error().context("debug inspection"));
    }
    std::string where;
    for (const auto& e : bridge->endpoints()) {
        where += (where.empty() ? "" : ", ") + e;
    }
    std::cerr << "debug inspection: every output is published on Zenoh under dora/default/"
              << flow.id() << "/output/<node>/<output>"
              << (where.empty() ? std::string() : "; connect to " + where) << "\n";
    return bridge;
}

}  // namespace

void run_local(Descriptor descriptor, const LocalRunOptions& options) {
    shm::remove_stale_segments();
    auto loop = or_throw(EventLoop::create());
    const std::string id = Uuid::new_v7().to_string();
    daemon::BuildRunner* fetching = nullptr;
    std::unique_ptr<daemon::LocalDataflow> flow;

    daemon::LocalDataflowOptions flow_options;
    flow_options.dataflow_id = id;
    flow_options.grace = seconds(options.grace_seconds);
    // Python nodes import the dora package that matches this binary (DESIGN.md section 7).
    flow_options.extra_env["PYTHONPATH"] =
        daemon::prepend_python_path(daemon::dora_python_path(), std::getenv("PYTHONPATH"));
    flow_options.on_log = [](const std::string& node, std::string_view stream,
                             std::string_view line) {
        print_log_line(node, "", stream, line);  // `<node>: stdout    <line>`, as dora prints it
    };
    flow_options.on_finished = [&loop] { loop->stop(); };

    int interrupts = 0;
    auto on_interrupt = [&](const char* name) {
        if (fetching != nullptr) {
            std::cerr << "received " << name << ": cancelling the downloads\n";
            fetching->cancel_all();
            return;
        }
        if (!flow) return;
        ++interrupts;
        if (interrupts == 1) {
            std::cerr << "received " << name << ": stopping the dataflow (grace duration "
                      << options.grace_seconds << " s; interrupt again to kill it now)\n";
            flow->stop();
        } else {
            std::cerr << "received " << name << " again: killing every node\n";
            flow->kill_all();
        }
    };
    loop->on_signal(SIGINT, [&] { on_interrupt("SIGINT"); });
    loop->on_signal(SIGTERM, [&] { on_interrupt("SIGTERM"); });
    loop->on_signal(SIGHUP, [&] { on_interrupt("SIGHUP"); });
    fetch_sources(*loop, descriptor, fetching);
    flow = or_throw(daemon::LocalDataflow::create(*loop, descriptor, flow_options));
    std::unique_ptr<daemon::ZenohBridge> inspection;
    if (descriptor.debug_inspection) {
        inspection = start_inspection(*loop, *flow);
    }
    Timer stop_after;
    if (options.stop_after_seconds > 0) {
        stop_after = loop->add_timer(seconds(options.stop_after_seconds), [&] { flow->stop(); });
    }

    std::cerr << "running dataflow " << id << "\n";
    if (auto ok = flow->start(); !ok) {
        // Wait for what did start to go away, then report.
        while (!flow->finished() && loop->run_once(std::chrono::milliseconds(100))) {
        }
        throw Exception(ok.error());
    }
    std::cerr << "dataflow " << id << ": " << flow->running_processes() << " node(s) started\n";
    loop->run();
    if (inspection) {
        inspection->detach(id);  // hands over what the nodes left, then the end markers
        // Let the session put and write them (bounded: a watcher may have stopped reading).
        const auto deadline = std::chrono::steady_clock::now() + seconds(2);
        while (inspection->unpublished() > 0 && std::chrono::steady_clock::now() < deadline) {
            loop->run_once(std::chrono::milliseconds(10));
        }
    }

    message::DataflowResult result;
    result.dataflow_id = id;
    result.success = true;
    for (const auto& r : flow->results()) {
        result.success = result.success && r.success;
        result.results.push_back(message::NodeResultInfo{
            r.node_id, "", r.success, r.status, r.killed_after_grace, r.stderr_tail, r.exit_code});
    }
    result.drops = flow->drops();
    report_result(result, options.strict || descriptor.strict);  // throws when it failed
}

namespace {

void run_dataflow(const RunOptions& options) {
    auto descriptor = or_throw(read_descriptor(options.dataflow));
    if (auto ok = validate(descriptor); !ok) {
        throw Exception(ok.error());
    }
    run_local(std::move(descriptor), options.run);
}

}  // namespace

void add_run_command(CLI::App& app) {
    auto options = std::make_shared<RunOptions>();
    auto* cmd = app.add_subcommand("run",
                                   "Run a dataflow on this machine, without coordinator "
                                   "or daemon (Ctrl-C stops it)");
    cmd->add_option("dataflow", options->dataflow, "The dataflow file (YAML)")->required();
    add_local_run_options(*cmd, options->run);
    cmd->callback([options] { run_dataflow(*options); });
}

void add_local_run_options(CLI::App& cmd, LocalRunOptions& options) {
    cmd.add_option("--grace-duration", options.grace_seconds,
                   "Seconds a node has to exit after STOP before it is killed")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd.add_option("--stop-after", options.stop_after_seconds,
                   "Stop the dataflow after this many seconds (0: run until it ends)")
        ->check(CLI::NonNegativeNumber);
    cmd.add_flag("--strict", options.strict,
                 "Exit with a failure status if the dataflow dropped any message (as the "
                 "dataflow key `strict: true` does)");
}

}  // namespace dora::cli
