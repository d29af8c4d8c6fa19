// `dora router` and the `dora zenoh` tools as real processes on loopback, ephemeral ports only:
// clients and peers through the router, peer to peer, ping/pong, ZENOH_CONFIG, a router restart.
// Every wait is a condition with a deadline; processes are killed by PID when a test ends.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <memory>
#include <regex>

#include "testing/process.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"
#include "testing/wait.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::testing {
namespace {

struct ZenohToolsTest : ::testing::Test {
    std::vector<std::string> dora(std::vector<std::string> args) {
        args.insert(args.begin(), DORA_CLI_BINARY);
        return args;
    }

    // Starts `dora router` on an ephemeral loopback port (or `port`) and returns the endpoint.
    std::string start_router(uint16_t port = 0) {
        router_ = std::make_unique<Process>(
            dora({"router", "-l", "tcp/127.0.0.1:" + std::to_string(port)}));
        std::regex re(R"(listening on tcp/127\.0\.0\.1:(\d+))");
        std::smatch m;
        bool up = router_->wait_for([&] { return std::regex_search(router_->out(), m, re); }, 10s);
        EXPECT_TRUE(up) << router_->all();
        return up ? "tcp/127.0.0.1:" + m[1].str() : "";
    }

    // Waits until `p` printed `what` on stderr (e.g. that its subscriber is declared).
    static bool wait_err(Process& p, const std::string& what) {
        return p.wait_for([&] { return has_text(p.err(), what); }, 10s);
    }

    // A subscriber prints "Declaring Subscriber" before its declaration has reached the router,
    // and a client publisher cannot tell whether the router knows the subscriber yet (a client
    // sends every put to its router, which drops what nobody wants). So before the samples a
    // test counts, publish probes on `key` (which `sub` matches) until one arrives.
    bool wait_subscribed(Process& sub, const std::string& key,
                         const std::vector<std::string>& connect) {
        std::vector<std::string> args{"zenoh", "pub", key, "probe"};
        args.insert(args.end(), connect.begin(), connect.end());
        return wait_until(
            [&] {
                Process probe(dora(args));
                probe.wait(10s);
                return sub.wait_for([&] { return has_text(sub.out(), "('" + key + "'"); }, 200ms);
            },
            20s, 0ms);
    }

    std::unique_ptr<Process> router_;
};

TEST_F(ZenohToolsTest, RouterPrintsWhereItListensAndStopsOnSigterm) {
    std::string endpoint = start_router();
    ASSERT_FALSE(endpoint.empty());
    EXPECT_TRUE(contains(router_->out(), "multicast scouting off"));
    ::kill(router_->pid(), SIGTERM);
    EXPECT_EQ(exit_code(router_->wait(10s)), 0) << router_->all();
    EXPECT_TRUE(contains(router_->out(), "dora router stopped"));
}

TEST_F(ZenohToolsTest, ClientsExchangeSamplesWithAttachmentsThroughTheRouter) {
    std::string endpoint = start_router();
    Process sub(dora({"zenoh", "sub", "demo/**", "-m", "client", "-e", endpoint}));
    ASSERT_TRUE(wait_subscribed(sub, "demo/probe", {"-m", "client", "-e", endpoint})) << sub.all();
    Process pub(dora({"zenoh", "pub", "demo/a", "hello", "-m", "client", "-e", endpoint, "-n", "3",
                      "--period", "10", "--attach", "meta"}));
    EXPECT_EQ(exit_code(pub.wait(20s)), 0) << pub.all();
    const std::string sample =
        ">> [Subscriber] Received PUT ('demo/a': 'hello') (attachment: 4 bytes)";
    EXPECT_TRUE(sub.wait_for([&] { return count_of(sub.out(), sample) >= 3; }, 20s)) << sub.all();
    EXPECT_EQ(count_of(sub.out(), sample), 3u) << sub.all();
}

TEST_F(ZenohToolsTest, PeersExchangeThroughTheRouterAndOnlyWhatMatches) {
    std::string endpoint = start_router();
    Process sub(dora({"zenoh", "sub", "demo/*/x", "-e", endpoint}));
    // Once the router knows the subscriber, what it keeps from it is a decision, not a race.
    ASSERT_TRUE(wait_subscribed(sub, "demo/probe/x", {"-e", endpoint})) << sub.all();
    // A client sends everything to its router: the router must keep this one from the sub.
    Process other(dora({"zenoh", "pub", "demo/b/y", "no", "-m", "client", "-e", endpoint}));
    EXPECT_EQ(exit_code(other.wait(20s)), 0) << other.all();
    Process pub(dora({"zenoh", "pub", "demo/b/x", "yes", "-e", endpoint}));
    EXPECT_EQ(exit_code(pub.wait(20s)), 0) << pub.all();
    EXPECT_TRUE(sub.wait_for_text("('demo/b/x': 'yes')", 20s)) << sub.all();
    EXPECT_FALSE(contains(sub.out(), "demo/b/y"));
}

TEST_F(ZenohToolsTest, PeerToPeerWithoutRouterAndBinaryPayloadAsHex) {
    Process sub(dora({"zenoh", "sub", "bin/**", "-l", "tcp/127.0.0.1:0", "-n", "1"}));
    std::regex re(R"(listening on (tcp/127\.0\.0\.1:\d+))");
    std::smatch m;
    ASSERT_TRUE(sub.wait_for([&] { return std::regex_search(sub.err(), m, re); }, 10s))
        << sub.all();
    Process pub(dora({"zenoh", "pub", "bin/k", "\xff\xfe\x01", "-e", m[1].str()}));
    EXPECT_EQ(exit_code(pub.wait(20s)), 0) << pub.all();
    EXPECT_EQ(exit_code(sub.wait(20s)), 0) << sub.all();
    EXPECT_TRUE(contains(sub.out(), "('bin/k': '0xfffe01')"));
}

TEST_F(ZenohToolsTest, PingPongThroughTheRouterReportsEverySize) {
    std::string endpoint = start_router();
    Process pong(dora({"zenoh", "pong", "-e", endpoint, "-n", "44"}));
    ASSERT_TRUE(pong.wait_for_text("answering", 10s)) << pong.all();
    Process ping(
        dora({"zenoh", "ping", "-e", endpoint, "-s", "8", "-s", "70000", "-n", "20", "-w", "2"}));
    EXPECT_EQ(exit_code(ping.wait(60s)), 0) << ping.all();
    std::regex row(R"(\n\s+(8|70000)\s+20\s+0\s+[0-9.]+)");
    std::string out = ping.out();
    auto rows =
        std::distance(std::sregex_iterator(out.begin(), out.end(), row), std::sregex_iterator());
    EXPECT_EQ(rows, 2) << ping.all();
    EXPECT_EQ(exit_code(pong.wait(20s)), 0) << pong.all();
}

TEST_F(ZenohToolsTest, ZenohConfigFileIsHonoured) {
    std::string endpoint = start_router();
    TempDir dir;
    fs::path file = dir.write("zenoh.json5", "{ mode: 'client', connect: { endpoints: ['" +
                                                 endpoint + "'] }, // the router\n}\n");
    Process sub(dora({"zenoh", "sub", "cfg/**"}), {.env = {{"ZENOH_CONFIG", file.string()}}});
    ASSERT_TRUE(wait_subscribed(sub, "cfg/probe", {"-c", file.string()})) << sub.all();
    Process pub(dora({"zenoh", "pub", "cfg/x", "via-config", "-c", file.string()}));
    EXPECT_EQ(exit_code(pub.wait(20s)), 0) << pub.all();
    EXPECT_TRUE(sub.wait_for_text("('cfg/x': 'via-config')", 20s)) << sub.all();
}

TEST_F(ZenohToolsTest, BadConfigAndBadKeyAreErrors) {
    Process bad_cfg(dora({"zenoh", "sub", "a/**", "-c", "/nonexistent/zenoh.json5"}));
    EXPECT_EQ(exit_code(bad_cfg.wait(10s)), 1);
    EXPECT_TRUE(contains(bad_cfg.err(), "/nonexistent/zenoh.json5"));
    Process bad_key(dora({"zenoh", "pub", "a//b", "x", "--wait", "0"}));
    EXPECT_EQ(exit_code(bad_key.wait(10s)), 1);
    EXPECT_TRUE(contains(bad_key.err(), "error:"));
}

TEST_F(ZenohToolsTest, SubscriberGetsDataAgainAfterTheRouterRestarts) {
    std::string endpoint = start_router();
    uint16_t port = static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
    Process sub(dora({"zenoh", "sub", "r/**", "-m", "client", "-e", endpoint, "-n", "1"}));
    ASSERT_TRUE(wait_err(sub, "Declaring Subscriber")) << sub.all();
    ::kill(router_->pid(), SIGTERM);
    ASSERT_EQ(exit_code(router_->wait(10s)), 0);
    ASSERT_FALSE(start_router(port).empty());
    // The subscriber reconnects on its own and declares again; publish until it has the sample.
    bool got = false;
    for (int i = 0; i < 40 && !got; ++i) {
        Process pub(dora({"zenoh", "pub", "r/x", "back", "-m", "client", "-e", endpoint}));
        EXPECT_EQ(exit_code(pub.wait(20s)), 0) << pub.all();
        got = sub.wait_for_text("'back'", 250ms);
    }
    EXPECT_TRUE(got) << sub.all();
    EXPECT_EQ(exit_code(sub.wait(10s)), 0) << sub.all();
}

}  // namespace
}  // namespace dora::testing
