// SCOUT and HELLO against the bytes zenoh-pico sent (docs/zenoh-protocol.md section 6), and the
// multicast config.
#include "zenoh/scouting.hpp"

#include <gtest/gtest.h>

namespace dora::zenoh {
namespace {

std::vector<uint8_t> hex(std::string_view h) { return from_hex(h).value(); }

TEST(ScoutingTest, PicoScoutForRoutersAndPeersDecodes) {
    auto m = decode_scouting(hex("010903")).value();
    const auto& scout = std::get<Scout>(m);
    EXPECT_EQ(scout.what, kWhatRouter | kWhatPeer);
    EXPECT_FALSE(scout.zid.has_value());
    EXPECT_EQ(encode_to_vector(scout), hex("010903"));
}

TEST(ScoutingTest, ScoutWithAZidRoundTrips) {
    auto bytes = hex("0109fb a85d4c129ffc4318f57e46aabc6ed1e5");
    auto m = decode_scouting(bytes).value();
    const auto& scout = std::get<Scout>(m);
    ASSERT_TRUE(scout.zid.has_value());
    EXPECT_EQ(scout.zid->size(), 16u);
    EXPECT_EQ(encode_to_vector(scout), bytes);
}

TEST(ScoutingTest, RouterHelloWithALocatorRoundTrips) {
    auto bytes = hex("2209f0 a85d4c129ffc4318f57e46aabc6ed1e5 01 12");
    std::string locator = "tcp/127.0.0.1:7447";
    bytes.insert(bytes.end(), locator.begin(), locator.end());
    auto m = decode_scouting(bytes).value();
    const auto& hello = std::get<Hello>(m);
    EXPECT_EQ(hello.whatami, WhatAmI::kRouter);
    ASSERT_EQ(hello.locators.size(), 1u);
    EXPECT_EQ(hello.locators[0], locator);
    EXPECT_EQ(encode_to_vector(hello), bytes);
}

TEST(ScoutingTest, TruncatedOrTrailingBytesAreErrors) {
    EXPECT_FALSE(decode_scouting(hex("0109")));
    EXPECT_FALSE(decode_scouting(hex("01090300")));
    EXPECT_FALSE(decode_scouting(hex("2209f0a85d")));
    EXPECT_FALSE(decode_scouting(hex("2209f0a85d4c129ffc4318f57e46aabc6ed1e5ff")));  // 255 locators
    EXPECT_FALSE(decode_scouting(hex("050903")));                                    // not scouting
}

TEST(ScoutingTest, MulticastAddressAndInterfaceAreChecked) {
    ScoutingMulticast config;
    auto group = resolve_multicast(config).value();
    EXPECT_EQ(ntohs(group.group.sin_port), 7446);
    EXPECT_EQ(group.ifindex, 0);
    config.interface = "lo";
    EXPECT_GT(resolve_multicast(config).value().ifindex, 0);
    config.interface = "no-such-interface0";
    EXPECT_FALSE(resolve_multicast(config));
    config.interface = "auto";
    config.address = "127.0.0.1:7446";
    EXPECT_FALSE(resolve_multicast(config));
    config.address = "224.0.0.224";
    EXPECT_FALSE(resolve_multicast(config));
}

TEST(ScoutingTest, UnspecifiedListenHostsAreAdvertisedWithInterfaceAddresses) {
    ScoutingMulticast config;
    config.interface = "lo";
    std::vector<Endpoint> listen{parse_endpoint("tcp/0.0.0.0:0").value(),
                                 parse_endpoint("tcp/127.0.0.1:0").value()};
    auto locators = advertised_locators(listen, {7447, 7448}, config);
    ASSERT_EQ(locators.size(), 2u);
    EXPECT_EQ(locators[0], "tcp/127.0.0.1:7447");
    EXPECT_EQ(locators[1], "tcp/127.0.0.1:7448");
}

}  // namespace
}  // namespace dora::zenoh
