// `dora run DATAFLOW`: runs a whole dataflow on this machine, without coordinator or daemon
// processes, and exits when every node has exited: 0 only if every node succeeded.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/coordinator_client.hpp"
#include "core/descriptor.hpp"
#include "core/event_loop.hpp"
#include "core/uuid.hpp"
#include "daemon/local_dataflow.hpp"
#include "daemon/python_env.hpp"
#include "shm/segment.hpp"

namespace dora::cli {
namespace {

struct RunOptions {
    std::string dataflow;
    double grace_seconds = 15.0;
    double stop_after_seconds = 0.0;
};

template <typename T>
T or_throw(Result<T>&& r) {
    if (!r) {
        throw Exception(r.error());
    }
    return std::move(*r);
}

std::chrono::nanoseconds seconds(double s) {
    return std::chrono::nanoseconds(static_cast<int64_t>(s * 1e9));
}

void run_dataflow(const RunOptions& options) {
    auto descriptor = or_throw(read_descriptor(options.dataflow));
    if (auto ok = validate(descriptor); !ok) {
        throw Exception(ok.error());
    }
    shm::remove_stale_segments();
    auto loop = or_throw(EventLoop::create());
    const std::string id = Uuid::new_v7().to_string();

    daemon::LocalDataflowOptions flow_options;
    flow_options.dataflow_id = id;
    flow_options.grace = seconds(options.grace_seconds);
    // Python nodes import the dora package that matches this binary (DESIGN.md section 7).
    flow_options.extra_env["PYTHONPATH"] =
        daemon::prepend_python_path(daemon::dora_python_path(), std::getenv("PYTHONPATH"));
    flow_options.on_log = [](const std::string& node, std::string_view stream,
                             std::string_view line) {
        // `<node>: stdout    <line>`, as dora prints it.
        std::string text = format_log_line(node, "", std::string(stream), std::string(line));
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
    };
    flow_options.on_finished = [&loop] { loop->stop(); };
    auto flow = or_throw(daemon::LocalDataflow::create(*loop, descriptor, flow_options));

    int interrupts = 0;
    auto on_interrupt = [&](const char* name) {
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
    loop->run();

    message::DataflowResult result;
    result.dataflow_id = id;
    result.success = true;
    for (const auto& r : flow->results()) {
        result.success = result.success && r.success;
        result.results.push_back(message::NodeResultInfo{r.node_id, "", r.success, r.status,
                                                         r.killed_after_grace, r.stderr_tail});
    }
    report_result(result);  // throws when a node failed
}

}  // namespace

void add_run_command(CLI::App& app) {
    auto options = std::make_shared<RunOptions>();
    auto* cmd = app.add_subcommand("run",
                                   "Run a dataflow on this machine, without coordinator "
                                   "or daemon (Ctrl-C stops it)");
    cmd->add_option("dataflow", options->dataflow, "The dataflow file (YAML)")->required();
    cmd->add_option("--grace-duration", options->grace_seconds,
                    "Seconds a node has to exit after STOP before it is killed")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--stop-after", options->stop_after_seconds,
                    "Stop the dataflow after this many seconds (0: run until it ends)")
        ->check(CLI::NonNegativeNumber);
    cmd->callback([options] { run_dataflow(*options); });
}

}  // namespace dora::cli
