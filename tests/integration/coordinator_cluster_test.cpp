// The distributed runtime end to end on loopback: a real `dora coordinator` on ephemeral ports,
// real `dora daemon --machine-id edge1/cloud`, C++ fixture nodes, and the CLI verbs that talk to
// the coordinator (start attached/detached, list, logs, stop, check, destroy, up). Every wait is
// for a condition with a deadline; every process started here is stopped here.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "testing/cluster.hpp"
#include "testing/ports.hpp"
#include "testing/process.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"
#include "testing/wait.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::testing {
namespace {

struct ClusterTest : ::testing::Test {
    TempDir dir{"dora-cluster-test"};
    Cluster cluster{DORA_CLI_BINARY, dir.path()};

    void TearDown() override {
        if (HasFailure()) {
            std::cerr << cluster.logs();
        }
    }

    Cluster::Result run(std::vector<std::string> args, std::chrono::milliseconds timeout = 60s) {
        return cluster.run(std::move(args), timeout);
    }

    fs::path dataflow(const std::string& yaml, const std::string& name = "dataflow.yml") {
        return dir.write(name, replace_all(yaml, "NODE", DORA_TEST_NODE));
    }

    void two_machines() { ASSERT_TRUE(cluster.start({"edge1", "cloud"})); }
};

const char* kTwoMachineFlow = R"(
nodes:
  - id: source
    path: NODE
    args: producer --count 5 --size 10
    outputs: [out]
    _unstable_deploy: {machine: edge1}
  - id: sink
    path: NODE
    args: consumer --expect 5
    inputs: {in: {source: source/out, queue_size: 100}}
    _unstable_deploy: {machine: edge1}
  - id: beacon
    path: NODE
    args: producer --count 3 --size 8
    outputs: [out]
    deploy: {machine: cloud}
)";

TEST_F(ClusterTest, AttachedStartStreamsEveryMachinesOutputAndExitsZero) {
    two_machines();
    auto result = run({"start", dataflow(kTwoMachineFlow).string()});
    EXPECT_EQ(result.code, 0) << result.out << result.err;
    EXPECT_TRUE(
        std::regex_search(result.out, std::regex("dataflow start triggered: [0-9a-f-]{36}")))
        << result.out;
    EXPECT_TRUE(
        contains(result.err, "attaching to dataflow (use `--detach` to run in background)"));
    EXPECT_TRUE(contains(result.out, "sink on daemon `edge1`: stdout    total 5"));
    EXPECT_TRUE(contains(result.out, "beacon on daemon `cloud`: stdout    producer sent 3"));
    auto list = run({"list"});
    EXPECT_TRUE(
        std::regex_search(list.out, std::regex("finished +0 +cloud: beacon; edge1: source, sink")))
        << list.out;
}

TEST_F(ClusterTest, FailedNodeIsReportedWithItsMachineAndTheExitCodeIsOne) {
    two_machines();
    auto result = run({"start", dataflow(R"(
nodes:
  - id: ticker
    path: NODE
    args: producer --count 3
    outputs: [out]
    deploy: {machine: edge1}
  - id: crasher
    path: NODE
    args: crash --after 1
    inputs: {tick: dora/timer/millis/10}
    deploy: {machine: cloud}
)")
                                    .string()});
    EXPECT_EQ(result.code, 1) << result.out << result.err;
    EXPECT_TRUE(contains(result.err, "node crasher on daemon `cloud` failed"));
}

TEST_F(ClusterTest, DetachedDataflowIsListedLoggedAndStoppedByName) {
    two_machines();
    auto started = run({"start", "--detach", "--name", "clock",
                        dataflow(R"(
nodes:
  - id: clock
    path: NODE
    args: ticks
    inputs: {tick: dora/timer/millis/20}
    deploy: {machine: cloud}
)")
                            .string()});
    ASSERT_EQ(started.code, 0) << started.err;
    EXPECT_FALSE(contains(started.out, "attaching"));
    auto list = run({"list"});
    EXPECT_TRUE(std::regex_search(list.out, std::regex("clock +running +0 +cloud: clock")))
        << list.out;
    // The log file is read where the node runs; wait until the node has written something.
    EXPECT_TRUE(wait_until(
        [&] {
            return contains(run({"logs", "clock", "clock"}, 10s).out, "pid");
        },
        20s));
    auto stopped = run({"stop", "--name", "clock", "--grace-duration", "5s"});
    EXPECT_EQ(stopped.code, 0) << stopped.out << stopped.err;
    EXPECT_TRUE(contains(stopped.out, "stopped"));
    list = run({"list"});
    EXPECT_TRUE(std::regex_search(list.out, std::regex("clock +finished"))) << list.out;
    // Logs stay readable after the end while the daemon is there.
    EXPECT_TRUE(contains(run({"logs", "clock", "clock"}).out, "pid"));
}

TEST_F(ClusterTest, MachineWithoutDaemonIsRefusedBeforeAnythingRuns) {
    two_machines();
    auto result = run({"start", dataflow(R"(
nodes:
  - id: far
    path: NODE
    args: producer --count 1
    outputs: [out]
    deploy: {machine: edge7}
)")
                                    .string()});
    EXPECT_EQ(result.code, 1);
    EXPECT_TRUE(contains(result.err, "machine `edge7`"));
    EXPECT_TRUE(contains(result.err, "`cloud`, `edge1`"));
    auto check = run({"check", "--dataflow", (dir / "dataflow.yml").string()});
    EXPECT_EQ(check.code, 1);
    EXPECT_TRUE(contains(check.err, "`edge7`"));
    EXPECT_TRUE(contains(run({"list"}).out, "(no dataflows)"));
}

TEST_F(ClusterTest, CheckReportsTheConnectedDaemons) {
    two_machines();
    auto check = run({"check"});
    EXPECT_EQ(check.code, 0) << check.err;
    EXPECT_TRUE(contains(check.out, "edge1: connected"));
}

TEST_F(ClusterTest, UnreachableCoordinatorSaysHowToStartOne) {
    cluster.set_control_port(free_tcp_port());
    auto result = run({"list"});
    EXPECT_EQ(result.code, 1);
    EXPECT_TRUE(contains(result.err, "dora up"));
    EXPECT_TRUE(contains(result.err, "dora coordinator"));
}

TEST_F(ClusterTest, TokenProtectedCoordinatorRefusesACliWithoutTheToken) {
    auto token = dir.write("token", "0123456789abcdef0123456789abcdef\n");
    ASSERT_TRUE(cluster.start_coordinator({"--token-file", token.string()}));
    auto refused = run({"list"});
    EXPECT_EQ(refused.code, 1);
    EXPECT_TRUE(contains(refused.err, "requires a cluster token"));
    auto accepted = run({"list", "--token-file", token.string()});
    EXPECT_EQ(accepted.code, 0) << accepted.err;
    auto destroy = run({"destroy", "--token-file", token.string()});
    EXPECT_EQ(destroy.code, 0) << destroy.err;
    EXPECT_EQ(exit_code(cluster.coordinator()->wait(10s)), 0);
}

TEST_F(ClusterTest, ADaemonWithAWrongTokenSaysWhyAndOneWithTheRightTokenRegisters) {
    auto token = dir.write("token", "0123456789abcdef0123456789abcdef\n");
    auto wrong = dir.write("wrong", "fedcba9876543210fedcba9876543210\n");
    ASSERT_TRUE(cluster.start_coordinator({"--token-file", token.string()}));
    auto& refused = cluster.start_daemon("edge1", {"--token-file", wrong.string()});
    auto& accepted = cluster.start_daemon("edge2", {"--token-file", token.string()});
    // The coordinator's reason, and what to do, in the refused daemon's own output.
    auto said = [&refused](const std::string& text) {
        return refused.wait_for([&] { return contains(refused.all(), text); }, 10s);
    };
    EXPECT_TRUE(said("refused this daemon: authentication failed")) << refused.all();
    EXPECT_TRUE(said("--token-file")) << refused.all();
    auto connected = [&] {
        auto check = run({"check", "--token-file", token.string()});
        return contains(check.out, "edge2: connected");
    };
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!connected() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(100ms);
    }
    auto check = run({"check", "--token-file", token.string()});
    EXPECT_TRUE(contains(check.out, "edge2: connected")) << check.out << accepted.all();
    EXPECT_FALSE(contains(check.out, "edge1")) << check.out;
    auto destroy = run({"destroy", "--token-file", token.string()});
    EXPECT_EQ(destroy.code, 0) << destroy.err;
}

TEST_F(ClusterTest, AClientWithATokenRefusesACoordinatorThatCannotProveIt) {
    auto token = dir.write("token", "0123456789abcdef0123456789abcdef\n");
    ASSERT_TRUE(cluster.start_coordinator());  // no token: it cannot prove one
    auto result = run({"list", "--token-file", token.string()});
    EXPECT_EQ(result.code, 1);
    EXPECT_TRUE(contains(result.err, "runs without one")) << result.err;
    auto& daemon = cluster.start_daemon("edge1", {"--token-file", token.string()});
    EXPECT_TRUE(daemon.wait_for([&] { return contains(daemon.all(), "runs without one"); }, 10s))
        << daemon.all();
    EXPECT_TRUE(contains(run({"list"}).out, "(no dataflows)"));
}

TEST_F(ClusterTest, DestroyEndsDaemonsAndCoordinator) {
    two_machines();
    auto result = run({"destroy"});
    EXPECT_EQ(result.code, 0) << result.err;
    for (auto& d : cluster.daemons()) EXPECT_NE(d->wait(20s), -1) << d->all();
    EXPECT_EQ(exit_code(cluster.coordinator()->wait(10s)), 0) << cluster.coordinator()->all();
}

TEST_F(ClusterTest, UpStartsACoordinatorAndADaemonInTheBackground) {
    // No coordinator yet: `dora up` starts one on a free control port and a free daemon port.
    cluster.set_control_port(free_tcp_port());
    std::string port = std::to_string(free_tcp_port());
    auto up = run({"up", "--daemon-port", port, "--local-listen-port", "0"}, 40s);
    std::vector<pid_t> pids;
    std::regex pid_re(R"(started (coordinator|daemon) \(pid (\d+))");
    for (std::sregex_iterator it(up.out.begin(), up.out.end(), pid_re), end; it != end; ++it) {
        pids.push_back(std::stoi((*it)[2]));
    }
    EXPECT_EQ(up.code, 0) << up.out << up.err;
    EXPECT_EQ(pids.size(), 2u) << up.out;
    EXPECT_TRUE(fs::exists(cluster.runtime_dir() / "dora" / "coordinator.log"));
    auto again = run({"up", "--daemon-port", port, "--local-listen-port", "0"});
    EXPECT_TRUE(contains(again.out, "coordinator already running"));
    EXPECT_TRUE(contains(again.out, "daemon already running"));
    auto destroy = run({"destroy"});
    EXPECT_EQ(destroy.code, 0) << destroy.err;
    for (pid_t pid : pids) {
        EXPECT_TRUE(wait_until([&] { return process_gone(pid); }, 20s));
        if (!process_gone(pid)) ::kill(pid, SIGKILL);  // started by this test
    }
}

}  // namespace
}  // namespace dora::testing
