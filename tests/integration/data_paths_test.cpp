// One behaviour suite over both data paths, with the real `dora` binary and real node processes:
//
//   SharedMemory: `dora run`, every node on this machine, data through shared memory.
//   TwoDaemons:   a coordinator and daemons `a` and `b` on ephemeral loopback ports, the dataflow
//                 started with `dora start --attach` through the coordinator. Every node is placed
//                 with `_unstable_deploy: {machine: ...}` so that every edge of each dataflow goes
//                 from a node on one machine to a node on the other: data travels over Zenoh.
//
// Each behaviour is written once (TEST_P over DataPath). `dora run` ignores the placement, so the
// same YAML serves both paths; the fixture knows how each path prints a node's output
// (`sink: stdout ...` or ``sink on daemon `b`: stdout ...``), how a user stops a dataflow on it
// and which processes own the nodes.
//
// What does not hold the same way across machines is asserted as it holds there, and said so
// next to the test:
//   - Queue drops: on one machine every message the producer sent is either received or counted
//     as dropped by the consumer's input queue. Across machines the producer daemon's queue to
//     the network (egress), the link and the receiving daemon (ingress) may drop too, each
//     reported on the log of the node concerned. On both paths the run ends "finished with N
//     message(s) dropped (...)" where N is exactly sent - received, and --strict fails it.
//   - Killing the owner of the nodes: `dora run` owns its nodes; with daemons the attached CLI
//     owns nothing (killing it leaves the dataflow running, by design), the daemons do. The test
//     kills whichever owns the nodes.
//   - Stopping with a grace duration: `dora run --grace-duration` and SIGTERM on one machine,
//     `dora stop <id> --grace-duration` through the coordinator (SIGTERM to an attached `dora
//     start` stops with the default grace duration).
//   - Timers have no edge to place: they tick on the daemon of the node that reads them.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <set>

#include "core/descriptor.hpp"
#include "testing/cluster.hpp"
#include "testing/process.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"
#include "testing/wait.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::testing {
namespace {

enum class DataPath { kSharedMemory, kTwoDaemons };

std::string path_name(const ::testing::TestParamInfo<DataPath>& info) {
    return info.param == DataPath::kSharedMemory ? "SharedMemory" : "TwoDaemons";
}

class Dataflow : public ::testing::TestWithParam<DataPath> {
  protected:
    void SetUp() override {
        if (GetParam() == DataPath::kTwoDaemons) {
            cluster_ = std::make_unique<Cluster>(DORA_CLI_BINARY, dir_.path());
            ASSERT_TRUE(cluster_->start({"a", "b"}));
        }
    }

    void TearDown() override { stop_cluster(cluster_, HasFailure()); }

    bool two_daemons() const { return GetParam() == DataPath::kTwoDaemons; }

    // Writes the dataflow; `NODE` in the text is replaced by the test node's absolute path.
    fs::path dataflow(const std::string& yaml) {
        auto file = dir_.write("dataflow.yml", replace_all(yaml, "NODE", DORA_TEST_NODE));
        auto descriptor = parse_descriptor(read_file(file), file);
        EXPECT_TRUE(descriptor) << descriptor.error().message();
        if (descriptor) {
            for (const auto& node : descriptor->nodes) {
                machine_[node.id] = node.deploy.machine.value_or("");
            }
        }
        return file;
    }

    // Starts the dataflow as a user would on this data path and returns the attached process
    // that prints the nodes' output and exits with the dataflow's result. `grace` is how long
    // a node has to exit after a stop() before it is killed.
    // `extra` goes after the verb's own arguments (e.g. --strict).
    std::unique_ptr<Process> start(const fs::path& file, std::chrono::seconds grace = 15s,
                                   const std::vector<std::string>& extra = {}) {
        grace_ = grace;
        if (two_daemons()) {
            std::vector<std::string> args{"start", file.string(), "--attach"};
            args.insert(args.end(), extra.begin(), extra.end());
            return cluster_->spawn(args);
        }
        std::vector<std::string> args{DORA_CLI_BINARY, "run", file.string(), "--grace-duration",
                                      std::to_string(grace.count())};
        args.insert(args.end(), extra.begin(), extra.end());
        return std::make_unique<Process>(args, SpawnOptions{.cwd = dir_.path()});
    }

    // Stops the dataflow as a user would: SIGTERM to `dora run`; `dora stop <id>
    // --grace-duration` with daemons.
    void stop(Process& run) {
        if (!two_daemons()) {
            run.signal(SIGTERM);
            return;
        }
        std::smatch m;
        const std::regex triggered("dataflow start triggered: ([0-9a-f-]{36})");
        ASSERT_TRUE(run.wait_for([&] { return std::regex_search(run.out(), m, triggered); }, 20s))
            << run.all();
        std::string id = m[1];
        // `dora stop` waits for the dataflow's result and exits 1 when a node failed: that is
        // for the test to judge from the attached process, not here.
        auto stopped =
            cluster_->run({"stop", id, "--grace-duration", std::to_string(grace_.count()) + "s"});
        EXPECT_TRUE(contains(stopped.out, "stopped")) << stopped.all();
    }

    // How the run prints a line its node wrote on stdout.
    std::string out_line(const std::string& node, const std::string& line) const {
        return prefix(node) + "stdout    " + line;
    }
    // How the run prints a line the runtime logged about a node (e.g. its dropped inputs).
    std::string runtime_line(const std::string& node, const std::string& line) const {
        return prefix(node) + "dora      " + line;
    }
    // How the run reports a node that failed.
    std::string failed(const std::string& node) const {
        auto machine = machine_.find(node);
        if (two_daemons() && machine != machine_.end() && !machine->second.empty()) {
            return "node " + node + " on daemon `" + machine->second + "` failed";
        }
        return "node " + node + " failed";
    }

    // The processes that own the nodes: `dora run` itself, or the daemons.
    std::vector<pid_t> owners(const Process& run) const {
        if (!two_daemons()) {
            return {run.pid()};
        }
        std::vector<pid_t> pids;
        for (const auto& daemon : cluster_->daemons()) {
            pids.push_back(daemon->pid());
        }
        return pids;
    }

    static std::set<pid_t> node_pids(const std::string& out) {
        std::set<pid_t> pids;
        std::regex re(R"(stdout\s+pid (\d+))");
        for (std::sregex_iterator it(out.begin(), out.end(), re), end; it != end; ++it) {
            pids.insert(std::stoi((*it)[1]));
        }
        return pids;
    }

    TempDir dir_{"dora-data-paths-test"};
    std::unique_ptr<Cluster> cluster_;

  private:
    std::string prefix(const std::string& node) const {
        auto machine = machine_.find(node);
        if (two_daemons() && machine != machine_.end() && !machine->second.empty()) {
            return node + " on daemon `" + machine->second + "`: ";
        }
        return node + ": ";
    }

    std::map<std::string, std::string> machine_;  // node id -> machine of its placement
    std::chrono::seconds grace_{15};
};

TEST_P(Dataflow, PipelineDeliversEveryMessageInOrderAndExitsZero) {
    auto file = dataflow(R"(
nodes:
  - id: source
    path: NODE
    args: producer --count 200 --size 100
    outputs: [out]
    _unstable_deploy: {machine: a}
  - id: relay
    path: NODE
    args: relay
    inputs:
      in: {source: source/out, queue_size: 1000}
    outputs: [out]
    _unstable_deploy: {machine: b}
  - id: sink
    path: NODE
    args: consumer --expect 200
    inputs:
      in: {source: relay/out, queue_size: 1000}
    _unstable_deploy: {machine: a}
)");
    auto run = start(file);
    int status = run->wait(60s);
    EXPECT_EQ(exit_code(status), 0) << describe_status(status) << "\n" << run->all();
    EXPECT_TRUE(contains(run->out(), out_line("sink", "total 200")));
    EXPECT_TRUE(contains(run->out(), out_line("sink", "input closed in")));
    EXPECT_TRUE(contains(run->out(), out_line("sink", "stop all-inputs-closed")));
    // Logs land in out/<uuid>/log_<node>.txt in the node's working directory: next to the
    // dataflow file (the daemons run on the machine the dataflow was started from).
    std::string log;
    std::error_code ec;
    for (const auto& entry : fs::recursive_directory_iterator(dir_ / "out", ec)) {
        if (entry.path().filename() == "log_sink.txt") {
            log = read_file(entry.path());
        }
    }
    EXPECT_TRUE(contains(log, "total 200")) << "log_sink.txt with the consumer's output";
}

TEST_P(Dataflow, FanOutReachesThreeConsumers) {
    auto file = dataflow(R"(
nodes:
  - id: source
    path: NODE
    args: producer --count 50 --size 4096
    outputs: [out]
    _unstable_deploy: {machine: a}
  - {id: one, path: NODE, args: consumer --expect 50, inputs: {in: {source: source/out, queue_size: 100}}, _unstable_deploy: {machine: b}}
  - {id: two, path: NODE, args: consumer --expect 50, inputs: {in: {source: source/out, queue_size: 100}}, _unstable_deploy: {machine: b}}
  - {id: three, path: NODE, args: consumer --expect 50, inputs: {in: {source: source/out, queue_size: 100}}, _unstable_deploy: {machine: b}}
)");
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(60s)), 0) << run->all();
    for (const char* node : {"one", "two", "three"}) {
        EXPECT_TRUE(contains(run->out(), out_line(node, "total 50")));
    }
}

TEST_P(Dataflow, FanInMergesTwoProducers) {
    auto file = dataflow(R"(
nodes:
  - {id: p1, path: NODE, args: producer --count 40, outputs: [out], _unstable_deploy: {machine: a}}
  - {id: p2, path: NODE, args: producer --count 60, outputs: [out], _unstable_deploy: {machine: a}}
  - id: sink
    path: NODE
    args: consumer --expect 100
    inputs:
      one: {source: p1/out, queue_size: 100}
      two: {source: p2/out, queue_size: 100}
    _unstable_deploy: {machine: b}
)");
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(60s)), 0) << run->all();
    EXPECT_TRUE(contains(run->out(), out_line("sink", "received one 40")));
    EXPECT_TRUE(contains(run->out(), out_line("sink", "received two 60")));
}

// The node reads only timers; with daemons they tick on b, the node's machine.
TEST_P(Dataflow, EveryTimerFormTicksAtItsRate) {
    auto file = dataflow(R"(
nodes:
  - id: clock
    path: NODE
    args: ticks --until secs:3
    inputs:
      secs: dora/timer/secs/1
      millis: dora/timer/millis/100
      hz: dora/timer/hz/20
    _unstable_deploy: {machine: b}
)");
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(30s)), 0) << run->all();
    auto count = [&](const std::string& id) {
        std::smatch m;
        std::string out = run->out();
        return std::regex_search(out, m, std::regex("ticks " + id + " (\\d+)")) ? std::stoi(m[1])
                                                                                : -1;
    };
    // Timers tick at once, then every interval, as dora's do: the third secs tick comes at 2 s,
    // after 21 millis ticks and 41 hz ticks when on time; a loaded machine may deliver some
    // late, never more.
    EXPECT_EQ(count("secs"), 3) << run->out();
    EXPECT_GE(count("millis"), 14) << run->out();
    EXPECT_LE(count("millis"), 21) << run->out();
    EXPECT_GE(count("hz"), 28) << run->out();
    EXPECT_LE(count("hz"), 41) << run->out();
}

TEST_P(Dataflow, CrashingNodeIsReportedAndOthersKeepRunning) {
    auto file = dataflow(R"(
nodes:
  - {id: source, path: NODE, args: producer --count 30 --interval-ms 10, outputs: [out], _unstable_deploy: {machine: a}}
  - {id: crasher, path: NODE, args: crash --after 3, inputs: {in: source/out}, _unstable_deploy: {machine: b}}
  - {id: sink, path: NODE, args: consumer --expect 30, inputs: {in: {source: source/out, queue_size: 100}}, _unstable_deploy: {machine: b}}
)");
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(60s)), 1) << run->all();
    EXPECT_TRUE(contains(run->out(), out_line("sink", "total 30")));
    EXPECT_TRUE(contains(run->err(), failed("crasher") + ": it was killed by signal 6 (SIGABRT)"));
    EXPECT_TRUE(contains(run->err(), "crash node: giving up after 3 inputs"));
    EXPECT_FALSE(contains(run->err(), failed("sink")));
}

TEST_P(Dataflow, NodeIgnoringStopIsKilledAfterGraceDuration) {
    auto file = dataflow(R"(
nodes:
  - {id: stubborn, path: NODE, args: ignore-stop, inputs: {tick: dora/timer/millis/50}, _unstable_deploy: {machine: b}}
  - {id: polite, path: NODE, args: ticks, inputs: {tick: dora/timer/millis/50}, _unstable_deploy: {machine: a}}
)");
    auto run = start(file, 1s);
    ASSERT_TRUE(run->wait_for([&] { return node_pids(run->out()).size() == 2; }, 20s))
        << run->all();
    auto stop_requested = Clock::now();
    stop(*run);
    EXPECT_EQ(exit_code(run->wait(30s)), 1) << run->all();
    EXPECT_LT(Clock::now() - stop_requested, 10s);
    EXPECT_TRUE(contains(run->out(), out_line("stubborn", "ignoring stop")));
    EXPECT_TRUE(contains(run->err(), failed("stubborn")));
    EXPECT_TRUE(contains(run->err(), "did not stop within the grace duration"));
    EXPECT_FALSE(contains(run->err(), failed("polite")));
}

// The largest count in lines matching `pattern` (its group 1): drop reports carry totals so far.
int last_total(const std::string& text, const std::string& pattern) {
    int total = 0;
    const std::regex re(pattern);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator();
         ++it) {
        total = std::max(total, std::stoi((*it)[1]));
    }
    return total;
}

const char* const kFloodedSlowConsumer = R"(
nodes:
  - {id: source, path: NODE, args: producer --count 200, outputs: [out], _unstable_deploy: {machine: a}}
  - {id: sink, path: NODE, args: slow --delay-ms 5, inputs: {in: {source: source/out, queue_size: 2}}, _unstable_deploy: {machine: b}}
)";

// Every message sent is received or counted where it was dropped; the run says how many.
TEST_P(Dataflow, FullQueueDropsOldestAndCountsDrops) {
    auto file = dataflow(kFloodedSlowConsumer);
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(60s)), 0) << run->all();
    std::smatch m;
    std::string out = run->out();
    ASSERT_TRUE(std::regex_search(out, m, std::regex("slow received (\\d+) dropped (\\d+)")))
        << out;
    int received = std::stoi(m[1]);
    int dropped = std::stoi(m[2]);  // as the node's API counts its input queue's drops
    EXPECT_GT(received, 0);
    EXPECT_GT(dropped, 0);
    // Each place reports on the log of the node concerned, with the total so far.
    int queue = last_total(out, R"(input in dropped (\d+) message\(s\) so far)");
    int egress = last_total(
        out,
        R"(output out of node source: (\d+) message\(s\) dropped at egress so far: its queue)");
    int link =
        last_total(out, R"(output out of node source: (\d+) message\(s\) dropped on the link)");
    int ingress =
        last_total(out, R"(input in of node sink: (\d+) message\(s\) dropped at ingress)");
    std::cerr << "200 sent: " << received << " received; dropped: input queue " << dropped
              << " (reported " << queue << "), egress " << egress << ", link " << link
              << ", ingress " << ingress << "\n";
    EXPECT_EQ(queue, dropped);
    EXPECT_EQ(received + queue + egress + link + ingress, 200);
    // The result sums them: exactly what was sent and not received.
    ASSERT_TRUE(std::regex_search(
        run->err(), m,
        std::regex(
            R"(finished with (\d+) message\(s\) dropped \(egress (\d+), link (\d+), ingress (\d+), input queue (\d+)\))")))
        << run->all();
    EXPECT_EQ(std::stoi(m[1]), 200 - received);
    EXPECT_EQ(std::stoi(m[2]), egress);
    EXPECT_EQ(std::stoi(m[5]), dropped);
    EXPECT_FALSE(contains(run->err(), "finished successfully"));
    EXPECT_TRUE(contains(out, runtime_line("sink", "input in dropped")));
}

// The same flood with `queue_policy: backpressure`: the producer waits instead (across daemons
// too: the egress ring, the producer's daemon's link queue and the receiving daemon's ingress
// hold back), nothing is dropped anywhere and the order is kept.
const char* const kBackpressuredSlowConsumer = R"(
nodes:
  - {id: source, path: NODE, args: producer --count 200, outputs: [out], _unstable_deploy: {machine: a}}
  - {id: sink, path: NODE, args: slow --delay-ms 5, inputs: {in: {source: source/out, queue_size: 2, queue_policy: backpressure}}, _unstable_deploy: {machine: b}}
)";

TEST_P(Dataflow, BackpressureLosesNothingAndKeepsTheOrder) {
    auto file = dataflow(kBackpressuredSlowConsumer);
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(60s)), 0) << run->all();
    EXPECT_TRUE(contains(run->out(), out_line("sink", "slow received 200 dropped 0 in order true")))
        << run->all();
    EXPECT_TRUE(contains(run->out(), out_line("source", "producer sent 200"))) << run->all();
    EXPECT_TRUE(contains(run->err(), "finished successfully")) << run->all();
    EXPECT_FALSE(contains(run->all(), "dropped at")) << run->all();
    EXPECT_FALSE(contains(run->all(), "dropped on the link")) << run->all();
}

// More than every buffer between producer and consumer holds (96 MiB; across daemons the egress
// ring, what the egress has in flight, the link's hold mark, the sockets and one read of the
// receiving daemon are some 45 MiB): the producer itself waits, and a note on its log says so.
TEST_P(Dataflow, BackpressureSlowsTheProducerAndSaysSo) {
    auto file = dataflow(R"(
nodes:
  - {id: source, path: NODE, args: producer --count 3000 --size 32768, outputs: [out], _unstable_deploy: {machine: a}}
  - {id: sink, path: NODE, args: slow --delay-ms 1, inputs: {in: {source: source/out, queue_size: 2, queue_policy: backpressure}}, _unstable_deploy: {machine: b}}
)");
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(120s)), 0) << run->all();
    EXPECT_TRUE(
        contains(run->out(), out_line("sink", "slow received 3000 dropped 0 in order true")))
        << run->all();
    EXPECT_TRUE(contains(run->err(), "finished successfully")) << run->all();
    const std::string note = two_daemons()
                                 ? "output out (queue_policy: backpressure on another machine): "
                                   "this node waited "
                                 : "input in (queue_policy: backpressure): its sender waited ";
    EXPECT_TRUE(contains(run->out(), note)) << run->out();
}

TEST_P(Dataflow, StrictRunThatDroppedFails) {
    auto file = dataflow(kFloodedSlowConsumer);
    auto run = start(file, 15s, {"--strict"});
    EXPECT_EQ(exit_code(run->wait(60s)), 1) << run->all();
    EXPECT_TRUE(contains(run->err(), "message(s) dropped")) << run->all();
    EXPECT_TRUE(contains(run->err(), "drops are failures here")) << run->all();
}

TEST_P(Dataflow, StrictDataflowKeyMakesDropsAFailure) {
    auto file = dataflow(std::string("strict: true\n") + kFloodedSlowConsumer);
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(60s)), 1) << run->all();
    EXPECT_TRUE(contains(run->err(), "drops are failures here")) << run->all();
}

TEST_P(Dataflow, FortyMebibyteMessageArrivesIntact) {
    auto file = dataflow(R"(
nodes:
  - {id: source, path: NODE, args: big --size 41943040, outputs: [out], _unstable_deploy: {machine: a}}
  - {id: sink, path: NODE, args: consumer --expect 1, inputs: {in: source/out}, _unstable_deploy: {machine: b}}
)");
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(60s)), 0) << run->all();
    EXPECT_TRUE(contains(run->out(), out_line("sink", "total 1")));
    EXPECT_FALSE(contains(run->out(), "corrupt"));
}

// SIGTERM to the attached process (`dora run`, or `dora start --attach`) stops the dataflow.
TEST_P(Dataflow, SigtermStopsEveryNodeGracefully) {
    auto file = dataflow(R"(
nodes:
  - {id: left, path: NODE, args: ticks, inputs: {tick: dora/timer/millis/20}, _unstable_deploy: {machine: a}}
  - {id: right, path: NODE, args: ticks, inputs: {tick: dora/timer/millis/20}, _unstable_deploy: {machine: b}}
)");
    auto run = start(file);
    ASSERT_TRUE(run->wait_for([&] { return node_pids(run->out()).size() == 2; }, 20s))
        << run->all();
    run->signal(SIGTERM);
    EXPECT_EQ(exit_code(run->wait(30s)), 0) << run->all();
    for (pid_t pid : node_pids(run->out())) {
        EXPECT_TRUE(wait_until([&] { return process_gone(pid); }, 5s))
            << "node process " << pid << " outlived the dataflow";
    }
    EXPECT_TRUE(contains(run->out(), out_line("left", "ticks tick")));
}

// Whoever owns the nodes (see the top of the file) dies by SIGKILL: no node may outlive it.
TEST_P(Dataflow, SigkillOfTheNodesOwnerLeavesNoNodeBehind) {
    auto file = dataflow(R"(
nodes:
  - {id: ticker, path: NODE, args: ticks, inputs: {tick: dora/timer/millis/20}, _unstable_deploy: {machine: a}}
  - {id: stubborn, path: NODE, args: ignore-stop, inputs: {tick: dora/timer/millis/20}, _unstable_deploy: {machine: b}}
)");
    auto run = start(file);
    ASSERT_TRUE(run->wait_for([&] { return node_pids(run->out()).size() == 2; }, 20s))
        << run->all();
    auto pids = node_pids(run->out());
    for (pid_t owner : owners(*run)) {
        ::kill(owner, SIGKILL);
    }
    for (pid_t pid : pids) {
        EXPECT_TRUE(wait_until([&] { return process_gone(pid); }, 5s))
            << "node process " << pid << " outlived its owner";
    }
}

TEST_P(Dataflow, MissingExecutableIsRejectedBeforeAnythingRuns) {
    auto file = dataflow(R"(
nodes:
  - {id: source, path: NODE, args: producer --count 1, outputs: [out], _unstable_deploy: {machine: a}}
  - {id: sink, path: ./does-not-exist, inputs: {in: source/out}, _unstable_deploy: {machine: b}}
)");
    auto run = start(file);
    if (two_daemons()) {
        // The coordinator refuses the dataflow once machine b could not prepare it.
        EXPECT_TRUE(wait_until([&] { return has_text(cluster_->run({"list"}).out, " failed "); },
                               30s, 20ms))
            << cluster_->run({"list"}).out;
        EXPECT_TRUE(contains(cluster_->coordinator()->all(), "does-not-exist"));
    }
    EXPECT_EQ(exit_code(run->wait(30s)), 1) << run->all();
    EXPECT_TRUE(contains(run->err(), "does-not-exist"));
    EXPECT_TRUE(node_pids(run->out()).empty()) << "nothing may be spawned: " << run->out();
}

TEST_P(Dataflow, OnFailurePolicyRestartsUpToMaxRestarts) {
    auto file = dataflow(R"(
nodes:
  - id: crasher
    path: NODE
    args: crash --after 2
    inputs: {tick: dora/timer/millis/20}
    restart_policy: on-failure
    max_restarts: 2
    _unstable_deploy: {machine: b}
)");
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(60s)), 1) << run->all();
    EXPECT_TRUE(contains(run->out(), "(restart 1 of 2)"));
    EXPECT_TRUE(contains(run->out(), "(restart 2 of 2)"));
    EXPECT_FALSE(contains(run->out(), "(restart 3"));
    EXPECT_TRUE(contains(run->err(), failed("crasher")));
    EXPECT_EQ(node_pids(run->out()).size(), 3u) << "three incarnations: " << run->out();
}

// dora 1.x restart tuning: the delay starts at restart_delay and doubles, capped by
// max_restart_delay; restart_window forgets restarts older than the window, so a node that fails
// rarely keeps being restarted while max_restarts still stops one that fails fast.
TEST_P(Dataflow, RestartDelayDoublesUpToItsCapAndTheWindowForgetsOldRestarts) {
    auto file = dataflow(R"(
nodes:
  - id: capped
    path: NODE
    args: crash --after 1
    inputs: {tick: dora/timer/millis/20}
    restart_policy: on-failure
    max_restarts: 3
    restart_delay: 0.1
    max_restart_delay: 0.15
    _unstable_deploy: {machine: b}
  - id: windowed
    path: NODE
    args: crash --after 1
    inputs: {tick: dora/timer/millis/20}
    restart_policy: on-failure
    max_restarts: 1
    restart_delay: 0.4
    restart_window: 0.3
    _unstable_deploy: {machine: b}
)");
    auto run = start(file);
    EXPECT_TRUE(run->wait_for(
        [&] {
            return count_of(run->out(), "restarting it in 400 ms (restart 1 of 1 in 0.3 s)") >= 3;
        },
        30s))
        << run->all();
    stop(*run);
    (void)run->wait(60s);  // the crashers fail the run; what matters is how they were restarted
    const std::string out = run->out();
    EXPECT_TRUE(contains(out, "restarting it in 100 ms (restart 1 of 3)")) << out;
    EXPECT_TRUE(contains(out, "restarting it in 150 ms (restart 2 of 3)")) << out;
    EXPECT_TRUE(contains(out, "restarting it in 150 ms (restart 3 of 3)")) << out;
    EXPECT_FALSE(contains(out, "(restart 4 of 3)")) << out;
    // Each `windowed` failure comes 0.4 s after the last restart, outside the 0.3 s window: it is
    // the first of a new window every time, and the node keeps being restarted.
    EXPECT_GE(count_of(out, "restarting it in 400 ms (restart 1 of 1 in 0.3 s)"), 3u) << out;
    EXPECT_FALSE(contains(out, "(restart 2 of 1")) << out;
}

// dora 1.x top-level `env`: every node gets it; a node's own `env` wins.
TEST_P(Dataflow, TopLevelEnvReachesEveryNodeAndNodeEnvWins) {
    auto file = dataflow(R"(
env:
  SHARED: from-the-dataflow
  OVERRIDDEN: dataflow-value
nodes:
  - id: plain
    path: shell
    args: echo "plain $SHARED $OVERRIDDEN"
    _unstable_deploy: {machine: a}
  - id: own
    path: shell
    args: echo "own $SHARED $OVERRIDDEN"
    env: {OVERRIDDEN: node-value}
    _unstable_deploy: {machine: b}
)");
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(60s)), 0) << run->all();
    EXPECT_TRUE(contains(run->out(), out_line("plain", "plain from-the-dataflow dataflow-value")))
        << run->out();
    EXPECT_TRUE(contains(run->out(), out_line("own", "own from-the-dataflow node-value")))
        << run->out();
}

TEST_P(Dataflow, RestartedProducerKeepsItsConsumersInputOpen) {
    auto file = dataflow(R"(
nodes:
  - id: source
    path: NODE
    args: producer --count 5
    outputs: [out]
    restart_policy: always
    max_restarts: 2
    _unstable_deploy: {machine: a}
  - id: sink
    path: NODE
    args: consumer --expect 15
    inputs: {in: {source: source/out, queue_size: 100}}
    _unstable_deploy: {machine: b}
)");
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(60s)), 0) << run->all();
    EXPECT_TRUE(contains(run->out(), out_line("sink", "total 15")));
    // The consumer sees its input closed once, after the last incarnation.
    EXPECT_EQ(count_of(run->out(), "input closed in"), 1u) << run->out();
}

TEST_P(Dataflow, TypedOutputsArriveWithTheirArrowTypesAndMetadata) {
    auto file = dataflow(R"(
nodes:
  - {id: source, path: NODE, args: typed-producer, outputs: [text, ints, doubles, arrow], _unstable_deploy: {machine: a}}
  - id: sink
    path: NODE
    args: typed-consumer
    inputs: {text: source/text, ints: source/ints, doubles: source/doubles, arrow: source/arrow}
    _unstable_deploy: {machine: b}
)");
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(60s)), 0) << run->all();
    EXPECT_TRUE(contains(run->out(), out_line("sink", "typed checked 4")));
}

TEST_P(Dataflow, StdoutLinesBecomeOutputsWithSendStdoutAs) {
    auto file = dataflow(R"(
nodes:
  - id: talker
    path: shell
    args: "echo one; echo two; echo three"
    outputs: [lines]
    send_stdout_as: lines
    _unstable_deploy: {machine: a}
  - {id: listener, path: NODE, args: ticks, inputs: {lines: {source: talker/lines, queue_size: 10}}, _unstable_deploy: {machine: b}}
)");
    auto run = start(file);
    EXPECT_EQ(exit_code(run->wait(60s)), 0) << run->all();
    EXPECT_TRUE(contains(run->out(), out_line("talker", "two")));
    EXPECT_TRUE(contains(run->out(), out_line("listener", "ticks lines 3")));
}

INSTANTIATE_TEST_SUITE_P(DataPaths, Dataflow,
                         ::testing::Values(DataPath::kSharedMemory, DataPath::kTwoDaemons),
                         path_name);

}  // namespace
}  // namespace dora::testing
