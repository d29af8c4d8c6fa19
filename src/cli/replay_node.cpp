// `dora replay-node` (hidden): the process `dora replay` (replay.cpp) runs in place of a replayed
// node. It joins the dataflow as that node (DORA_NODE_CONFIG, as every spawned node), reads the
// recording and sends each message of its node's selected outputs on the same output id with the
// recorded Arrow type info, parameters and data (only the HLC timestamp is new: it is the replay
// clock's). Message i is due at start + (log_time_i - first log_time of the recording) / rate;
// with rate 0 each is sent at once. Between messages it waits on its event stream, so a STOP
// (Ctrl-C, `--stop-after`) ends it at once. At the end of the recording it closes its outputs
// and exits; a recording that ends early is replayed up to its last complete message, then the
// fault is printed on stderr (exit status 0: `dora replay` reports it too).
//
// Memory: one recorded message at a time, plus the sample it is copied into.
#include <chrono>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "mcap/recording.hpp"
#include "node_api/node_impl.hpp"

namespace dora::cli {
namespace {

struct ReplayNodeOptions {
    std::string recording;
    double rate = 1.0;
    uint64_t start_ns = 0;
    std::vector<std::string> outputs;
};

using Clock = std::chrono::steady_clock;

// Waits until `due`, watching the event stream; false when the node was told to stop.
bool wait_until(NodeImpl& node, Clock::time_point due) {
    for (;;) {
        const auto now = Clock::now();
        const auto left = due > now ? due - now : Clock::duration::zero();
        auto event = node.next(std::chrono::duration_cast<std::chrono::nanoseconds>(left));
        if (event && event->type == EventType::Stop) {
            return false;
        }
        if (!event && node.finished()) {
            return false;
        }
        if (!event && Clock::now() >= due) {
            return true;
        }
    }
}

Clock::time_point due_time(const ReplayNodeOptions& options, Clock::time_point start,
                           uint64_t log_time) {
    const uint64_t since = log_time > options.start_ns ? log_time - options.start_ns : 0;
    const double scaled = static_cast<double>(since) / options.rate;
    return start + std::chrono::nanoseconds(static_cast<int64_t>(scaled));
}

bool wanted(const ReplayNodeOptions& options, const mcap::RecordedMessage& m,
            const std::string& node_id) {
    return m.node == node_id &&
           (options.outputs.empty() || std::find(options.outputs.begin(), options.outputs.end(),
                                                 m.output) != options.outputs.end());
}

void replay_node(const ReplayNodeOptions& options) {
    auto node = NodeImpl::from_env();
    if (!node) {
        throw Exception(node.error().context("dora replay-node (run by `dora replay`)"));
    }
    auto reader = mcap::RecordingReader::open(options.recording);
    if (!reader) {
        throw Exception(reader.error());
    }
    const std::string node_id = (*node)->config().node_id;
    const auto start = Clock::now();
    uint64_t sent = 0;
    for (;;) {
        auto m = (*reader)->next();
        if (!m) {
            std::cerr << "replay of " << node_id << " stopped after " << sent
                      << " message(s): " << m.error().message() << "\n";
            break;
        }
        if (!*m) {
            break;
        }
        if (!wanted(options, **m, node_id)) {
            continue;
        }
        const auto due = options.rate > 0 ? due_time(options, start, (*m)->log_time_ns) : start;
        if (!wait_until(**node, due)) {
            return;  // stopped
        }
        const auto& data = (*m)->data;
        auto ok = (*node)->send((*m)->output, (*m)->metadata.type_info, data.size(),
                                (*m)->metadata.parameters, [&](std::byte* out) {
                                    if (!data.empty()) {
                                        std::memcpy(out, data.data(), data.size());
                                    }
                                });
        if (!ok) {
            throw Exception(
                ok.error().context(fmt::format("replaying {}/{}", node_id, (*m)->output)));
        }
        ++sent;
    }
    (*node)->close_outputs();
    std::cerr << "replayed " << sent << " message(s)\n";
}

}  // namespace

void add_replay_node_command(CLI::App& app) {
    auto options = std::make_shared<ReplayNodeOptions>();
    auto* cmd = app.add_subcommand("replay-node", "The node `dora replay` runs (internal)");
    cmd->group("");  // not listed in --help: only `dora replay` starts it
    cmd->add_option("--recording", options->recording)->required();
    cmd->add_option("--rate", options->rate)->check(CLI::NonNegativeNumber);
    cmd->add_option("--start-ns", options->start_ns);
    cmd->add_option("--output", options->outputs);
    cmd->callback([options] { replay_node(*options); });
}

}  // namespace dora::cli
