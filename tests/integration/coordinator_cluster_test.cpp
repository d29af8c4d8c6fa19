// The distributed runtime end to end on loopback: a real `dora coordinator` on ephemeral ports,
// real `dora daemon --machine-id edge1/cloud`, C++ fixture nodes, and the CLI verbs that talk to
// the coordinator (start attached/detached, list, logs, stop, check, destroy, up). Every wait is
// for a condition with a deadline; every process started here is stopped here.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>

#include "process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using dora::testing::Process;

namespace {

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

bool contains(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
}

// A port nobody listens on right now (the kernel's pick).
uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

struct Cluster : ::testing::Test {
    fs::path dir;
    std::unique_ptr<Process> coordinator;
    std::vector<std::unique_ptr<Process>> daemons;
    std::string control_port;
    std::string daemon_port;

    void SetUp() override {
        dir = fs::temp_directory_path() /
              ("dora-cluster-test-" + std::to_string(::getpid()) + "-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }

    void TearDown() override {
        if (coordinator && !coordinator->exited()) {
            Process destroy(cli({"destroy"}));
            destroy.wait(30s);
        }
        for (auto& d : daemons) d->wait(20s);  // killed by the destructor if still there
        if (coordinator) coordinator->wait(5s);
        if (!HasFailure()) fs::remove_all(dir);
    }

    void start_coordinator(std::vector<std::string> extra = {}) {
        std::vector<std::string> args{
            DORA_CLI_BINARY, "coordinator", "--port", "0", "--control-port", "0"};
        args.insert(args.end(), extra.begin(), extra.end());
        coordinator = std::make_unique<Process>(args, dir.string());
        ASSERT_TRUE(coordinator->pump_until(
            [&] { return contains(coordinator->out(), "\n") || coordinator->exited(); }, 10s))
            << coordinator->all();
        std::smatch m;
        std::string out = coordinator->out();
        ASSERT_TRUE(std::regex_search(
            out, m, std::regex(R"(daemons on [^ ]+:(\d+), control on [^ ]+:(\d+))")))
            << coordinator->all();
        daemon_port = m[1];
        control_port = m[2];
    }

    void start_daemon(const std::string& machine, std::vector<std::string> extra = {}) {
        std::vector<std::string> args{DORA_CLI_BINARY,       "daemon",
                                      "--machine-id",        machine,
                                      "--coordinator-port",  daemon_port,
                                      "--local-listen-port", "0",
                                      "--work-dir",          (dir / ("work-" + machine)).string()};
        args.insert(args.end(), extra.begin(), extra.end());
        daemons.push_back(std::make_unique<Process>(args, dir.string()));
    }

    std::vector<std::string> cli(std::vector<std::string> args) {
        args.insert(args.begin(), DORA_CLI_BINARY);
        args.insert(args.end(), {"--coordinator-port", control_port});
        return args;
    }

    // Runs a CLI verb to completion.
    struct Result {
        int code;
        std::string out;
        std::string err;
    };
    Result run(std::vector<std::string> args, std::chrono::milliseconds timeout = 60s) {
        Process p(cli(std::move(args)), dir.string());
        int status = p.wait(timeout);
        return {exit_code(status), p.out(), p.err()};
    }

    // Waits until `dora list` shows `count` connected daemons.
    bool wait_daemons(size_t count) {
        return dora::testing::wait_until(
            [&] {
                auto list = run({"list"}, 10s);
                size_t connected = 0;
                for (size_t p = 0; (p = list.out.find(" connected ", p)) != std::string::npos;
                     ++p) {
                    ++connected;
                }
                return connected == count;
            },
            20s);
    }

    fs::path dataflow(std::string yaml, const std::string& name = "dataflow.yml") {
        for (size_t p; (p = yaml.find("NODE")) != std::string::npos;) {
            yaml.replace(p, 4, DORA_TEST_NODE);
        }
        auto file = dir / name;
        std::ofstream(file) << yaml;
        return file;
    }

    void two_machines() {
        start_coordinator();
        start_daemon("edge1");
        start_daemon("cloud");
        ASSERT_TRUE(wait_daemons(2)) << run({"list"}).out;
    }
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

TEST_F(Cluster, AttachedStartStreamsEveryMachinesOutputAndExitsZero) {
    two_machines();
    auto result = run({"start", dataflow(kTwoMachineFlow).string()});
    EXPECT_EQ(result.code, 0) << result.out << result.err;
    EXPECT_TRUE(
        std::regex_search(result.out, std::regex("dataflow start triggered: [0-9a-f-]{36}")))
        << result.out;
    EXPECT_TRUE(
        contains(result.err, "attaching to dataflow (use `--detach` to run in background)"))
        << result.err;
    EXPECT_TRUE(contains(result.out, "sink on daemon `edge1`: stdout    total 5")) << result.out;
    EXPECT_TRUE(contains(result.out, "beacon on daemon `cloud`: stdout    producer sent 3"))
        << result.out;
    auto list = run({"list"});
    EXPECT_TRUE(
        std::regex_search(list.out, std::regex("finished +cloud: beacon; edge1: source, sink")))
        << list.out;
}

TEST_F(Cluster, FailedNodeIsReportedWithItsMachineAndTheExitCodeIsOne) {
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
    EXPECT_TRUE(contains(result.err, "node crasher on daemon `cloud` failed")) << result.err;
}

TEST_F(Cluster, DetachedDataflowIsListedLoggedAndStoppedByName) {
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
    EXPECT_TRUE(std::regex_search(list.out, std::regex("clock +running +cloud: clock")))
        << list.out;
    // The log file is read where the node runs; wait until the node has written something.
    EXPECT_TRUE(dora::testing::wait_until(
        [&] {
            return contains(run({"logs", "clock", "clock"}, 10s).out, "pid");
        },
        20s));
    auto stopped = run({"stop", "--name", "clock", "--grace-duration", "5s"});
    EXPECT_EQ(stopped.code, 0) << stopped.out << stopped.err;
    EXPECT_TRUE(contains(stopped.out, "stopped")) << stopped.out;
    list = run({"list"});
    EXPECT_TRUE(std::regex_search(list.out, std::regex("clock +finished"))) << list.out;
    // Logs stay readable after the end while the daemon is there.
    EXPECT_TRUE(contains(run({"logs", "clock", "clock"}).out, "pid"));
}

TEST_F(Cluster, MachineWithoutDaemonIsRefusedBeforeAnythingRuns) {
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
    EXPECT_TRUE(contains(result.err, "machine `edge7`")) << result.err;
    EXPECT_TRUE(contains(result.err, "`cloud`, `edge1`")) << result.err;
    auto check = run({"check", "--dataflow", (dir / "dataflow.yml").string()});
    EXPECT_EQ(check.code, 1);
    EXPECT_TRUE(contains(check.err, "`edge7`")) << check.err;
    EXPECT_TRUE(contains(run({"list"}).out, "(no dataflows)"));
}

TEST_F(Cluster, CheckReportsTheConnectedDaemons) {
    two_machines();
    auto check = run({"check"});
    EXPECT_EQ(check.code, 0) << check.err;
    EXPECT_TRUE(contains(check.out, "edge1: connected")) << check.out;
}

TEST_F(Cluster, UnreachableCoordinatorSaysHowToStartOne) {
    control_port = std::to_string(free_port());
    auto result = run({"list"});
    EXPECT_EQ(result.code, 1);
    EXPECT_TRUE(contains(result.err, "dora up")) << result.err;
    EXPECT_TRUE(contains(result.err, "dora coordinator")) << result.err;
}

TEST_F(Cluster, TokenProtectedCoordinatorRefusesACliWithoutTheToken) {
    auto token = dir / "token";
    std::ofstream(token) << "0123456789abcdef0123456789abcdef\n";
    start_coordinator({"--token-file", token.string()});
    auto refused = run({"list"});
    EXPECT_EQ(refused.code, 1);
    EXPECT_TRUE(contains(refused.err, "requires a cluster token")) << refused.err;
    auto accepted = run({"list", "--token-file", token.string()});
    EXPECT_EQ(accepted.code, 0) << accepted.err;
    auto destroy = run({"destroy", "--token-file", token.string()});
    EXPECT_EQ(destroy.code, 0) << destroy.err;
    EXPECT_EQ(exit_code(coordinator->wait(10s)), 0);
}

TEST_F(Cluster, DestroyEndsDaemonsAndCoordinator) {
    two_machines();
    auto result = run({"destroy"});
    EXPECT_EQ(result.code, 0) << result.err;
    for (auto& d : daemons) EXPECT_NE(d->wait(20s), -1) << d->all();
    EXPECT_EQ(exit_code(coordinator->wait(10s)), 0) << coordinator->all();
}

TEST_F(Cluster, UpStartsACoordinatorAndADaemonInTheBackground) {
    control_port = std::to_string(free_port());
    std::string port = std::to_string(free_port());
    ::setenv("XDG_RUNTIME_DIR", dir.c_str(), 1);
    auto up = run({"up", "--daemon-port", port, "--local-listen-port", "0"}, 40s);
    ::unsetenv("XDG_RUNTIME_DIR");
    std::vector<pid_t> pids;
    std::regex pid_re(R"(started (coordinator|daemon) \(pid (\d+))");
    for (std::sregex_iterator it(up.out.begin(), up.out.end(), pid_re), end; it != end; ++it) {
        pids.push_back(std::stoi((*it)[2]));
    }
    EXPECT_EQ(up.code, 0) << up.out << up.err;
    EXPECT_EQ(pids.size(), 2u) << up.out;
    EXPECT_TRUE(fs::exists(dir / "dora" / "coordinator.log"));
    auto again = run({"up", "--daemon-port", port, "--local-listen-port", "0"});
    EXPECT_TRUE(contains(again.out, "coordinator already running")) << again.out;
    EXPECT_TRUE(contains(again.out, "daemon already running")) << again.out;
    auto destroy = run({"destroy"});
    EXPECT_EQ(destroy.code, 0) << destroy.err;
    for (pid_t pid : pids) {
        EXPECT_TRUE(
            dora::testing::wait_until([&] { return dora::testing::process_gone(pid); }, 20s));
        if (!dora::testing::process_gone(pid)) ::kill(pid, SIGKILL);  // started by this test
    }
}

}  // namespace
