#include "message/node_stats.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "message/cli_to_coordinator.hpp"
#include "message/coordinator_to_cli.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"

namespace dora::message {
namespace {

const Versions kVersions{"test", "1", "the test", ""};

NodeStats busy_node() {
    NodeStats node;
    node.node_id = "busy";
    node.machine_id = "edge1";
    node.status = kNodeRunning;
    node.pid = 4242;
    node.restarts = 2;
    node.measured = true;
    node.cpu_percent = 97.5;
    node.cpu_time_ns = 12'000'000'000;
    node.rss_bytes = 3 << 20;
    node.uptime_ms = 12'500;
    node.dropped = 7;
    node.inputs.push_back({"in", "camera/image", "camera", "image", 100, 7, 1, 3, 10});
    node.outputs.push_back({"out", 55, 2, true});
    node.sampled_ns = 123'456'789;
    return node;
}

template <typename Variant, typename T>
T round_trip(const T& message) {
    // Through the wire format, as a peer receives it.
    FrameReader reader;
    reader.feed(encode_frame(make(message)));
    auto frame = reader.next();
    EXPECT_TRUE(frame && *frame);
    auto decoded = decode<Variant>(**frame, kVersions);
    EXPECT_TRUE(decoded) << (decoded ? "" : decoded.error().message());
    EXPECT_TRUE(std::holds_alternative<T>(*decoded));
    return std::get<T>(*decoded);
}

TEST(NodeStatsMessages, EveryNewMessageRoundTripsWithEveryField) {
    EXPECT_EQ((round_trip<CliRequest>(CliNodeStats{"flow"})).dataflow, "flow");

    auto read = round_trip<CoordinatorToDaemon>(ReadStats{7, {"a", "b"}});
    EXPECT_EQ(read.request_id, 7u);
    EXPECT_EQ(read.dataflow_ids, (std::vector<std::string>{"a", "b"}));

    DaemonStats stats{9, {{"a", {busy_node()}}}, 350};
    auto got = round_trip<DaemonToCoordinator>(stats);
    ASSERT_EQ(got.dataflows.size(), 1u);
    ASSERT_EQ(got.dataflows[0].nodes.size(), 1u);
    EXPECT_EQ(nlohmann::json(got.dataflows[0].nodes[0]), nlohmann::json(busy_node()));
    EXPECT_EQ(got.sample_us, 350);
    const NodeStats& node = got.dataflows[0].nodes[0];
    EXPECT_EQ(node.pid, 4242);
    EXPECT_DOUBLE_EQ(node.cpu_percent, 97.5);
    EXPECT_EQ(node.inputs.at(0).queued, 3u);
    EXPECT_EQ(node.outputs.at(0).sent, 55u);

    DataflowStats flow{"a", "flow", "running", {busy_node()}, {}, {{"edge1", kAnswered, 900, 40}}};
    flow.edges = edges_of(flow.nodes);
    auto reply = round_trip<CoordinatorToCli>(NodeStatsReply{{flow}});
    ASSERT_EQ(reply.dataflows.size(), 1u);
    EXPECT_EQ(nlohmann::json(reply.dataflows[0]), nlohmann::json(flow));
    EXPECT_EQ(reply.dataflows[0].machines.at(0).answer_us, 900);
}

TEST(NodeStatsMessages, NodeResultsCarryTheExitCode) {
    NodeResultInfo result;
    result.exit_code = 3;
    EXPECT_EQ(nlohmann::json(result).get<NodeResultInfo>().exit_code, 3);
    EXPECT_EQ(nlohmann::json::object().get<NodeResultInfo>().exit_code, -1);
}

nlohmann::json daemon_stats_with(const nlohmann::json& node) {
    return {{"type", DaemonStats::kType},
            {"request_id", 1},
            {"dataflows", {{{"dataflow_id", "a"}, {"nodes", {node}}}}}};
}

void expect_refused(const nlohmann::json& node, const std::string& words) {
    auto decoded = decode<DaemonToCoordinator>(daemon_stats_with(node), kVersions);
    ASSERT_FALSE(decoded) << node.dump();
    EXPECT_NE(decoded.error().message().find(DaemonStats::kType), std::string::npos)
        << decoded.error().message();
    EXPECT_NE(decoded.error().message().find(words), std::string::npos)
        << decoded.error().message();
}

TEST(NodeStatsMessages, MalformedStatsAreRefusedNamingWhatIsWrong) {
    nlohmann::json good = busy_node();
    ASSERT_TRUE(decode<DaemonToCoordinator>(daemon_stats_with(good), kVersions));

    auto with = [&](const char* key, nlohmann::json value) {
        nlohmann::json node = good;
        node[key] = std::move(value);
        return node;
    };
    expect_refused(with("status", "sleeping"), "unknown status `sleeping`");
    expect_refused(with("cpu_percent", -1.0), "cpu_percent");
    expect_refused(with("pid", -5), "negative pid");
    expect_refused(with("cpu_percent", "fast"), "type must be number");
    expect_refused(with("inputs", 3), "");
    expect_refused(with("rss_bytes", nlohmann::json::array()), "");
    nlohmann::json bad_input = good;
    bad_input["inputs"][0]["received"] = "many";
    expect_refused(bad_input, "");

    // Not finite (the parser refuses 1e999, but a message built in memory may hold one).
    expect_refused(with("cpu_percent", std::numeric_limits<double>::infinity()), "finite");
    expect_refused(with("cpu_percent", std::numeric_limits<double>::quiet_NaN()), "finite");

    auto request = decode<CoordinatorToDaemon>(
        {{"type", ReadStats::kType}, {"dataflow_ids", "not a list"}}, kVersions);
    EXPECT_FALSE(request);
    auto cli = decode<CliRequest>({{"type", CliNodeStats::kType}, {"dataflow", 5}}, kVersions);
    EXPECT_FALSE(cli);
    auto reply = decode<CoordinatorToCli>(
        {{"type", NodeStatsReply::kType}, {"dataflows", {{{"nodes", {with("status", "?")}}}}}},
        kVersions);
    EXPECT_FALSE(reply);
}

TEST(NodeStats, EdgesComeFromInputsAndUseTheProducersCountWhenTheyCrossMachines) {
    NodeStats camera;
    camera.node_id = "camera";
    camera.machine_id = "edge1";
    camera.status = kNodeRunning;
    camera.outputs.push_back({"image", 90, 0, true});
    camera.inputs.push_back({"tick", "dora/timer/millis/10", "", "", 500, 0, 0, 0, 10});

    NodeStats local_sink = busy_node();  // edge1, in <- camera/image
    local_sink.node_id = "viewer";
    NodeStats remote_sink = busy_node();
    remote_sink.node_id = "detector";
    remote_sink.machine_id = "cloud";
    remote_sink.inputs[0].received = 80;
    remote_sink.sampled_ns = 999;

    auto edges = edges_of({camera, local_sink, remote_sink});
    ASSERT_EQ(edges.size(), 2u);  // the timer is no edge
    EXPECT_EQ(edges[0].target_node, "viewer");
    EXPECT_FALSE(edges[0].remote);
    EXPECT_EQ(edges[0].sent, 100u);
    EXPECT_EQ(edges[0].messages, 100u);
    EXPECT_EQ(edges[0].dropped, 7u);
    EXPECT_EQ(edges[1].source_node, "camera");
    EXPECT_EQ(edges[1].source_output, "image");
    EXPECT_EQ(edges[1].target_input, "in");
    EXPECT_EQ(edges[1].source_machine, "edge1");
    EXPECT_EQ(edges[1].target_machine, "cloud");
    EXPECT_TRUE(edges[1].remote);
    EXPECT_EQ(edges[1].sent, 90u);
    EXPECT_EQ(edges[1].messages, 80u);
    EXPECT_EQ(edges[1].lost, 1u);
    EXPECT_EQ(edges[1].sampled_ns, 999);
}

}  // namespace
}  // namespace dora::message
