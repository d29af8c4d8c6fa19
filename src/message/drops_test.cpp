#include "message/drops.hpp"

#include <gtest/gtest.h>

namespace dora::message {
namespace {

TEST(Drops, CountsOfTheSamePortAddUp) {
    std::vector<DropCount> drops;
    add_drop(drops, {kDropEgress, "edge", "sensor", "reading", 3});
    add_drop(drops, {kDropEgress, "edge", "sensor", "reading", 4});
    add_drop(drops, {kDropLink, "edge", "sensor", "reading", 1});
    ASSERT_EQ(drops.size(), 2u);
    EXPECT_EQ(drops[0].count, 7u);
    EXPECT_EQ(total_dropped(drops), 8u);
}

TEST(Drops, ZeroCountsAreLeftOut) {
    std::vector<DropCount> drops;
    add_drop(drops, {kDropIngress, "cloud", "sink", "in", 0});
    EXPECT_TRUE(drops.empty());
    EXPECT_EQ(finished_line(drops), "finished successfully");
}

TEST(Drops, FinishedLineBreaksTheTotalDownByPlace) {
    std::vector<DropCount> drops;
    add_drop(drops, {kDropInputQueue, "cloud", "sink", "in", 5});
    add_drop(drops, {kDropEgress, "edge", "sensor", "reading", 2});
    add_drop(drops, {kDropInputQueue, "cloud", "other", "in", 1});
    EXPECT_EQ(finished_line(drops),
              "finished with 8 message(s) dropped (egress 2, link 0, ingress 0, input queue 6)");
}

TEST(Drops, RoundTripsThroughJson) {
    DropCount drop{kDropLink, "edge", "sensor", "reading", 9};
    nlohmann::json j = drop;
    auto back = j.get<DropCount>();
    EXPECT_EQ(back.place, "link");
    EXPECT_EQ(back.node_id, "sensor");
    EXPECT_EQ(back.port, "reading");
    EXPECT_EQ(back.count, 9u);
}

}  // namespace
}  // namespace dora::message
