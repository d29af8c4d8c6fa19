// `dora router` and the `dora zenoh` tools as real processes on loopback, ephemeral ports only:
// clients and peers through the router, peer to peer, ping/pong, ZENOH_CONFIG, a router restart.
// Every wait is a condition with a deadline; processes are killed by PID when a test ends.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>

#include "process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using dora::testing::Process;

namespace {

bool contains(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
}

size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
        ++n;
    }
    return n;
}

int exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

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
        bool up =
            router_->pump_until([&] { return std::regex_search(router_->out(), m, re); }, 10s);
        EXPECT_TRUE(up) << router_->all();
        return up ? "tcp/127.0.0.1:" + m[1].str() : "";
    }

    // Waits until `p` printed `what` on stderr (e.g. that its subscriber is declared).
    static bool wait_err(Process& p, const std::string& what) {
        return p.pump_until([&] { return contains(p.err(), what); }, 10s);
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
    Process sub(dora({"zenoh", "sub", "demo/**", "-m", "client", "-e", endpoint, "-n", "3"}));
    ASSERT_TRUE(wait_err(sub, "Declaring Subscriber")) << sub.all();
    Process pub(dora({"zenoh", "pub", "demo/a", "hello", "-m", "client", "-e", endpoint, "-n", "3",
                      "--period", "10", "--attach", "meta"}));
    EXPECT_EQ(exit_code(pub.wait(20s)), 0) << pub.all();
    EXPECT_EQ(exit_code(sub.wait(20s)), 0) << sub.all();
    EXPECT_EQ(
        count(sub.out(), ">> [Subscriber] Received PUT ('demo/a': 'hello') (attachment: 4 bytes)"),
        3u)
        << sub.all();
}

TEST_F(ZenohToolsTest, PeersExchangeThroughTheRouterAndOnlyWhatMatches) {
    std::string endpoint = start_router();
    Process sub(dora({"zenoh", "sub", "demo/*/x", "-e", endpoint, "-n", "1"}));
    ASSERT_TRUE(wait_err(sub, "Declaring Subscriber")) << sub.all();
    // A client sends everything to its router: the router must keep this one from the sub.
    Process other(dora({"zenoh", "pub", "demo/b/y", "no", "-m", "client", "-e", endpoint}));
    EXPECT_EQ(exit_code(other.wait(20s)), 0) << other.all();
    Process pub(dora({"zenoh", "pub", "demo/b/x", "yes", "-e", endpoint}));
    EXPECT_EQ(exit_code(pub.wait(20s)), 0) << pub.all();
    EXPECT_EQ(exit_code(sub.wait(20s)), 0) << sub.all();
    EXPECT_TRUE(contains(sub.out(), "('demo/b/x': 'yes')")) << sub.all();
    EXPECT_FALSE(contains(sub.out(), "demo/b/y")) << sub.all();
}

TEST_F(ZenohToolsTest, PeerToPeerWithoutRouterAndBinaryPayloadAsHex) {
    Process sub(dora({"zenoh", "sub", "bin/**", "-l", "tcp/127.0.0.1:0", "-n", "1"}));
    std::regex re(R"(listening on (tcp/127\.0\.0\.1:\d+))");
    std::smatch m;
    ASSERT_TRUE(sub.pump_until([&] { return std::regex_search(sub.err(), m, re); }, 10s))
        << sub.all();
    Process pub(dora({"zenoh", "pub", "bin/k", "\xff\xfe\x01", "-e", m[1].str()}));
    EXPECT_EQ(exit_code(pub.wait(20s)), 0) << pub.all();
    EXPECT_EQ(exit_code(sub.wait(20s)), 0) << sub.all();
    EXPECT_TRUE(contains(sub.out(), "('bin/k': '0xfffe01')")) << sub.all();
}

TEST_F(ZenohToolsTest, PingPongThroughTheRouterReportsEverySize) {
    std::string endpoint = start_router();
    Process pong(dora({"zenoh", "pong", "-e", endpoint, "-n", "44"}));
    ASSERT_TRUE(pong.pump_until([&] { return contains(pong.out(), "answering"); }, 10s));
    Process ping(
        dora({"zenoh", "ping", "-e", endpoint, "-s", "8", "-s", "70000", "-n", "20", "-w", "2"}));
    EXPECT_EQ(exit_code(ping.wait(60s)), 0) << ping.all();
    std::regex row(R"(\n\s+(8|70000)\s+20\s+0\s+[0-9.]+)");
    auto rows = std::distance(std::sregex_iterator(ping.out().begin(), ping.out().end(), row),
                              std::sregex_iterator());
    EXPECT_EQ(rows, 2) << ping.all();
    EXPECT_EQ(exit_code(pong.wait(20s)), 0) << pong.all();
}

TEST_F(ZenohToolsTest, ZenohConfigFileIsHonoured) {
    std::string endpoint = start_router();
    fs::path file =
        fs::temp_directory_path() / ("dora-zenoh-cfg-" + std::to_string(::getpid()) + ".json5");
    std::ofstream(file) << "{ mode: 'client', connect: { endpoints: ['" << endpoint
                        << "'] }, // the router\n}\n";
    ::setenv("ZENOH_CONFIG", file.c_str(), 1);
    Process sub(dora({"zenoh", "sub", "cfg/**", "-n", "1"}));
    ::unsetenv("ZENOH_CONFIG");
    ASSERT_TRUE(wait_err(sub, "Declaring Subscriber")) << sub.all();
    Process pub(dora({"zenoh", "pub", "cfg/x", "via-config", "-c", file.string()}));
    EXPECT_EQ(exit_code(pub.wait(20s)), 0) << pub.all();
    EXPECT_EQ(exit_code(sub.wait(20s)), 0) << sub.all();
    EXPECT_TRUE(contains(sub.out(), "('cfg/x': 'via-config')")) << sub.all();
    fs::remove(file);
}

TEST_F(ZenohToolsTest, BadConfigAndBadKeyAreErrors) {
    Process bad_cfg(dora({"zenoh", "sub", "a/**", "-c", "/nonexistent/zenoh.json5"}));
    EXPECT_EQ(exit_code(bad_cfg.wait(10s)), 1);
    EXPECT_TRUE(contains(bad_cfg.err(), "/nonexistent/zenoh.json5")) << bad_cfg.all();
    Process bad_key(dora({"zenoh", "pub", "a//b", "x", "--wait", "0"}));
    EXPECT_EQ(exit_code(bad_key.wait(10s)), 1);
    EXPECT_TRUE(contains(bad_key.err(), "error:")) << bad_key.all();
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
        got = sub.pump_until([&] { return contains(sub.out(), "'back'"); }, 250ms);
    }
    EXPECT_TRUE(got) << sub.all();
    EXPECT_EQ(exit_code(sub.wait(10s)), 0) << sub.all();
}

}  // namespace
