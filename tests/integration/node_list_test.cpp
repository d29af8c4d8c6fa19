// `dora node list` and `dora top` against a real cluster on loopback (two daemons): every node
// with its real pid (checked in /proc: the process carries the node's DORA_NODE_ID), its status
// (running, exited with its code, restarted by its policy), CPU % (a spinning node clearly above
// an idle one), resident memory, the drops of a slow consumer on another machine, the JSON form,
// an unknown dataflow; `dora top` refusing without a terminal, its --once and --iterations forms,
// and its terminal view driven through a pseudo-terminal (forkpty): the table, sorting keys, q
// and SIGTERM both restoring the terminal.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "testing/cluster.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"
#include "testing/wait.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::testing {
namespace {

const char* kFlow = R"(
nodes:
  - id: spinner
    path: shell
    args: "while :; do :; done"
    deploy: {machine: edge1}
  - id: idle
    path: shell
    args: "sleep 600"
    deploy: {machine: edge1}
  - id: quitter
    path: shell
    args: "exit 3"
    deploy: {machine: edge1}
  - id: flaky
    path: shell
    args: "sleep 0.2; exit 1"
    restart_policy: on-failure
    deploy: {machine: edge1}
  - id: source
    path: NODE
    args: producer --count 0 --for-ms 600000 --interval-ms 2 --size 16
    outputs: [out]
    deploy: {machine: edge1}
  - id: slow
    path: NODE
    args: slow --delay-ms 100
    inputs: {in: {source: source/out, queue_size: 2}}
    deploy: {machine: cloud}
)";

// `dora node list --format json`, by node id.
std::map<std::string, nlohmann::json> parse_nodes(const std::string& out) {
    std::map<std::string, nlohmann::json> nodes;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.contains("node")) {
            nodes[j["node"].get<std::string>()] = j;
        }
    }
    return nodes;
}

// The environment variable `name` of process `pid` ("" when it cannot be read).
std::string environment_of(int64_t pid, const std::string& name) {
    std::string env = read_file(fs::path("/proc") / std::to_string(pid) / "environ");
    std::istringstream vars(env);
    for (std::string var; std::getline(vars, var, '\0');) {
        if (var.rfind(name + "=", 0) == 0) {
            return var.substr(name.size() + 1);
        }
    }
    return "";
}

struct NodeStatsTest : ::testing::Test {
    TempDir dir{"dora-node-stats-test"};
    std::unique_ptr<Cluster> cluster = std::make_unique<Cluster>(DORA_CLI_BINARY, dir.path());
    std::map<std::string, nlohmann::json> nodes;  // the last list read

    void TearDown() override { stop_cluster(cluster, HasFailure()); }

    Cluster::Result run(std::vector<std::string> args) { return cluster->run(std::move(args)); }

    void start_flow() {
        ASSERT_TRUE(cluster->start({"edge1", "cloud"}));
        auto file = dir.write("flow.yml", replace_all(kFlow, "NODE", DORA_TEST_NODE));
        auto started = run({"start", "--detach", "--name", "stats", file.string()});
        ASSERT_EQ(started.code, 0) << started.all();
    }

    // Reads `dora node list stats --format json` until `done` holds for it.
    bool list_until(const std::function<bool()>& done) {
        return wait_until(
            [&] {
                auto listed = run({"node", "list", "stats", "--format", "json"});
                nodes = parse_nodes(listed.out);
                return listed.code == 0 && nodes.size() == 6 && done();
            },
            30s, 300ms);
    }
};

TEST_F(NodeStatsTest, NodeListShowsEveryNodesProcessStateAndQueues) {
    start_flow();
    const bool settled = list_until([&] {
        return nodes["spinner"]["state"] == "running" && nodes["spinner"]["measured"] == true &&
               nodes["quitter"]["state"] == "exited" &&
               nodes["flaky"]["restart_count"].get<int>() >= 1 &&
               nodes["slow"]["dropped"].get<uint64_t>() > 0;
    });
    ASSERT_TRUE(settled) << nlohmann::json(nodes).dump(1);

    // Real pids: each is the process of that node.
    for (const char* id : {"spinner", "idle", "source", "slow"}) {
        const auto& node = nodes[id];
        EXPECT_EQ(node["state"], "running") << id;
        const int64_t pid = node["process_id"];
        ASSERT_GT(pid, 0) << id;
        EXPECT_EQ(node["pid"], std::to_string(pid));
        EXPECT_EQ(environment_of(pid, "DORA_NODE_ID"), id) << "pid " << pid;
        EXPECT_GT(node["rss_bytes"].get<uint64_t>(), 100u << 10) << id;
        EXPECT_LT(node["rss_bytes"].get<uint64_t>(), 1ull << 30) << id;
    }
    EXPECT_EQ(
        fs::read_symlink(fs::path("/proc") /
                         std::to_string(nodes["source"]["process_id"].get<int64_t>()) / "exe"),
        fs::path(DORA_TEST_NODE));
    EXPECT_EQ(nodes["slow"]["machine"], "cloud");
    EXPECT_EQ(nodes["spinner"]["machine"], "edge1");

    // CPU: the spinner works, the sleeper does not (on a shared two-core machine: a margin).
    ASSERT_TRUE(list_until([&] {
        return nodes["spinner"]["cpu_percent"].get<double>() >= 25.0 &&
               nodes["idle"]["cpu_percent"].get<double>() < 5.0;
    })) << nlohmann::json(nodes).dump(1);

    // An exit, with its code; restarts by the policy.
    EXPECT_EQ(nodes["quitter"]["exit_code"], 3);
    EXPECT_EQ(nodes["quitter"]["process_id"], 0);
    EXPECT_EQ(nodes["quitter"]["pid"], "-");
    EXPECT_GE(nodes["flaky"]["restart_count"].get<int>(), 1);
    EXPECT_EQ(nodes["spinner"]["restart_count"], 0);

    // The slow consumer on another machine: its queue dropped; the producer's queue to the
    // network counted what it sent.
    const auto& in = nodes["slow"]["inputs"].at(0);
    EXPECT_EQ(in["source_node"], "source");
    EXPECT_GT(in["received"].get<uint64_t>(), in["dropped"].get<uint64_t>());
    EXPECT_GT(in["dropped"].get<uint64_t>(), 0u);
    EXPECT_EQ(in["queue_size"], 2);
    ASSERT_EQ(nodes["source"]["outputs"].size(), 1u);
    EXPECT_GE(nodes["source"]["outputs"][0]["sent"].get<uint64_t>(),
              in["received"].get<uint64_t>());

    // The table.
    auto table = run({"node", "list"});
    ASSERT_EQ(table.code, 0) << table.all();
    EXPECT_TRUE(contains(table.out, "NODE"));
    for (const char* column : {"MACHINE", "PID", "STATUS", "RESTARTS", "CPU%", "RSS", "DROPPED"}) {
        EXPECT_TRUE(contains(table.out, column));
    }
    EXPECT_TRUE(contains(table.out, "exited (code 3)"));
    EXPECT_TRUE(contains(table.out, "MiB"));
    auto quiet = run({"node", "list", "-d", "stats", "-q"});
    EXPECT_EQ(count_of(quiet.out, "\n"), 6u) << quiet.out;
}

TEST_F(NodeStatsTest, AnUnknownDataflowIsNamedInTheError) {
    ASSERT_TRUE(cluster->start({"edge1"}));
    auto listed = run({"node", "list", "nope"});
    EXPECT_EQ(listed.code, 1);
    EXPECT_TRUE(contains(listed.err, "no dataflow with id or name `nope`")) << listed.all();
    auto empty = run({"node", "list"});
    EXPECT_EQ(empty.code, 0) << empty.all();
    EXPECT_TRUE(contains(empty.out, "(no running dataflows)"));
    auto other = run({"node", "info", "x"});
    EXPECT_EQ(other.code, 1);
    EXPECT_TRUE(contains(other.err, "`dora node info` is a dora command that dora-cpp does not"));
}

TEST_F(NodeStatsTest, TopWithoutATerminalPointsToWhatWorksAndItsPlainFormsDo) {
    start_flow();
    ASSERT_TRUE(list_until([&] { return nodes["spinner"]["state"] == "running"; }));
    auto top = run({"top"});
    EXPECT_EQ(top.code, 1);
    EXPECT_TRUE(contains(top.err, "`dora node list`")) << top.err;
    EXPECT_TRUE(contains(top.err, "--once"));
    EXPECT_TRUE(contains(top.err, "--iterations N"));

    auto once = run({"inspect", "top", "--once"});
    ASSERT_EQ(once.code, 0) << once.all();
    auto snapshot = nlohmann::json::parse(once.out, nullptr, false);
    ASSERT_TRUE(snapshot.is_array()) << once.out;
    EXPECT_EQ(snapshot.size(), 6u);

    auto batch = run({"top", "stats", "--iterations", "2", "--refresh-interval", "0.2"});
    ASSERT_EQ(batch.code, 0) << batch.all();
    EXPECT_EQ(count_of(batch.out, "sort: CPU% descending"), 2u) << batch.out;
    EXPECT_EQ(count_of(batch.out, "spinner"), 2u);
    EXPECT_FALSE(contains(batch.out, "\x1b["));
}

// `dora top` in a pseudo-terminal: its output as the terminal receives it.
class PtyProcess {
  public:
    PtyProcess(const std::vector<std::string>& argv, const SpawnOptions& options) {
        winsize size{};
        size.ws_row = 40;
        size.ws_col = 160;
        pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
        if (pid_ == 0) {
            for (const auto& [key, value] : options.env) {
                if (value) {
                    ::setenv(key.c_str(), value->c_str(), 1);
                } else {
                    ::unsetenv(key.c_str());
                }
            }
            ::setenv("TERM", "xterm", 1);
            if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) {
                ::_exit(126);
            }
            std::vector<char*> args;
            for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
    }
    ~PtyProcess() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        if (master_ >= 0) ::close(master_);
    }
    [[nodiscard]] bool started() const { return pid_ > 0 && master_ >= 0; }
    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] int master() const { return master_; }

    // Reads what arrived (waiting up to `wait`).
    void pump(std::chrono::milliseconds wait) {
        pollfd fd{master_, POLLIN, 0};
        if (::poll(&fd, 1, static_cast<int>(wait.count())) > 0) {
            char buffer[65536];
            ssize_t n = ::read(master_, buffer, sizeof buffer);
            if (n > 0) output_.append(buffer, static_cast<size_t>(n));
        }
    }
    bool wait_for(const std::function<bool(const std::string&)>& done,
                  std::chrono::milliseconds timeout) {
        return wait_until(
            [&] {
                pump(50ms);
                return done(output_);
            },
            timeout, 1ms);
    }
    void type(std::string_view keys) { (void)!::write(master_, keys.data(), keys.size()); }
    // Waits for the exit; the wait status, or -1 on timeout.
    int wait_exit(std::chrono::milliseconds timeout) {
        int status = -1;
        const bool done = wait_until(
            [&] {
                pump(10ms);
                return ::waitpid(pid_, &status, WNOHANG) == pid_;
            },
            timeout, 1ms);
        reaped_ = done;
        pump(10ms);
        return done ? status : -1;
    }
    [[nodiscard]] const std::string& output() const { return output_; }

  private:
    pid_t pid_ = -1;
    int master_ = -1;
    bool reaped_ = false;
    std::string output_;
};

// The last complete frame drawn: from a cursor-home to the clear-to-the-end that ends it.
std::string last_frame(const std::string& output) {
    const size_t end = output.rfind("\x1b[J");
    const size_t home = end == std::string::npos ? end : output.rfind("\x1b[H", end);
    return home == std::string::npos ? "" : output.substr(home, end - home);
}

// The node of the table's first row.
std::string first_row(const std::string& frame) {
    const size_t header = frame.find("\nNODE ");
    const size_t row = header == std::string::npos ? header : frame.find('\n', header + 1);
    if (row == std::string::npos) return "";
    return frame.substr(row + 1, frame.find(' ', row + 1) - row - 1);
}

bool before(const std::string& frame, const std::string& first, const std::string& second) {
    const size_t a = frame.find("\n" + first + " ");
    const size_t b = frame.find("\n" + second + " ");
    return a != std::string::npos && b != std::string::npos && a < b;
}

TEST_F(NodeStatsTest, TopDrawsSortsAndRestoresTheTerminalOnQAndOnSigterm) {
    start_flow();
    ASSERT_TRUE(list_until([&] { return nodes["spinner"]["measured"] == true; }));
    {
        PtyProcess top(cluster->cli({"top", "stats", "--refresh-interval", "0.5"}),
                       cluster->spawn_options());
        ASSERT_TRUE(top.started());
        // CPU descending: the spinner first.
        ASSERT_TRUE(top.wait_for(
            [](const std::string& out) {
                const std::string frame = last_frame(out);
                return contains(frame, "sort: CPU% descending") && first_row(frame) == "spinner";
            },
            20s))
            << last_frame(top.output());
        EXPECT_TRUE(contains(top.output(), "\x1b[?1049h"));  // the alternate screen
        EXPECT_TRUE(contains(last_frame(top.output()), "exited (code 3)"));
        // From the second refresh on, the slow consumer's input rate, the last column (its
        // producer sends every 2 ms).
        ASSERT_TRUE(top.wait_for(
            [](const std::string& out) {
                const std::string frame = last_frame(out);
                const size_t row = frame.find("\nslow ");
                const size_t end = frame.find('\n', row + 1);
                return contains(frame, "MSG/S") && row != std::string::npos &&
                       std::regex_search(frame.substr(row, end - row),
                                         std::regex(R"( [0-9]{2,}\.[0-9]\x1b\[K)"));
            },
            10s))
            << last_frame(top.output());
        top.type("n");  // by name: flaky, idle, quitter, slow, source, spinner
        ASSERT_TRUE(top.wait_for(
            [](const std::string& out) {
                const std::string frame = last_frame(out);
                return contains(frame, "sort: NODE ascending") && first_row(frame) == "flaky" &&
                       before(frame, "idle", "spinner") && before(frame, "slow", "source");
            },
            10s))
            << last_frame(top.output());
        top.type("n");  // again: reversed
        ASSERT_TRUE(top.wait_for(
            [](const std::string& out) {
                const std::string frame = last_frame(out);
                return contains(frame, "sort: NODE descending") && first_row(frame) == "spinner" &&
                       before(frame, "source", "slow") && before(frame, "idle", "flaky");
            },
            10s))
            << last_frame(top.output());
        top.type("d");  // drops: the slow consumer first
        ASSERT_TRUE(top.wait_for(
            [](const std::string& out) {
                const std::string frame = last_frame(out);
                return contains(frame, "sort: DROPPED descending") && first_row(frame) == "slow";
            },
            10s))
            << last_frame(top.output());
        top.type("q");
        const int status = top.wait_exit(10s);
        ASSERT_TRUE(WIFEXITED(status)) << status;
        EXPECT_EQ(WEXITSTATUS(status), 0);
        const std::string& out = top.output();
        const size_t left = out.rfind("\x1b[?1049l");
        ASSERT_NE(left, std::string::npos) << "the alternate screen was not left";
        EXPECT_GT(left, out.rfind("\x1b[H")) << "left before the last frame";
        EXPECT_NE(out.rfind("\x1b[?25h"), std::string::npos) << "the cursor stays hidden";
        termios restored{};
        ASSERT_EQ(::tcgetattr(top.master(), &restored), 0);
        EXPECT_NE(restored.c_lflag & ICANON, 0u) << "line editing not restored";
        EXPECT_NE(restored.c_lflag & ECHO, 0u) << "echo not restored";
    }
    {
        PtyProcess top(cluster->cli({"top"}), cluster->spawn_options());
        ASSERT_TRUE(top.started());
        ASSERT_TRUE(top.wait_for(
            [](const std::string& out) { return contains(last_frame(out), "spinner"); }, 20s));
        ::kill(top.pid(), SIGTERM);
        const int status = top.wait_exit(10s);
        ASSERT_TRUE(WIFEXITED(status)) << "killed by the signal instead of handling it";
        EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
        EXPECT_GT(top.output().rfind("\x1b[?1049l"), top.output().rfind("\x1b[H"));
    }
}

}  // namespace
}  // namespace dora::testing
