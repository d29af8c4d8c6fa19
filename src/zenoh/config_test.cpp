#include "zenoh/config.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "zenoh/json5.hpp"

namespace dora::zenoh {
namespace {

Json5Value parse_ok(std::string_view text) {
    auto v = parse_json5(text, "t.json5");
    EXPECT_TRUE(v) << v.error().message();
    return v ? *v : Json5Value{};
}

std::string parse_error(std::string_view text) {
    auto v = parse_json5(text, "t.json5");
    EXPECT_FALSE(v) << text;
    return v ? "" : v.error().message();
}

TEST(Json5Test, ReadsJson5Extensions) {
    auto v = parse_ok(R"(
        // line comment
        {
          unquoted: 'single',   /* block
                                   comment */
          "quoted": "dq \"esc\" \u00e9 \x41",
          hex: 0xFF, neg: -0x10, plus: +3, lead: .5, trail: 5., exp: 1e3,
          inf: Infinity, ninf: -Infinity, nan: NaN,
          list: [1, 2, 3,],
          nested: {a: {b: [true, false, null]},},
          cont: 'a\
b',
        })");
    EXPECT_EQ(*v.find("unquoted")->as_string(), "single");
    EXPECT_EQ(*v.find("quoted")->as_string(), "dq \"esc\" \xc3\xa9 A");
    EXPECT_EQ(v.find("hex")->as_number()->integer, 255);
    EXPECT_EQ(v.find("neg")->as_number()->integer, -16);
    EXPECT_EQ(v.find("plus")->as_number()->integer, 3);
    EXPECT_DOUBLE_EQ(v.find("lead")->as_number()->value, 0.5);
    EXPECT_DOUBLE_EQ(v.find("trail")->as_number()->value, 5.0);
    EXPECT_FALSE(v.find("trail")->as_number()->is_integer);
    EXPECT_DOUBLE_EQ(v.find("exp")->as_number()->value, 1000.0);
    EXPECT_TRUE(std::isinf(v.find("inf")->as_number()->value));
    EXPECT_LT(v.find("ninf")->as_number()->value, 0);
    EXPECT_TRUE(std::isnan(v.find("nan")->as_number()->value));
    EXPECT_EQ(v.find("list")->as_array()->size(), 3u);
    const auto* b = v.find("nested")->find("a")->find("b");
    ASSERT_NE(b, nullptr);
    EXPECT_TRUE(b->as_array()->at(2).is_null());
    EXPECT_EQ(*v.find("cont")->as_string(), "ab");
}

TEST(Json5Test, ErrorsGiveLineAndColumn) {
    EXPECT_EQ(parse_error("{\n  a: 1\n  b: 2\n}"), "t.json5:3:3: expected ',' or '}' in object");
    EXPECT_EQ(parse_error("{a: 'open"), "t.json5:1:10: unterminated string");
    EXPECT_EQ(parse_error("{a: 1} x"), "t.json5:1:8: unexpected text after the value");
    EXPECT_NE(parse_error("/* never closed").find("unterminated /* comment"), std::string::npos);
    EXPECT_NE(parse_error("{a: @}").find("t.json5:1:5: unexpected character '@'"),
              std::string::npos);
    EXPECT_NE(parse_error("[0x]").find("hex number without digits"), std::string::npos);
    EXPECT_NE(parse_error("[-]").find("number without digits"), std::string::npos);
    EXPECT_NE(parse_error("").find("unexpected end of input"), std::string::npos);
}

TEST(Json5Test, DeepNestingIsRefusedNotACrash) {
    std::string deep(10000, '[');
    EXPECT_NE(parse_error(deep).find("nesting deeper than 64"), std::string::npos);
}

TEST(EndpointTest, ParsesTcpUdpIpv4Ipv6AndHostnames) {
    auto a = parse_endpoint("tcp/127.0.0.1:7447").value();
    EXPECT_EQ(a.protocol, "tcp");
    EXPECT_EQ(a.host, "127.0.0.1");
    EXPECT_EQ(a.port, 7447);
    auto b = parse_endpoint("tcp/[::]:0").value();
    EXPECT_TRUE(b.ipv6);
    EXPECT_EQ(b.host, "::");
    EXPECT_EQ(b.to_string(), "tcp/[::]:0");
    auto c = parse_endpoint("tcp/router.example-net.local:7447").value();
    EXPECT_EQ(c.host, "router.example-net.local");
    auto d = parse_endpoint("udp/224.0.0.123:7447#iface=lo").value();
    EXPECT_EQ(d.protocol, "udp");
    EXPECT_EQ(d.iface, "lo");
    EXPECT_EQ(d.to_string(), "udp/224.0.0.123:7447#iface=lo");
    auto e = parse_endpoint("tcp/[fe80::1%eth0]:1?prio=1").value();
    EXPECT_EQ(e.host, "fe80::1%eth0");
    EXPECT_EQ(e.metadata, "prio=1");
}

TEST(EndpointTest, RefusesMalformedEndpoints) {
    for (const char* bad : {"127.0.0.1:7447", "quic/1.2.3.4:5", "tcp/1.2.3.4",
                            "tcp/1.2.3.4:", "tcp/1.2.3.4:65536", "tcp/1.2.3.4:x", "tcp/::1:7447",
                            "tcp/[::1:7447", "tcp/:7447", "tcp/a b:1", "udp/1.2.3.4:1#mtu=9"}) {
        EXPECT_FALSE(parse_endpoint(bad)) << bad;
    }
}

TEST(ConfigTest, ReadsTheHonouredKeys) {
    auto c = parse_config(R"({
        mode: "client",
        connect: { endpoints: ["tcp/10.0.0.1:7447", "tcp/[::1]:7448"], timeout_ms: -1 },
        listen: { endpoints: ["tcp/0.0.0.0:0"] },
        scouting: { multicast: { enabled: true, address: "224.0.0.224:7446", interface: "lo",
                                 ttl: 1 }, gossip: {enabled: false} },
        transport: { link: { tx: { batch_size: 2048, lease: 3000, keep_alive: 3,
                                   sequence_number_resolution: "32bit" } },
                     unicast: { qos: { enabled: true } } },
        timestamping: { enabled: { router: true } },
    })",
                          "cfg.json5")
                 .value();
    EXPECT_EQ(c.mode, Mode::kClient);
    ASSERT_EQ(c.connect.size(), 2u);
    EXPECT_EQ(c.connect[1].host, "::1");
    ASSERT_EQ(c.listen.size(), 1u);
    EXPECT_TRUE(c.multicast.enabled);
    EXPECT_EQ(c.multicast.interface, "lo");
    EXPECT_EQ(c.batch_size, 2048);
    EXPECT_EQ(c.lease_ms, 3000u);
    EXPECT_EQ(c.keep_alive, 3u);
    EXPECT_EQ(c.unknown_keys, (std::vector<std::string>{
                                  "connect.timeout_ms", "scouting.multicast.ttl", "scouting.gossip",
                                  "transport.link.tx.sequence_number_resolution",
                                  "transport.unicast.qos", "timestamping"}));
}

TEST(ConfigTest, DefaultsWithoutMulticast) {
    auto c = parse_config("{}", "empty").value();
    EXPECT_EQ(c.mode, Mode::kPeer);
    EXPECT_FALSE(c.multicast.enabled);
    EXPECT_EQ(c.batch_size, 65535);
    EXPECT_EQ(c.lease_ms, 10000u);
    EXPECT_EQ(c.max_message_size, uint64_t{1} << 30);  // zenohd's default
}

TEST(ConfigTest, ReadsTheMaximumMessageSize) {
    auto c = parse_config(
                 "{transport: {link: {rx: {max_message_size: 3000000, buffer_size: 65535}}}}", "c")
                 .value();
    EXPECT_EQ(c.max_message_size, 3000000u);
    EXPECT_EQ(c.unknown_keys, std::vector<std::string>{"transport.link.rx.buffer_size"});
}

TEST(ConfigTest, RefusesAMaximumMessageSizeBelowOneBatch) {
    auto e = parse_config("{transport: {link: {rx: {max_message_size: 1000}}}}", "cfg.json5");
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message(),
              "cfg.json5:1:44: 'transport.link.rx.max_message_size' must be at least 65536 "
              "(bytes), not number");
    EXPECT_FALSE(parse_config("{transport: {link: {rx: {max_message_size: -1}}}}", "c"));
    EXPECT_FALSE(parse_config("{transport: {link: {rx: []}}}", "c"));
}

TEST(ConfigTest, ReadsTheLimitsOnWhatAPeerCanMakeUsHold) {
    auto d = parse_config("{}", "c").value();
    EXPECT_EQ(d.accept_timeout_ms, 10000u);
    EXPECT_EQ(d.accept_pending, 100u);
    EXPECT_EQ(d.max_sessions, 1000u);
    EXPECT_EQ(d.limits.pending_per_address, 8u);
    EXPECT_EQ(d.limits.declarations, 10000u);
    EXPECT_EQ(d.limits.key_expr_length, 4096u);
    auto c = parse_config(R"({
        transport: {unicast: {accept_timeout: 2000, accept_pending: 20, max_sessions: 50,
                              max_links: 1}},
        dora: {limits: {accept_pending_per_address: 2, declarations_per_link: 300,
                        key_expr_length: 1024}},
    })",
                          "c")
                 .value();
    EXPECT_EQ(c.accept_timeout_ms, 2000u);
    EXPECT_EQ(c.accept_pending, 20u);
    EXPECT_EQ(c.max_sessions, 50u);
    EXPECT_EQ(c.limits.pending_per_address, 2u);
    EXPECT_EQ(c.limits.declarations, 300u);
    EXPECT_EQ(c.limits.key_expr_length, 1024u);
    EXPECT_EQ(c.unknown_keys, std::vector<std::string>{"transport.unicast.max_links"});
}

TEST(ConfigTest, RefusesBadLimitsNamingTheKey) {
    auto zero = parse_config("{transport: {unicast: {accept_pending: 0}}}", "cfg.json5");
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().message(),
              "cfg.json5:1:40: 'transport.unicast.accept_pending' must be an integer from 1 to "
              "1000000, not number");
    auto text = parse_config("{dora: {limits: {declarations_per_link: \"many\"}}}", "cfg.json5");
    ASSERT_FALSE(text);
    EXPECT_NE(text.error().message().find("'dora.limits.declarations_per_link' must be"),
              std::string::npos)
        << text.error().message();
    auto tiny = parse_config("{dora: {limits: {key_expr_length: 10}}}", "c");
    ASSERT_FALSE(tiny);
    EXPECT_NE(tiny.error().message().find("at least 64"), std::string::npos);
    auto unknown = parse_config("{dora: {limits: {subscribers: 5}}}", "c");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message().find("unknown key 'dora.limits.subscribers'"),
              std::string::npos)
        << unknown.error().message();
    EXPECT_FALSE(parse_config("{dora: {other: 1}}", "c"));
    EXPECT_FALSE(parse_config("{dora: {limits: {declarations_per_link: -3}}}", "c"));
    EXPECT_FALSE(parse_config("{transport: {unicast: {accept_timeout: 1.5}}}", "c"));
}

TEST(ConfigTest, EndpointsPerMode) {
    auto c = parse_config(
                 "{mode: 'router', listen: {endpoints: {router: ['tcp/[::]:7447'], peer: "
                 "['tcp/[::]:0']}}}",
                 "m")
                 .value();
    ASSERT_EQ(c.listen.size(), 1u);
    EXPECT_EQ(c.listen[0].port, 7447);
}

TEST(ConfigTest, WrongTypesAreErrorsWithPosition) {
    auto e = parse_config("{\n mode: 'server'\n}", "cfg.json5");
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().message(),
              "cfg.json5:2:8: 'mode' must be \"peer\", \"client\" or \"router\", not string");
    auto f = parse_config("{connect: {endpoints: ['tcp/nope']}}", "cfg.json5");
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().message().find("cfg.json5:1:24: endpoint 'tcp/nope': missing ':<port>'"),
              std::string::npos)
        << f.error().message();
    EXPECT_FALSE(parse_config("{transport: {link: {tx: {batch_size: 70000}}}}", "c"));
    EXPECT_FALSE(parse_config("{transport: {link: {tx: {lease: 'long'}}}}", "c"));
    EXPECT_FALSE(parse_config("{scouting: {multicast: {enabled: 'yes'}}}", "c"));
    EXPECT_FALSE(parse_config("[]", "c"));
}

TEST(ConfigTest, MissingFileIsAnError) {
    auto e = load_config("/nonexistent/zenoh.json5");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("/nonexistent/zenoh.json5"), std::string::npos);
}

}  // namespace
}  // namespace dora::zenoh
