// `dora run` end to end: real `dora` binary, real node processes, real shared memory.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using dora::testing::Process;

namespace {

struct RunTest : ::testing::Test {
    fs::path dir;

    void SetUp() override {
        dir = fs::temp_directory_path() /
              fmt("dora-run-test-{}-{}", ::getpid(),
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    void TearDown() override {
        if (!HasFailure()) fs::remove_all(dir);
    }

    static std::string fmt(const char* f, auto a, auto b) {
        std::string s = f;
        auto put = [&](auto v) {
            auto p = s.find("{}");
            std::ostringstream os;
            os << v;
            s.replace(p, 2, os.str());
        };
        put(a);
        put(b);
        return s;
    }

    // Writes a dataflow; `NODE` in the text is replaced by the test node's absolute path.
    fs::path dataflow(std::string yaml) {
        for (size_t p; (p = yaml.find("NODE")) != std::string::npos;) {
            yaml.replace(p, 4, DORA_TEST_NODE);
        }
        auto file = dir / "dataflow.yml";
        std::ofstream(file) << yaml;
        return file;
    }

    std::vector<std::string> run_args(const fs::path& file, std::vector<std::string> extra = {}) {
        std::vector<std::string> args{DORA_CLI_BINARY, "run", file.string()};
        args.insert(args.end(), extra.begin(), extra.end());
        return args;
    }

    static std::set<pid_t> node_pids(const std::string& out) {
        std::set<pid_t> pids;
        std::regex re(R"(stdout\s+pid (\d+))");
        for (std::sregex_iterator it(out.begin(), out.end(), re), end; it != end; ++it) {
            pids.insert(std::stoi((*it)[1]));
        }
        return pids;
    }

    static bool contains(const std::string& text, const std::string& what) {
        return text.find(what) != std::string::npos;
    }
};

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

TEST_F(RunTest, PipelineDeliversEveryMessageInOrderAndExitsZero) {
    auto file = dataflow(R"(
nodes:
  - id: source
    path: NODE
    args: producer --count 200 --size 100
    outputs: [out]
  - id: relay
    path: NODE
    args: relay
    inputs:
      in: {source: source/out, queue_size: 1000}
    outputs: [out]
  - id: sink
    path: NODE
    args: consumer --expect 200
    inputs:
      in: {source: relay/out, queue_size: 1000}
)");
    Process dora(run_args(file));
    int status = dora.wait(60s);
    EXPECT_EQ(exit_code(status), 0) << dora.all();
    EXPECT_TRUE(contains(dora.out(), "sink: stdout    total 200")) << dora.out();
    EXPECT_TRUE(contains(dora.out(), "sink: stdout    input closed in")) << dora.out();
    EXPECT_TRUE(contains(dora.out(), "sink: stdout    stop all-inputs-closed")) << dora.out();
    // Logs land in out/<uuid>/log_<node>.txt next to the dataflow file.
    bool found = false;
    for (const auto& entry : fs::recursive_directory_iterator(dir / "out")) {
        if (entry.path().filename() == "log_sink.txt") {
            std::ifstream in(entry.path());
            std::string content((std::istreambuf_iterator<char>(in)), {});
            found = contains(content, "total 200");
        }
    }
    EXPECT_TRUE(found) << "log_sink.txt with the consumer's output";
}

TEST_F(RunTest, FanOutReachesThreeConsumers) {
    auto file = dataflow(R"(
nodes:
  - id: source
    path: NODE
    args: producer --count 50 --size 4096
    outputs: [out]
  - {id: a, path: NODE, args: consumer --expect 50, inputs: {in: {source: source/out, queue_size: 100}}}
  - {id: b, path: NODE, args: consumer --expect 50, inputs: {in: {source: source/out, queue_size: 100}}}
  - {id: c, path: NODE, args: consumer --expect 50, inputs: {in: {source: source/out, queue_size: 100}}}
)");
    Process dora(run_args(file));
    EXPECT_EQ(exit_code(dora.wait(60s)), 0) << dora.all();
    for (const char* n : {"a", "b", "c"}) {
        EXPECT_TRUE(contains(dora.out(), std::string(n) + ": stdout    total 50")) << dora.out();
    }
}

TEST_F(RunTest, FanInMergesTwoProducers) {
    auto file = dataflow(R"(
nodes:
  - {id: p1, path: NODE, args: producer --count 40, outputs: [out]}
  - {id: p2, path: NODE, args: producer --count 60, outputs: [out]}
  - id: sink
    path: NODE
    args: consumer --expect 100
    inputs:
      one: {source: p1/out, queue_size: 100}
      two: {source: p2/out, queue_size: 100}
)");
    Process dora(run_args(file));
    EXPECT_EQ(exit_code(dora.wait(60s)), 0) << dora.all();
    EXPECT_TRUE(contains(dora.out(), "received one 40")) << dora.out();
    EXPECT_TRUE(contains(dora.out(), "received two 60")) << dora.out();
}

TEST_F(RunTest, EveryTimerFormTicksAtItsRate) {
    auto file = dataflow(R"(
nodes:
  - id: clock
    path: NODE
    args: ticks
    inputs:
      secs: dora/timer/secs/1
      millis: dora/timer/millis/100
      hz: dora/timer/hz/20
)");
    Process dora(run_args(file, {"--stop-after", "1.55"}));
    EXPECT_EQ(exit_code(dora.wait(30s)), 0) << dora.all();
    std::smatch m;
    auto count = [&](const std::string& id) {
        std::regex re("ticks " + id + " (\\d+)");
        return std::regex_search(dora.out(), m, re) ? std::stoi(m[1]) : -1;
    };
    // Timers tick at once, then every interval, as dora's do: at 0 and 1 s in 1.55 s.
    EXPECT_EQ(count("secs"), 2) << dora.out();
    EXPECT_GE(count("millis"), 10) << dora.out();  // ~16; a loaded CI machine may be late
    EXPECT_LE(count("millis"), 17) << dora.out();
    EXPECT_GE(count("hz"), 20) << dora.out();  // ~32
    EXPECT_LE(count("hz"), 33) << dora.out();
}

TEST_F(RunTest, CrashingNodeIsReportedAndOthersKeepRunning) {
    auto file = dataflow(R"(
nodes:
  - {id: source, path: NODE, args: producer --count 30 --interval-ms 10, outputs: [out]}
  - {id: crasher, path: NODE, args: crash --after 3, inputs: {in: source/out}}
  - {id: sink, path: NODE, args: consumer --expect 30, inputs: {in: {source: source/out, queue_size: 100}}}
)");
    Process dora(run_args(file));
    EXPECT_EQ(exit_code(dora.wait(60s)), 1) << dora.all();
    EXPECT_TRUE(contains(dora.out(), "sink: stdout    total 30")) << dora.out();
    EXPECT_TRUE(contains(dora.err(), "node crasher failed: it was killed by signal 6 (SIGABRT)"))
        << dora.err();
    EXPECT_TRUE(contains(dora.err(), "crash node: giving up after 3 inputs")) << dora.err();
    EXPECT_FALSE(contains(dora.err(), "node sink failed")) << dora.err();
}

TEST_F(RunTest, NodeIgnoringStopIsKilledAfterGraceDuration) {
    auto file = dataflow(R"(
nodes:
  - {id: stubborn, path: NODE, args: ignore-stop, inputs: {tick: dora/timer/millis/50}}
  - {id: polite, path: NODE, args: ticks, inputs: {tick: dora/timer/millis/50}}
)");
    auto start = std::chrono::steady_clock::now();
    Process dora(run_args(file, {"--stop-after", "0.3", "--grace-duration", "1"}));
    EXPECT_EQ(exit_code(dora.wait(30s)), 1) << dora.all();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    EXPECT_TRUE(contains(dora.out(), "stubborn: stdout    ignoring stop")) << dora.out();
    EXPECT_TRUE(contains(dora.err(), "node stubborn failed")) << dora.err();
    EXPECT_TRUE(contains(dora.err(), "did not stop within the grace duration")) << dora.err();
    EXPECT_FALSE(contains(dora.err(), "node polite failed")) << dora.err();
}

TEST_F(RunTest, FullQueueDropsOldestAndCountsDrops) {
    auto file = dataflow(R"(
nodes:
  - {id: source, path: NODE, args: producer --count 200, outputs: [out]}
  - {id: sink, path: NODE, args: slow --delay-ms 5, inputs: {in: {source: source/out, queue_size: 2}}}
)");
    Process dora(run_args(file));
    EXPECT_EQ(exit_code(dora.wait(60s)), 0) << dora.all();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(dora.out(), m, std::regex("slow received (\\d+) dropped (\\d+)")))
        << dora.out();
    int received = std::stoi(m[1]);
    int dropped = std::stoi(m[2]);
    EXPECT_EQ(received + dropped, 200);
    EXPECT_GT(dropped, 0);
    EXPECT_TRUE(contains(dora.out(), "sink: dora      input in dropped")) << dora.out();
}

TEST_F(RunTest, FortyMebibyteMessageArrivesIntact) {
    auto file = dataflow(R"(
nodes:
  - {id: source, path: NODE, args: big --size 41943040, outputs: [out]}
  - {id: sink, path: NODE, args: consumer --expect 1, inputs: {in: source/out}}
)");
    Process dora(run_args(file));
    EXPECT_EQ(exit_code(dora.wait(60s)), 0) << dora.all();
    EXPECT_TRUE(contains(dora.out(), "sink: stdout    total 1")) << dora.out();
    EXPECT_FALSE(contains(dora.out(), "corrupt")) << dora.out();
}

TEST_F(RunTest, SigtermStopsEveryNodeGracefully) {
    auto file = dataflow(R"(
nodes:
  - {id: a, path: NODE, args: ticks, inputs: {tick: dora/timer/millis/20}}
  - {id: b, path: NODE, args: ticks, inputs: {tick: dora/timer/millis/20}}
)");
    Process dora(run_args(file));
    ASSERT_TRUE(dora.pump_until([&] { return node_pids(dora.out()).size() == 2; }, 20s))
        << dora.all();
    ::kill(dora.pid(), SIGTERM);
    EXPECT_EQ(exit_code(dora.wait(30s)), 0) << dora.all();
    for (pid_t pid : node_pids(dora.out())) {
        EXPECT_TRUE(dora::testing::wait_until([&] { return dora::testing::process_gone(pid); }, 5s))
            << "node process " << pid << " outlived dora run";
    }
    EXPECT_TRUE(contains(dora.out(), "a: stdout    ticks tick")) << dora.out();
}

TEST_F(RunTest, SigkillOfRunLeavesNoNodeBehind) {
    auto file = dataflow(R"(
nodes:
  - {id: a, path: NODE, args: ticks, inputs: {tick: dora/timer/millis/20}}
  - {id: stubborn, path: NODE, args: ignore-stop, inputs: {tick: dora/timer/millis/20}}
)");
    Process dora(run_args(file));
    ASSERT_TRUE(dora.pump_until([&] { return node_pids(dora.out()).size() == 2; }, 20s))
        << dora.all();
    auto pids = node_pids(dora.out());
    ::kill(dora.pid(), SIGKILL);
    dora.wait(10s);
    for (pid_t pid : pids) {
        EXPECT_TRUE(dora::testing::wait_until([&] { return dora::testing::process_gone(pid); }, 5s))
            << "node process " << pid << " outlived dora run";
    }
}

TEST_F(RunTest, MissingExecutableIsRejectedBeforeAnythingRuns) {
    auto file = dataflow(R"(
nodes:
  - {id: source, path: NODE, args: producer --count 1, outputs: [out]}
  - {id: sink, path: ./does-not-exist, inputs: {in: source/out}}
)");
    Process dora(run_args(file));
    EXPECT_EQ(exit_code(dora.wait(30s)), 1) << dora.all();
    EXPECT_TRUE(contains(dora.err(), "does-not-exist")) << dora.err();
    EXPECT_TRUE(node_pids(dora.out()).empty()) << "nothing may be spawned: " << dora.out();
}

}  // namespace

namespace {

TEST_F(RunTest, OnFailurePolicyRestartsUpToMaxRestarts) {
    auto file = dataflow(R"(
nodes:
  - id: crasher
    path: NODE
    args: crash --after 2
    inputs: {tick: dora/timer/millis/20}
    restart_policy: on-failure
    max_restarts: 2
)");
    Process dora(run_args(file));
    EXPECT_EQ(exit_code(dora.wait(60s)), 1) << dora.all();
    EXPECT_TRUE(contains(dora.out(), "(restart 1 of 2)")) << dora.out();
    EXPECT_TRUE(contains(dora.out(), "(restart 2 of 2)")) << dora.out();
    EXPECT_FALSE(contains(dora.out(), "(restart 3")) << dora.out();
    EXPECT_TRUE(contains(dora.err(), "node crasher failed")) << dora.err();
    EXPECT_EQ(node_pids(dora.out()).size(), 3u) << "three incarnations: " << dora.out();
}

TEST_F(RunTest, RestartedProducerKeepsItsConsumersInputOpen) {
    auto file = dataflow(R"(
nodes:
  - id: source
    path: NODE
    args: producer --count 5
    outputs: [out]
    restart_policy: always
    max_restarts: 2
  - id: sink
    path: NODE
    args: consumer --expect 15
    inputs: {in: {source: source/out, queue_size: 100}}
)");
    Process dora(run_args(file));
    EXPECT_EQ(exit_code(dora.wait(60s)), 0) << dora.all();
    EXPECT_TRUE(contains(dora.out(), "sink: stdout    total 15")) << dora.out();
    // The consumer sees its input closed once, after the last incarnation.
    EXPECT_EQ(dora.out().find("input closed in"), dora.out().rfind("input closed in"))
        << dora.out();
}

}  // namespace

namespace {

TEST_F(RunTest, TypedOutputsArriveWithTheirArrowTypesAndMetadata) {
    auto file = dataflow(R"(
nodes:
  - {id: source, path: NODE, args: typed-producer, outputs: [text, ints, doubles, arrow]}
  - id: sink
    path: NODE
    args: typed-consumer
    inputs: {text: source/text, ints: source/ints, doubles: source/doubles, arrow: source/arrow}
)");
    Process dora(run_args(file));
    EXPECT_EQ(exit_code(dora.wait(60s)), 0) << dora.all();
    EXPECT_TRUE(contains(dora.out(), "sink: stdout    typed checked 4")) << dora.out();
}

}  // namespace

namespace {

TEST_F(RunTest, StdoutLinesBecomeOutputsWithSendStdoutAs) {
    auto file = dataflow(R"(
nodes:
  - id: talker
    path: shell
    args: "echo one; echo two; echo three"
    outputs: [lines]
    send_stdout_as: lines
  - {id: listener, path: NODE, args: ticks, inputs: {lines: {source: talker/lines, queue_size: 10}}}
)");
    Process dora(run_args(file));
    EXPECT_EQ(exit_code(dora.wait(60s)), 0) << dora.all();
    EXPECT_TRUE(contains(dora.out(), "talker: stdout    two")) << dora.out();
    EXPECT_TRUE(contains(dora.out(), "listener: stdout    ticks lines 3")) << dora.out();
}

}  // namespace
