#include "cli/node_table.hpp"

#include <gtest/gtest.h>

namespace dora::cli {
namespace {

message::NodeStats node(const std::string& id, double cpu, uint64_t rss, uint64_t dropped) {
    message::NodeStats n;
    n.node_id = id;
    n.machine_id = "edge1";
    n.status = message::kNodeRunning;
    n.pid = 100;
    n.measured = true;
    n.cpu_percent = cpu;
    n.rss_bytes = rss;
    n.dropped = dropped;
    return n;
}

std::vector<std::string> order(const std::vector<NodeRow>& rows) {
    std::vector<std::string> ids;
    for (const auto& row : rows) ids.push_back(row.node.node_id);
    return ids;
}

TEST(NodeTable, SortsByEachKeyBothWays) {
    std::vector<NodeRow> rows = {{"f", "flow", node("b", 50, 1 << 20, 0)},
                                 {"f", "flow", node("a", 10, 9 << 20, 5)},
                                 {"f", "flow", node("c", 90, 3 << 20, 1)}};
    sort_rows(rows, SortKey::kCpu, true);
    EXPECT_EQ(order(rows), (std::vector<std::string>{"c", "b", "a"}));
    sort_rows(rows, SortKey::kMemory, true);
    EXPECT_EQ(order(rows), (std::vector<std::string>{"a", "c", "b"}));
    sort_rows(rows, SortKey::kDrops, true);
    EXPECT_EQ(order(rows), (std::vector<std::string>{"a", "c", "b"}));
    sort_rows(rows, SortKey::kName, false);
    EXPECT_EQ(order(rows), (std::vector<std::string>{"a", "b", "c"}));
    sort_rows(rows, SortKey::kName, true);
    EXPECT_EQ(order(rows), (std::vector<std::string>{"c", "b", "a"}));
}

TEST(NodeTable, StatusSaysHowANodeEnded) {
    auto n = node("x", 0, 0, 0);
    EXPECT_EQ(status_text(n), "running");
    n.status = message::kNodeExited;
    n.exit_status = "exited with status 3";
    n.exit_code = 3;
    EXPECT_EQ(status_text(n), "exited (code 3)");
    n.exit_status = "was killed by signal 9 (SIGKILL)";
    n.exit_code = -1;
    EXPECT_EQ(status_text(n), "exited: was killed by signal 9 (SIGKILL)");
    n.status = message::kNodeRestarting;
    n.exit_status = "exited with status 1";
    n.exit_code = 1;
    EXPECT_EQ(status_text(n), "restarting (code 1)");
    n.status = message::kNodeNoAnswer;
    EXPECT_EQ(status_text(n), "no answer");
}

TEST(NodeTable, MemoryIsShownInBinaryUnits) {
    EXPECT_EQ(memory_text(812 << 10), "812 KiB");
    EXPECT_EQ(memory_text(uint64_t{12} << 20 | uint64_t{300} << 10), "12.3 MiB");
    EXPECT_EQ(memory_text(uint64_t{3} << 30), "3.0 GiB");
}

TEST(NodeTable, TableAlignsColumnsAndMarksWhatWasNotMeasured) {
    auto gone = node("quitter", 0, 0, 0);
    gone.status = message::kNodeExited;
    gone.exit_status = "exited with status 3";
    gone.exit_code = 3;
    gone.pid = 0;
    gone.measured = false;
    std::vector<NodeRow> rows = {{"f", "flow", node("spinner", 99.5, 2 << 20, 7)},
                                 {"f", "flow", gone}};
    Rates rates = {{"f/spinner", 250.0}};
    auto lines = table_lines(rows, true, &rates);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0],
              "NODE     MACHINE  PID  STATUS           RESTARTS  CPU%      RSS  DROPPED  MSG/S  "
              "DATAFLOW\n");
    EXPECT_EQ(lines[1],
              "spinner  edge1    100  running                 0  99.5  2.0 MiB        7  250.0  "
              "flow\n");
    EXPECT_EQ(lines[2],
              "quitter  edge1      -  exited (code 3)         0     -        -        0      -  "
              "flow\n");
    EXPECT_EQ(table_lines(rows, false)[0],
              "NODE     MACHINE  PID  STATUS           RESTARTS  CPU%      RSS  DROPPED\n");
}

TEST(NodeTable, JsonHasDorasFormattedFieldsAndTypedOnes) {
    auto n = node("spinner", 99.54, 2'500'000, 7);
    n.inputs.push_back({"in", "src/out", "src", "out", 10, 7, 0, 1, 2});
    auto j = json_of({"f", "flow", n}, true);
    EXPECT_EQ(j["node"], "spinner");
    EXPECT_EQ(j["status"], "Running");
    EXPECT_EQ(j["pid"], "100");
    EXPECT_EQ(j["cpu"], "99.5%");
    EXPECT_EQ(j["memory"], "2 MB");
    EXPECT_EQ(j["restarts"], "0");
    EXPECT_EQ(j["dataflow"], "flow");
    EXPECT_EQ(j["process_id"], 100);
    EXPECT_DOUBLE_EQ(j["cpu_percent"].get<double>(), 99.54);
    EXPECT_EQ(j["rss_bytes"], 2'500'000);
    EXPECT_EQ(j["dropped"], 7);
    EXPECT_EQ(j["inputs"][0]["received"], 10);
    EXPECT_FALSE(j.contains("exit_code"));
    EXPECT_FALSE(json_of({"f", "flow", n}, false).contains("dataflow"));
}

TEST(NodeTable, RatesComeFromTwoSnapshotsOfTheSameMachine) {
    auto a = node("sink", 0, 0, 0);
    a.inputs.push_back({"in", "src/out", "src", "out", 100, 0, 0, 0, 10});
    a.inputs.push_back({"tick", "dora/timer/millis/10", "", "", 40, 0, 0, 0, 10});
    a.sampled_ns = 1'000'000'000;
    auto b = a;
    b.inputs[0].received = 400;    // +300
    b.inputs[1].received = 140;    // +100
    b.sampled_ns = 1'500'000'000;  // half a second later
    auto restarted = b;
    restarted.node_id = "other";
    auto rates = input_rates({{"f", "", a}, {"f", "", restarted}}, {{"f", "", b}});
    ASSERT_EQ(rates.count("f/sink"), 1u);
    EXPECT_DOUBLE_EQ(rates["f/sink"], 800.0);
    EXPECT_EQ(rates.count("f/other"), 0u);                             // not in the second snapshot
    EXPECT_TRUE(input_rates({{"f", "", b}}, {{"f", "", a}}).empty());  // went back
    EXPECT_TRUE(input_rates({{"f", "", a}}, {{"f", "", a}}).empty());  // same instant
}

}  // namespace
}  // namespace dora::cli
