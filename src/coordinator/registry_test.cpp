#include "coordinator/registry.hpp"

#include <gtest/gtest.h>

namespace dora::coordinator {
namespace {

using namespace std::chrono_literals;

class RegistryTest : public ::testing::Test {
  protected:
    DaemonRegistry registry_;
    SteadyClock::time_point t0_ = SteadyClock::time_point(1h);
};

TEST_F(RegistryTest, ADaemonRegistersAndIsConnected) {
    auto r = registry_.add("edge1", 1, "10.0.0.1:4000", {"tcp/10.0.0.1:7000"}, t0_);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, DaemonRegistry::Registration::kNew);
    EXPECT_EQ(registry_.connection_of("edge1"), 1u);
    EXPECT_EQ(registry_.connected_machines(), std::vector<std::string>{"edge1"});
}

TEST_F(RegistryTest, ASecondDaemonForAConnectedMachineIsRefusedWithAHint) {
    ASSERT_TRUE(registry_.add("edge1", 1, "10.0.0.1:4000", {}, t0_));
    auto second = registry_.add("edge1", 2, "10.0.0.2:4000", {}, t0_);
    ASSERT_FALSE(second);
    EXPECT_NE(second.error().message().find("10.0.0.1:4000"), std::string::npos);
    EXPECT_NE(second.error().message().find("--machine-id"), std::string::npos);
    EXPECT_EQ(registry_.connection_of("edge1"), 1u);
}

TEST_F(RegistryTest, ADisconnectedDaemonStaysKnownAndMayComeBack) {
    ASSERT_TRUE(registry_.add("edge1", 1, "a", {}, t0_));
    EXPECT_FALSE(registry_.disconnected("edge1", 99));  // not its connection
    EXPECT_TRUE(registry_.disconnected("edge1", 1));
    EXPECT_FALSE(registry_.connected("edge1"));
    auto list = registry_.list(t0_);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_FALSE(list[0].connected);
    auto again = registry_.add("edge1", 3, "b", {}, t0_);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, DaemonRegistry::Registration::kReconnected);
}

TEST_F(RegistryTest, AMachineIsKnownOnceItsDaemonRegisteredEvenWhenDisconnected) {
    EXPECT_FALSE(registry_.known("edge1"));  // e.g. not back yet after a coordinator restart
    ASSERT_TRUE(registry_.add("edge1", 1, "a", {}, t0_));
    EXPECT_TRUE(registry_.disconnected("edge1", 1));
    EXPECT_TRUE(registry_.known("edge1"));
    EXPECT_FALSE(registry_.connected("edge1"));
}

TEST_F(RegistryTest, SilentDaemonsAreThoseNotHeardFromWithinTheTimeout) {
    ASSERT_TRUE(registry_.add("quiet", 1, "a", {}, t0_));
    ASSERT_TRUE(registry_.add("chatty", 2, "b", {}, t0_));
    registry_.heard_from("chatty", t0_ + 9s);
    EXPECT_TRUE(registry_.silent(t0_ + 10s, 10s).empty());
    EXPECT_EQ(registry_.silent(t0_ + 11s, 10s), std::vector<ConnectionId>{1});
}

TEST_F(RegistryTest, SilentDaemonIsMarkedUnreachableOnceUntilHeardAgain) {
    ASSERT_TRUE(registry_.add("quiet", 1, "a", {}, t0_));
    ASSERT_TRUE(registry_.add("chatty", 2, "b", {}, t0_));
    registry_.heard_from("chatty", t0_ + 1s);
    EXPECT_TRUE(registry_.mark_unreachable(t0_ + 1500ms, 1500ms).empty());
    EXPECT_EQ(registry_.mark_unreachable(t0_ + 1600ms, 1500ms), std::vector<std::string>{"quiet"});
    EXPECT_TRUE(registry_.mark_unreachable(t0_ + 2s, 1500ms).empty()) << "marked once";
    auto list = registry_.list(t0_ + 2s);
    EXPECT_TRUE(list[1].unreachable);  // "quiet" sorts after "chatty"
    EXPECT_TRUE(list[1].connected);
    EXPECT_FALSE(registry_.mark_reachable("chatty").has_value());
    registry_.heard_from("quiet", t0_ + 5s);
    EXPECT_EQ(registry_.mark_reachable("quiet"), SteadyClock::duration(5s));
    EXPECT_FALSE(registry_.list(t0_ + 5s)[1].unreachable);
    EXPECT_FALSE(registry_.mark_reachable("quiet").has_value());
}

TEST_F(RegistryTest, MissingDaemonsAreNamedWithTheCommandToStartThem) {
    ASSERT_TRUE(registry_.add("cloud", 1, "a", {}, t0_));
    EXPECT_EQ(registry_.missing_daemons_error({"cloud"}), "");
    auto text = registry_.missing_daemons_error({"cloud", "edge2"});
    EXPECT_NE(text.find("`edge2`"), std::string::npos) << text;
    EXPECT_NE(text.find("dora daemon --machine-id edge2"), std::string::npos) << text;
    EXPECT_NE(text.find("connected daemons: `cloud`"), std::string::npos) << text;
}

TEST_F(RegistryTest, PeersOfAMachineAreEveryOtherDaemonWithItsEndpoints) {
    ASSERT_TRUE(registry_.add("a", 1, "x", {"tcp/1.1.1.1:1"}, t0_));
    ASSERT_TRUE(registry_.add("b", 2, "y", {"tcp/2.2.2.2:2"}, t0_));
    auto peers = registry_.peers_of("a");
    ASSERT_EQ(peers.size(), 1u);
    EXPECT_EQ(peers[0].machine_id, "b");
    EXPECT_EQ(peers[0].zenoh_endpoints, std::vector<std::string>{"tcp/2.2.2.2:2"});
}

TEST_F(RegistryTest, LabelledNodesGoToDaemonsWithEveryLabelSpreadEvenly) {
    ASSERT_TRUE(registry_.add("gpu1", 1, "a", {}, t0_, {{"gpu", "true"}, {"zone", "edge"}}));
    ASSERT_TRUE(registry_.add("gpu2", 2, "b", {}, t0_, {{"gpu", "true"}}));
    ASSERT_TRUE(registry_.add("cpu", 3, "c", {}, t0_, {{"gpu", "false"}}));
    auto descriptor = parse_descriptor(
        "nodes:\n"
        "  - {id: a, path: shell, deploy: {labels: {gpu: true}}}\n"
        "  - {id: b, path: shell, deploy: {labels: {gpu: true}}}\n"
        "  - {id: c, path: shell, deploy: {labels: {zone: edge}}}\n"
        "  - {id: d, path: shell}\n",
        "flow.yml");
    ASSERT_TRUE(descriptor) << descriptor.error().message();
    auto placement = registry_.place_by_labels(*descriptor);
    ASSERT_TRUE(placement) << placement.error().message();
    EXPECT_EQ(*placement,
              (std::map<std::string, std::string>{{"a", "gpu1"}, {"b", "gpu2"}, {"c", "gpu1"}}))
        << "a and b spread over both gpu daemons; only gpu1 is in zone edge; d is not placed";
    ASSERT_TRUE(registry_.disconnected("gpu2", 2));
    auto without = registry_.place_by_labels(*descriptor);
    ASSERT_TRUE(without);
    EXPECT_EQ(without->at("b"), "gpu1") << "a disconnected daemon takes no node";
}

TEST_F(RegistryTest, BuildsGoToTheMachineOrToEveryDaemonWithTheLabels) {
    ASSERT_TRUE(registry_.add("gpu1", 1, "a", {}, t0_, {{"gpu", "true"}}));
    ASSERT_TRUE(registry_.add("gpu2", 2, "b", {}, t0_, {{"gpu", "true"}}));
    ASSERT_TRUE(registry_.add("cpu", 3, "c", {}, t0_, {{"gpu", "false"}}));
    auto descriptor = parse_descriptor(
        "nodes:\n"
        "  - {id: model, path: shell, build: make, deploy: {labels: {gpu: true}}}\n"
        "  - {id: pinned, path: shell, build: make, deploy: {machine: cpu}}\n"
        "  - {id: here, path: shell, build: make}\n"
        "  - {id: nobuild, path: shell, deploy: {labels: {gpu: true}}}\n",
        "flow.yml");
    ASSERT_TRUE(descriptor) << descriptor.error().message();
    auto builds = registry_.build_placement(*descriptor);
    ASSERT_TRUE(builds) << builds.error().message();
    using Builds = std::map<std::string, std::vector<std::string>>;
    EXPECT_EQ(
        *builds,
        (Builds{{"", {"here"}}, {"cpu", {"pinned"}}, {"gpu1", {"model"}}, {"gpu2", {"model"}}}));

    auto nobody = parse_descriptor(
        "nodes:\n  - {id: m, path: shell, build: make, deploy: {labels: {zone: moon}}}\n",
        "flow.yml");
    ASSERT_TRUE(nobody);
    auto refused = registry_.build_placement(*nobody);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message().find(
                  "no connected daemon has the labels zone=moon that node m asks for (daemons: "
                  "`cpu` (gpu=false), `gpu1` (gpu=true), `gpu2` (gpu=true))"),
              std::string::npos)
        << refused.error().message();
}

}  // namespace
}  // namespace dora::coordinator
