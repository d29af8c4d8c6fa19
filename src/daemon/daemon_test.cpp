#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/event_loop.hpp"
#include "daemon/dataflow_plan.hpp"
#include "daemon/line_buffer.hpp"
#include "daemon/node_command.hpp"
#include "daemon/spawner.hpp"
#include "testing/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::daemon {
namespace {

TEST(LineBuffer, SplitsChunksIntoLinesAndKeepsThePartialOne) {
    LineBuffer buffer;
    std::vector<std::string> lines;
    auto collect = [&](std::string_view l) { lines.emplace_back(l); };
    buffer.feed("one\ntw", collect);
    buffer.feed("o\r\nthree", collect);
    EXPECT_EQ(lines, (std::vector<std::string>{"one", "two"}));
    buffer.flush(collect);
    EXPECT_EQ(lines.back(), "three");
}

TEST(LineBuffer, CutsALineThatNeverEnds) {
    LineBuffer buffer;
    size_t pieces = 0;
    buffer.feed(std::string(LineBuffer::kMaxLine * 2 + 5, 'x'), [&](std::string_view l) {
        EXPECT_EQ(l.size(), LineBuffer::kMaxLine);
        ++pieces;
    });
    EXPECT_EQ(pieces, 2u);
}

// Nothing is read from this path's directory unless a test writes there (it does not exist).
Descriptor parse(const std::string& yaml, const fs::path& file = "/nonexistent/flow/dataflow.yml") {
    auto d = parse_descriptor(yaml, file);
    EXPECT_TRUE(d) << d.error().message();
    return *d;
}

TEST(NodeCommand, PythonScriptsRunWithUnbufferedPython3) {
    testing::TempDir dir;
    auto script = dir.write("node.py", "print(1)\n");
    auto d =
        parse("nodes:\n  - {id: py, path: node.py, args: \"--a 'b c'\"}\n", dir / "dataflow.yml");
    auto spec = node_spawn_spec(d, d.nodes[0], {});
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->argv,
              (std::vector<std::string>{"python3", "-u", script.string(), "--a", "b c"}));
    EXPECT_EQ(spec->working_dir, dir.path());
}

TEST(NodeCommand, ShellNodesRunArgsWithShAndEnvIsExpanded) {
    auto d = parse(
        "nodes:\n  - id: sh\n    path: shell\n    args: echo $HOME | wc\n    env: {A: \"$X/y\", "
        "N: 3}\n    _unstable_deploy: {working_dir: /tmp}\n");
    auto spec = node_spawn_spec(d, d.nodes[0], {{"X", "/x"}, {"KEEP", "1"}});
    ASSERT_TRUE(spec) << spec.error().message();
    EXPECT_EQ(spec->argv, (std::vector<std::string>{"sh", "-c", "echo $HOME | wc"}));
    EXPECT_EQ(spec->env.at("A"), "/x/y");
    EXPECT_EQ(spec->env.at("N"), "3");
    EXPECT_EQ(spec->env.at("KEEP"), "1");
    EXPECT_EQ(spec->working_dir, fs::path("/tmp"));
}

TEST(DataflowPlan, RoutesOutputsToEveryConsumerRingAndGroupsTimers) {
    auto d = parse(R"(
nodes:
  - {id: a, path: shell, outputs: [x]}
  - {id: b, path: shell, inputs: {t: dora/timer/millis/10, in: a/x}}
  - {id: c, path: shell, inputs: {in: {source: a/x, queue_size: 3}, t2: dora/timer/millis/10}}
)");
    auto plan = make_plan(d, "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000",
                          [](const NodeDescriptor&) { return true; });
    ASSERT_TRUE(plan);
    ASSERT_EQ(plan->nodes.size(), 3u);
    EXPECT_EQ(plan->nodes[0].outputs.at("x"), (std::vector<RingRef>{{1, 1}, {2, 0}}));
    EXPECT_EQ(plan->nodes[2].inputs[0].queue_size, 3u);
    EXPECT_EQ(plan->timers.at(10ms), (std::vector<RingRef>{{1, 0}, {2, 1}}));
    auto config = plan->node_config(0, "m", 1000);
    ASSERT_EQ(config.outputs.size(), 1u);
    EXPECT_EQ(config.outputs[0].targets.size(), 2u);
    EXPECT_EQ(config.sender_index, 1);
}

TEST(DataflowPlan, NodeConfigNamesOnlyThePoolsThatFeedItsInputs) {
    std::string yaml = "nodes:\n  - {id: a, path: shell, outputs: [x]}\n";
    for (int i = 0; i < 200; ++i) {
        yaml += fmt::format("  - {{id: n{}, path: shell, outputs: [y]}}\n", i);
    }
    yaml += "  - {id: b, path: shell, inputs: {in: a/x, t: dora/timer/millis/10}}\n";
    auto d = parse(yaml);
    auto plan = make_plan(d, "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000",
                          [](const NodeDescriptor&) { return true; });
    ASSERT_TRUE(plan);
    auto config = plan->node_config(plan->nodes.size() - 1, "m", 1000);
    ASSERT_EQ(config.senders.size(), 2u);  // the daemon (timer) and a, not the 200 others
    EXPECT_EQ(config.senders[0].index, kDaemonSender);
    EXPECT_EQ(config.senders[1].index, plan->nodes[0].sender);
    EXPECT_EQ(config.senders[1].prefix, plan->pool_prefix(plan->nodes[0].sender));
    EXPECT_EQ(plan->node_config(1, "m", 1000).senders.size(), 1u);  // no inputs: daemon only
}

TEST(DataflowPlan, NodesOfOtherMachinesAreLeftOut) {
    auto d = parse(R"(
nodes:
  - {id: a, path: shell, outputs: [x], _unstable_deploy: {machine: edge}}
  - {id: b, path: shell, inputs: {in: a/x}, _unstable_deploy: {machine: cloud}}
)");
    auto plan = make_plan(d, "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000",
                          [](const NodeDescriptor& n) { return n.deploy.machine == "cloud"; });
    ASSERT_TRUE(plan);
    ASSERT_EQ(plan->nodes.size(), 1u);
    EXPECT_EQ(plan->nodes[0].descriptor->id, "b");
}

TEST(DataflowPlan, OutputsCrossingMachinesBecomeEgressAndIngressStreams) {
    auto d = parse(R"(
nodes:
  - {id: a, path: shell, outputs: [x], _unstable_deploy: {machine: edge}}
  - {id: b, path: shell, inputs: {in: {source: a/x, queue_size: 4}}, _unstable_deploy: {machine: cloud}}
  - {id: c, path: shell, inputs: {in: {source: a/x, queue_size: 30}, again: a/x}, _unstable_deploy: {machine: cloud}}
)");
    const std::string id = "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000";
    auto edge =
        make_plan(d, id, [](const NodeDescriptor& n) { return n.deploy.machine == "edge"; });
    ASSERT_TRUE(edge);
    ASSERT_EQ(edge->egress.size(), 1u);  // one stream however many remote consumers
    EXPECT_EQ(edge->egress[0].key, output_key("default", id, "a", "x"));
    EXPECT_EQ(edge->egress[0].queue_size, 30u);  // the deepest remote queue
    EXPECT_FALSE(edge->egress_region.empty());
    EXPECT_TRUE(edge->ingress.empty());
    auto cloud =
        make_plan(d, id, [](const NodeDescriptor& n) { return n.deploy.machine == "cloud"; });
    ASSERT_TRUE(cloud);
    ASSERT_EQ(cloud->ingress.size(), 1u);  // one subscription feeds every local receiver
    EXPECT_EQ(cloud->ingress[0].receivers, (std::vector<RingRef>{{0, 0}, {1, 0}, {1, 1}}));
    EXPECT_TRUE(cloud->egress.empty());
}

TEST(DataflowPlan, APoolIsCappedAtItsRingsPlusWhatTheEgressAndReceiversMayHold) {
    auto d = parse(R"(
nodes:
  - {id: a, path: shell, outputs: [x, y], _unstable_deploy: {machine: edge}}
  - {id: b, path: shell, inputs: {in: {source: a/x, queue_size: 3}, also: {source: a/y, queue_size: 5}}, _unstable_deploy: {machine: edge}}
  - {id: l, path: shell, inputs: {in: a/x}, _unstable_deploy: {machine: edge}}
  - {id: c, path: shell, inputs: {in: {source: a/y, queue_size: 7}}, _unstable_deploy: {machine: cloud}}
)");
    auto edge = make_plan(d, "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000",
                          [](const NodeDescriptor& n) { return n.deploy.machine == "edge"; });
    ASSERT_TRUE(edge);
    ASSERT_EQ(edge->nodes.size(), 3u);
    ASSERT_EQ(edge->nodes[0].descriptor->id, "a");
    // b's two queues, l's (the default depth), the egress ring of a/y (c's depth), what the
    // egress may have in flight, what receivers may hold.
    const uint32_t expected =
        3 + 5 + kDefaultQueueSize + 7 + kEgressMaxInFlight + kHeldSamplesAllowance;
    EXPECT_EQ(edge->pool_class_limit(0), expected);
    EXPECT_EQ(edge->node_config(0, "edge", 1000).pool_class_limit, expected);
    EXPECT_EQ(edge->pool_class_limit(1), kHeldSamplesAllowance) << "b sends nothing";
}

TEST(DataflowPlan, DebugInspectionMakesEveryLocalOutputAnEgressStream) {
    const std::string text = R"(
nodes:
  - {id: a, path: shell, outputs: [x, y], _unstable_deploy: {machine: edge}}
  - {id: b, path: shell, inputs: {in: a/x}, outputs: [z], _unstable_deploy: {machine: edge}}
  - {id: c, path: shell, inputs: {in: {source: a/y, queue_size: 7}}, _unstable_deploy: {machine: cloud}}
)";
    const std::string id = "0190aaaa-bbbb-7ccc-8ddd-eeeeffff0000";
    auto on_edge = [](const NodeDescriptor& n) { return n.deploy.machine == "edge"; };
    auto off = make_plan(parse(text), id, on_edge);
    ASSERT_TRUE(off);
    ASSERT_EQ(off->egress.size(), 1u) << "without the flag only a/y leaves the machine";

    auto d = parse(text + "debug: {enable_debug_inspection: true}\n");
    auto on = make_plan(d, id, on_edge);
    ASSERT_TRUE(on);
    ASSERT_EQ(on->egress.size(), 3u);
    EXPECT_EQ(on->egress[0].key, output_key("default", id, "a", "y"));
    EXPECT_TRUE(on->egress[0].consumed_remotely);
    EXPECT_EQ(on->egress[0].queue_size, 7u) << "a remote stream keeps its consumer's depth";
    EXPECT_EQ(on->egress[1].key, output_key("default", id, "a", "x"));
    EXPECT_FALSE(on->egress[1].consumed_remotely);
    EXPECT_EQ(on->egress[1].queue_size, kInspectionQueueSize);
    EXPECT_EQ(on->egress[2].key, output_key("default", id, "b", "z"));
    EXPECT_FALSE(on->egress[2].consumed_remotely);
    auto config = on->node_config(0, "edge", 1000, 5'000'000);
    ASSERT_EQ(config.outputs.size(), 2u);
    EXPECT_EQ(config.outputs[0].targets.size(), 2u) << "x: b's ring and the egress ring";
    EXPECT_EQ(config.outputs[1].targets.size(), 1u) << "y: the egress ring";
    // Only what another machine consumes is held to the size limit of messages between them.
    EXPECT_EQ(config.outputs[0].remote_max_message_size, 0u) << "x: inspection only";
    EXPECT_EQ(config.outputs[1].remote_max_message_size, 5'000'000u);
    EXPECT_EQ(config.outputs[1].remote_envelope,
              output_key("default", id, "a", "y").size() + kPushEnvelope);
}

TEST(Spawner, MissingExecutableIsAnErrorNotAnExitStatus) {
    auto child = spawn_process(SpawnSpec{{"/nonexistent/node"}, "/", {}});
    ASSERT_FALSE(child);
    EXPECT_NE(child.error().message().find("No such file"), std::string::npos)
        << child.error().message();
}

}  // namespace
}  // namespace dora::daemon
