// `dora router` and the `dora zenoh` tools as real processes on loopback, ephemeral ports only:
// clients and peers through the router, peer to peer, ping/pong, ZENOH_CONFIG, a router restart,
// zenoh's example flags, pub from stdin, sub finding the daemons through a real coordinator.
// Every wait is a condition with a deadline; processes are killed by PID when a test ends.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>

#include "testing/ports.hpp"
#include "testing/process.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"
#include "testing/wait.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::testing {
namespace {

// Quotes `word` for sh -c.
std::string sh_quote(const std::string& word) {
    std::string out = "'";
    for (char c : word) {
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    }
    return out + "'";
}

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

    // A sub that declared its subscriber; the test fails if it did not within the deadline.
    std::unique_ptr<Process> start_sub(std::vector<std::string> args) {
        args.insert(args.begin(), {"zenoh", "sub"});
        auto sub = std::make_unique<Process>(dora(std::move(args)));
        EXPECT_TRUE(wait_err(*sub, "Declaring Subscriber")) << sub->all();
        return sub;
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

// A client get cannot tell whether the router knows the queryable yet: ask until it answers
// (bounded), then check the answer.
std::string get_until_answered(ZenohToolsTest& t, std::vector<std::string> args,
                               const std::string& answer) {
    args.insert(args.begin(), {"zenoh", "get"});
    std::string out;
    wait_until(
        [&] {
            Process get(t.dora(args));
            int status = get.wait(20s);
            out = get.all();
            return exit_code(status) == 0 && contains(out, answer);
        },
        20s, 50ms);
    return out;
}

TEST_F(ZenohToolsTest, GetAndQueryableThroughTheRouterWithPayloadAttachmentAndErrors) {
    std::string endpoint = start_router();
    Process queryable(
        dora({"zenoh", "queryable", "demo/q", "-v", "answer", "-m", "client", "-e", endpoint}));
    Process refusing(dora(
        {"zenoh", "queryable", "demo/no", "--error", "refused", "-m", "client", "-e", endpoint}));
    ASSERT_TRUE(wait_err(queryable, "Declaring Queryable on 'demo/q'")) << queryable.all();
    ASSERT_TRUE(wait_err(refusing, "Declaring Queryable")) << refusing.all();
    const std::string reply = ">> Received ('demo/q': 'answer') (attachment: 'att')";
    std::string out = get_until_answered(
        *this, {"demo/q?x=1", "-p", "ask", "-a", "att", "-m", "client", "-e", endpoint}, reply);
    EXPECT_TRUE(contains(out, "Sending Query 'demo/q?x=1'...")) << out;
    EXPECT_EQ(count_of(out, reply), 1u) << out;
    EXPECT_TRUE(queryable.wait_for_text(
        ">> [Queryable ] Received Query 'demo/q?x=1' with payload 'ask' (attachment: 'att')", 10s))
        << queryable.all();
    out = get_until_answered(*this, {"demo/no", "-m", "client", "-e", endpoint},
                             ">> Received (ERROR: 'refused')");
    EXPECT_TRUE(contains(out, ">> Received (ERROR: 'refused')")) << out;
    // Nothing answers here: the get ends at once (the router's final), not at its timeout.
    auto start = std::chrono::steady_clock::now();
    Process none(dora({"zenoh", "get", "nothing/here", "-m", "client", "-e", endpoint}));
    EXPECT_EQ(exit_code(none.wait(20s)), 0) << none.all();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
    EXPECT_FALSE(contains(none.out(), ">> Received")) << none.all();
}

TEST_F(ZenohToolsTest, LivelinessTokenIsListedAndSeenComingAndGoingThroughTheRouter) {
    std::string endpoint = start_router();
    Process watcher(dora({"zenoh", "sub-liveliness", "group1/**", "-m", "client", "-e", endpoint}));
    ASSERT_TRUE(wait_err(watcher, "Declaring Liveliness Subscriber")) << watcher.all();
    auto token = std::make_unique<Process>(
        dora({"zenoh", "liveliness", "group1/dora", "-m", "client", "-e", endpoint}));
    ASSERT_TRUE(token->wait_for_text("Declaring LivelinessToken on 'group1/dora'", 10s))
        << token->all();
    EXPECT_TRUE(
        watcher.wait_for_text(">> [LivelinessSubscriber] New alive token ('group1/dora')", 10s))
        << watcher.all();
    Process list(dora({"zenoh", "get-liveliness", "group1/**", "-m", "client", "-e", endpoint}));
    EXPECT_EQ(exit_code(list.wait(20s)), 0) << list.all();
    EXPECT_EQ(count_of(list.out(), ">> Alive token ('group1/dora')"), 1u) << list.all();
    token->signal(SIGTERM);
    EXPECT_EQ(exit_code(token->wait(10s)), 0) << token->all();
    EXPECT_TRUE(
        watcher.wait_for_text(">> [LivelinessSubscriber] Dropped token ('group1/dora')", 10s))
        << watcher.all();
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

TEST_F(ZenohToolsTest, EndpointFlagsDoNotSwallowTheKeyThatFollows) {
    std::string endpoint = start_router();
    // `-e` takes one endpoint; the key after it is the positional (it was swallowed as a second
    // endpoint before).
    auto sub = start_sub({"-m", "client", "-e", endpoint, "flags/**", "-n", "2"});
    Process one(dora({"zenoh", "pub", "-m", "client", "-e", endpoint, "flags/a", "one"}));
    EXPECT_EQ(exit_code(one.wait(20s)), 0) << one.all();
    Process two(dora({"zenoh", "pub", "-e", endpoint, "-k", "flags/b", "-m", "client", "two"}));
    EXPECT_EQ(exit_code(two.wait(20s)), 0) << two.all();
    EXPECT_EQ(exit_code(sub->wait(20s)), 0) << sub->all();
    EXPECT_TRUE(contains(sub->out(), "('flags/a': 'one')")) << sub->all();
    EXPECT_TRUE(contains(sub->out(), "('flags/b': 'two')")) << sub->all();
}

TEST_F(ZenohToolsTest, ZenohExampleSpellingWithKeyAndValueFlags) {
    std::string endpoint = start_router();
    // The seed's `z_sub --connect tcp/IP:7447 --key demo/test`, spelled with dora.
    auto sub = start_sub({"--connect", endpoint, "--key", "demo/test", "-n", "2"});
    Process pico(dora({"zenoh", "pub", "-k", "demo/test", "-v", "from -v", "-e", endpoint}));
    EXPECT_EQ(exit_code(pico.wait(20s)), 0) << pico.all();
    Process rust(dora({"zenoh", "pub", "--connect", endpoint, "--key", "demo/test", "--payload",
                       "from --payload"}));
    EXPECT_EQ(exit_code(rust.wait(20s)), 0) << rust.all();
    EXPECT_EQ(exit_code(sub->wait(20s)), 0) << sub->all();
    EXPECT_TRUE(contains(sub->out(), "('demo/test': 'from -v')")) << sub->all();
    EXPECT_TRUE(contains(sub->out(), "('demo/test': 'from --payload')")) << sub->all();
}

TEST_F(ZenohToolsTest, TwoDifferentKeysAreRefused) {
    Process sub(dora({"zenoh", "sub", "-k", "a/b", "c/d", "-e", "tcp/127.0.0.1:1"}));
    EXPECT_EQ(exit_code(sub.wait(10s)), 1);
    EXPECT_TRUE(contains(sub.err(), "two keys given")) << sub.all();
    Process pub(dora({"zenoh", "pub", "k/x", "v", "extra", "-e", "tcp/127.0.0.1:1"}));
    EXPECT_EQ(exit_code(pub.wait(10s)), 1);
    EXPECT_TRUE(contains(pub.err(), "unexpected argument 'extra'")) << pub.all();
}

TEST_F(ZenohToolsTest, PubWithoutAValuePublishesEachStdinLineAsItArrives) {
    std::string endpoint = start_router();
    auto sub = start_sub({"-m", "client", "-e", endpoint, "lines/**", "-n", "3"});
    // The pub's stdin is a FIFO this test writes to, one line at a time.
    fs::path fifo =
        fs::temp_directory_path() / ("dora-zenoh-pub-" + std::to_string(::getpid()) + ".fifo");
    fs::remove(fifo);
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    Process pub({"/bin/sh", "-c",
                 "exec " + sh_quote(DORA_CLI_BINARY) + " zenoh pub lines/x -m client -e " +
                     sh_quote(endpoint) + " < " + sh_quote(fifo.string())});
    int writer = -1;  // opens once the shell has opened the reading end
    ASSERT_TRUE(dora::testing::wait_until(
        [&] { return (writer = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC)) >= 0; },
        10s));
    fs::remove(fifo);
    auto send_line = [&](const std::string& line) {
        std::string text = line + "\n";
        ASSERT_EQ(::write(writer, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    };
    send_line("first line");
    ASSERT_TRUE(sub->wait_for([&] { return contains(sub->out(), "'first line'"); }, 20s))
        << sub->all() << pub.all();
    send_line("second");
    ASSERT_TRUE(sub->wait_for([&] { return contains(sub->out(), "'second'"); }, 20s))
        << sub->all() << pub.all();
    std::string last = "no newline at the end";
    ASSERT_EQ(::write(writer, last.data(), last.size()), static_cast<ssize_t>(last.size()));
    EXPECT_FALSE(pub.exited());
    ::close(writer);  // end of input: the last partial line goes out, then pub exits
    EXPECT_EQ(exit_code(pub.wait(20s)), 0) << pub.all();
    EXPECT_EQ(exit_code(sub->wait(20s)), 0) << sub->all();
    EXPECT_TRUE(contains(sub->out(), "('lines/x': 'no newline at the end')")) << sub->all();
}

TEST_F(ZenohToolsTest, PubReadsAFileOnStdinOneSamplePerLine) {
    std::string endpoint = start_router();
    auto sub = start_sub({"-m", "client", "-e", endpoint, "file/**", "-n", "3"});
    fs::path file =
        fs::temp_directory_path() / ("dora-zenoh-pub-" + std::to_string(::getpid()) + ".txt");
    std::ofstream(file) << "alpha\r\nbeta\ngamma\n";
    Process pub({"/bin/sh", "-c",
                 "exec " + sh_quote(DORA_CLI_BINARY) + " zenoh pub file/k -m client -e " +
                     sh_quote(endpoint) + " < " + sh_quote(file.string())});
    EXPECT_EQ(exit_code(pub.wait(20s)), 0) << pub.all();
    EXPECT_EQ(exit_code(sub->wait(20s)), 0) << sub->all();
    fs::remove(file);
    auto a = sub->out().find("'alpha'");
    auto b = sub->out().find("'beta'");
    auto c = sub->out().find("'gamma'");
    ASSERT_NE(a, std::string::npos) << sub->all();
    ASSERT_NE(b, std::string::npos) << sub->all();
    ASSERT_NE(c, std::string::npos) << sub->all();
    EXPECT_TRUE(a < b && b < c) << sub->all();
}

TEST_F(ZenohToolsTest, SubWithNowhereToConnectAndNoCoordinatorSaysWhatToPass) {
    ::unsetenv("ZENOH_CONFIG");
    Process sub(
        dora({"zenoh", "sub", "dora/**", "--coordinator-port", std::to_string(free_tcp_port())}));
    EXPECT_EQ(exit_code(sub.wait(20s)), 1) << sub.all();
    EXPECT_TRUE(contains(sub.err(), "no coordinator to ask")) << sub.all();
    EXPECT_TRUE(contains(sub.err(), "-e tcp/IP:PORT")) << sub.all();
}

TEST_F(ZenohToolsTest, RouterVerboseLogsLinksOpeningAndClosingWithPeerAddressZidAndWhatami) {
    router_ = std::make_unique<Process>(dora({"router", "-v", "-l", "tcp/127.0.0.1:0"}));
    std::regex listening(R"(listening on (tcp/127\.0\.0\.1:\d+))");
    std::smatch m;
    ASSERT_TRUE(
        router_->wait_for([&] { return std::regex_search(router_->out(), m, listening); }, 10s))
        << router_->all();
    std::string endpoint = m[1];
    auto sub = start_sub({"-m", "client", "-e", endpoint, "v/**"});
    std::regex opened(R"(face (\d+) opened: client ([0-9a-f]+) at 127\.0\.0\.1:\d+)");
    std::smatch open_match;
    ASSERT_TRUE(router_->wait_for(
        [&] { return std::regex_search(router_->err(), open_match, opened); }, 10s))
        << router_->all();
    std::string closed = "face " + open_match[1].str() + " closed (client " + open_match[2].str();
    ::kill(sub->pid(), SIGTERM);
    EXPECT_EQ(exit_code(sub->wait(10s)), 0) << sub->all();
    EXPECT_TRUE(router_->wait_for([&] { return contains(router_->err(), closed); }, 10s))
        << router_->all();
}

// A real coordinator and two daemons on loopback running a dataflow whose output crosses
// machines: `dora zenoh sub 'dora/**'` with no endpoint finds the daemons and sees the data.
struct ZenohToolsClusterTest : ZenohToolsTest {
    fs::path dir;
    std::unique_ptr<Process> coordinator;
    std::vector<std::unique_ptr<Process>> daemons;
    std::string control_port;

    void SetUp() override {
        ::unsetenv("ZENOH_CONFIG");
        dir = fs::temp_directory_path() / ("dora-zenoh-tools-" + std::to_string(::getpid()));
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    void TearDown() override {
        if (coordinator && !coordinator->exited()) {
            Process destroy(cli({"destroy"}));
            destroy.wait(30s);
        }
        for (auto& d : daemons) d->wait(20s);
        if (coordinator) coordinator->wait(5s);
        if (!HasFailure()) fs::remove_all(dir);
    }
    std::vector<std::string> cli(std::vector<std::string> args) {
        args = dora(std::move(args));
        args.insert(args.end(), {"--coordinator-port", control_port});
        return args;
    }
    void start_cluster() {
        coordinator = std::make_unique<Process>(
            dora({"coordinator", "--port", "0", "--control-port", "0"}), SpawnOptions{.cwd = dir});
        std::regex ports(R"(daemons on [^ ]+:(\d+), control on [^ ]+:(\d+))");
        std::smatch m;
        ASSERT_TRUE(coordinator->wait_for(
            [&] { return std::regex_search(coordinator->out(), m, ports); }, 10s))
            << coordinator->all();
        std::string daemon_port = m[1];
        control_port = m[2];
        for (std::string machine : {"edge1", "cloud"}) {
            daemons.push_back(std::make_unique<Process>(
                dora({"daemon", "--machine-id", machine, "--coordinator-port", daemon_port,
                      "--local-listen-port", "0", "--work-dir", (dir / machine).string()}),
                SpawnOptions{.cwd = dir}));
        }
        ASSERT_TRUE(dora::testing::wait_until(
            [&] {
                Process list(cli({"list"}));
                list.wait(10s);
                return count_of(list.out(), " connected ") == 2;
            },
            20s));
    }
};

TEST_F(ZenohToolsClusterTest, SubWithNowhereToConnectAsksTheCoordinatorForTheDaemons) {
    start_cluster();
    fs::path flow = dir / "flow.yml";
    std::ofstream(flow) << "nodes:\n"
                           "  - id: source\n"
                           "    path: " DORA_TEST_NODE
                           "\n"
                           "    args: producer --count 100000 --size 8 --interval-ms 20\n"
                           "    outputs: [out]\n"
                           "    deploy: {machine: edge1}\n"
                           "  - id: sink\n"
                           "    path: " DORA_TEST_NODE
                           "\n"
                           "    args: consumer\n"
                           "    inputs: {in: source/out}\n"
                           "    deploy: {machine: cloud}\n";
    Process start(cli({"start", "--detach", flow.string()}), SpawnOptions{.cwd = dir});
    ASSERT_EQ(exit_code(start.wait(60s)), 0) << start.all();
    Process sub(cli({"zenoh", "sub", "dora/**", "-n", "3"}));
    EXPECT_EQ(exit_code(sub.wait(30s)), 0) << sub.all();
    EXPECT_TRUE(contains(sub.err(), "from the coordinator at 127.0.0.1:" + control_port))
        << sub.all();
    std::regex sample(R"(Received PUT \('dora/default/[0-9a-f-]{36}/output/source/out': )");
    EXPECT_TRUE(std::regex_search(sub.out(), sample)) << sub.all();
}

}  // namespace
}  // namespace dora::testing
