// Multicast scouting with real binaries, ONLY inside a private network namespace that holds
// nothing but loopback: each test forks a child that unshares its network namespace, brings lo
// up with a multicast route, and runs `dora router` / `dora zenoh ...` there. The namespace
// dies with the child's process group, which the parent kills by id on timeout or failure.
// Skipped unless root with `ip` available (multicast never touches the real interfaces).
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <regex>

#include "testing/process.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"
#include "testing/wait.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::testing {
namespace {

constexpr int kSkip = 77;

std::string ip_binary() {
    for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
        if (::access(p, X_OK) == 0) {
            return p;
        }
    }
    return {};
}

std::vector<std::string> dora(std::vector<std::string> args) {
    args.insert(args.begin(), DORA_CLI_BINARY);
    return args;
}

// A scenario returns "" on success, else what went wrong. It runs in the namespace.
using Scenario = std::function<std::string(const fs::path& dir)>;

class ZenohScoutingTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (::geteuid() != 0) {
            GTEST_SKIP() << "needs root to create a network namespace";
        }
        ip_ = ip_binary();
        if (ip_.empty()) {
            GTEST_SKIP() << "no `ip` command";
        }
    }

    void write(const std::string& name, const std::string& text) { dir_.write(name, text); }

    // Runs `scenario` in a child inside a fresh network namespace.
    void run_in_netns(const Scenario& scenario) {
        int pipefd[2];
        ASSERT_EQ(::pipe(pipefd), 0);
        pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(pipefd[0]);
            ::setpgid(0, 0);  // the parent kills the whole group on timeout
            auto report = [&](int code, const std::string& text) {
                (void)!::write(pipefd[1], text.data(), text.size());
                ::_exit(code);
            };
            if (::unshare(CLONE_NEWNET) != 0) {
                report(kSkip, std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
            }
            for (const std::string& cmd :
                 {ip_ + " link set lo up", ip_ + " link set lo multicast on",
                  ip_ + " route add 224.0.0.0/4 dev lo"}) {
                if (std::system(cmd.c_str()) != 0) {
                    report(kSkip, "could not run: " + cmd);
                }
            }
            std::string error = scenario(dir_.path());
            report(error.empty() ? 0 : 1, error);
        }
        ::close(pipefd[1]);
        int status = 0;
        bool done = wait_until([&] { return ::waitpid(child, &status, WNOHANG) == child; }, 90s);
        if (!done) {
            ::kill(-child, SIGKILL);
            ::waitpid(child, &status, 0);
        }
        std::string message;
        char buf[4096];
        for (ssize_t n; (n = ::read(pipefd[0], buf, sizeof(buf))) > 0;) {
            message.append(buf, static_cast<size_t>(n));
        }
        ::close(pipefd[0]);
        ::kill(-child, SIGKILL);  // anything of the scenario still alive (none, normally)
        ASSERT_TRUE(done) << "scenario timed out";
        ASSERT_TRUE(WIFEXITED(status)) << "scenario crashed: " << message;
        if (WEXITSTATUS(status) == kSkip) {
            GTEST_SKIP() << message;
        }
        EXPECT_EQ(WEXITSTATUS(status), 0) << message;
    }

    std::string ip_;
    TempDir dir_{"dora-zenoh-scout"};
};

// Waits for `re` in the process's stdout; "" or what went wrong.
std::string expect_out(Process& p, const std::regex& re, std::smatch* m = nullptr,
                       std::chrono::milliseconds limit = 15s) {
    std::smatch local;
    std::smatch& match = m != nullptr ? *m : local;
    if (p.wait_for([&] { return std::regex_search(p.out(), match, re); }, limit)) {
        return {};
    }
    return "expected output not seen; got:\n" + p.all();
}

std::string wait_ok(Process& p, const std::string& what) {
    int status = p.wait(30s);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return {};
    }
    return what + " failed (status " + std::to_string(status) + "):\n" + p.all();
}

// A subscriber on `prefix/**` and a publisher of `prefix/x` = `value`, both with `config` only
// (no endpoints): they must find each other by scouting. The subscriber prints "Declaring"
// before its declaration has reached anyone, and a client publisher cannot tell whether its
// router knows the subscriber yet, so probes on `prefix/probe` go first until one arrives.
std::string exchange(const std::string& config, const std::string& prefix, const std::string& value,
                     int wait_ms) {
    Process sub(dora({"zenoh", "sub", prefix + "/**", "-c", config}));
    if (!sub.wait_for([&] { return has_text(sub.err(), "Declaring"); }, 10s)) {
        return "sub did not start:\n" + sub.all();
    }
    std::string probe_failure;
    bool subscribed = wait_until(
        [&] {
            Process probe(dora({"zenoh", "pub", prefix + "/probe", "probe", "-c", config, "--wait",
                                std::to_string(wait_ms)}));
            probe_failure = wait_ok(probe, "probe");
            return probe_failure.empty() &&
                   sub.wait_for([&] { return has_text(sub.out(), "/probe'"); }, 200ms);
        },
        30s, 0ms);
    if (!subscribed) {
        return "no probe reached the sub:\n" + probe_failure + sub.all();
    }
    Process pub(dora(
        {"zenoh", "pub", prefix + "/x", value, "-c", config, "--wait", std::to_string(wait_ms)}));
    if (auto e = wait_ok(pub, "pub"); !e.empty()) {
        return e;
    }
    std::string want = "('" + prefix + "/x': '" + value + "')";
    return sub.wait_for_text(want, 20s) ? "" : "no sample:\n" + sub.all();
}

TEST_F(ZenohScoutingTest, RouterAnswersAScoutWithItsZidAndLocator) {
    write("router.json5",
          "{ scouting: { multicast: { enabled: true, address: '224.0.0.224:7446', "
          "interface: 'lo' } } }");
    run_in_netns([](const fs::path& dir) -> std::string {
        std::string cfg = (dir / "router.json5").string();
        Process router(dora({"router", "-c", cfg, "-l", "tcp/127.0.0.1:0"}));
        std::smatch m;
        auto err = expect_out(router, std::regex(R"(zid ([0-9a-f]+)\)[^]*listening on (\S+))"), &m);
        if (!err.empty()) {
            return err;
        }
        std::string zid = m[1].str();
        std::string locator = m[2].str();
        if (!has_text(router.out(), "multicast scouting on 224.0.0.224:7446 (interface lo)")) {
            return "router did not say it scouts:\n" + router.all();
        }
        Process scout(dora({"zenoh", "scout", "-c", cfg, "--timeout", "1000"}));
        if (auto e = wait_ok(scout, "scout"); !e.empty()) {
            return e;
        }
        std::string want =
            "Hello { zid: " + zid + ", whatami: \"router\", locators: [\"" + locator + "\"] }";
        return has_text(scout.out(), want) ? ""
                                           : "scout output lacks " + want + ":\n" + scout.all();
    });
}

TEST_F(ZenohScoutingTest, ClientsWithoutEndpointsFindTheRouterByScouting) {
    write("router.json5", "{ scouting: { multicast: { enabled: true, interface: 'lo' } } }");
    write("client.json5",
          "{ mode: 'client', scouting: { multicast: { enabled: true, interface: 'lo' } } }");
    run_in_netns([](const fs::path& dir) -> std::string {
        Process router(
            dora({"router", "-c", (dir / "router.json5").string(), "-l", "tcp/0.0.0.0:0"}));
        if (auto e = expect_out(router, std::regex("listening on")); !e.empty()) {
            return e;
        }
        return exchange((dir / "client.json5").string(), "mc", "found", 5000);
    });
}

TEST_F(ZenohScoutingTest, TwoPeersFindEachOtherWithoutARouter) {
    write("peer.json5",
          "{ mode: 'peer', listen: { endpoints: ['tcp/127.0.0.1:0'] }, "
          "scouting: { multicast: { enabled: true, interface: 'lo' } } }");
    run_in_netns([](const fs::path& dir) -> std::string {
        return exchange((dir / "peer.json5").string(), "p2p", "peer", 10000);
    });
}

TEST_F(ZenohScoutingTest, PeerThatDoesNotListenSendsNoEmptyHello) {
    write("quiet.json5",
          "{ mode: 'peer', scouting: { multicast: { enabled: true, interface: 'lo' } } }");
    write("loud.json5",
          "{ mode: 'peer', listen: { endpoints: ['tcp/127.0.0.1:0'] }, "
          "scouting: { multicast: { enabled: true, interface: 'lo' } } }");
    run_in_netns([](const fs::path& dir) -> std::string {
        Process quiet(dora({"zenoh", "sub", "q/**", "-c", (dir / "quiet.json5").string()}));
        if (!quiet.wait_for([&] { return has_text(quiet.err(), "Declaring"); }, 10s)) {
            return "quiet peer did not start:\n" + quiet.all();
        }
        std::string cfg = (dir / "loud.json5").string();
        Process silent(dora({"zenoh", "scout", "-c", cfg, "--what", "peer", "--timeout", "1000"}));
        if (auto e = wait_ok(silent, "scout"); !e.empty()) {
            return e;
        }
        if (!has_text(silent.out(), "Did not find any zenoh process.")) {
            return "a peer without listeners answered the scout:\n" + silent.all();
        }
        // The same scout does find a peer that listens (the check above can fail).
        Process loud(dora({"zenoh", "sub", "l/**", "-c", cfg}));
        if (!loud.wait_for([&] { return has_text(loud.err(), "Declaring"); }, 10s)) {
            return "listening peer did not start:\n" + loud.all();
        }
        Process found(dora({"zenoh", "scout", "-c", cfg, "--what", "peer", "--timeout", "1000"}));
        if (auto e = wait_ok(found, "scout"); !e.empty()) {
            return e;
        }
        return has_text(found.out(), "whatami: \"peer\", locators: [\"tcp/127.0.0.1:")
                   ? ""
                   : "the listening peer was not found:\n" + found.all();
    });
}

TEST_F(ZenohScoutingTest, WithAClusterTokenADaemonDialsNoScoutedPlainLocator) {
    // A stranger answers the daemon's scouts with a tcp/ locator (a router: peers dial routers
    // whatever their ZIDs). The daemon, whose links are TLS under the cluster CA, must not dial
    // it: that link would carry the dataflow's data in clear to the stranger.
    write("stranger.json5", "{ scouting: { multicast: { enabled: true, interface: 'lo' } } }");
    write("daemon.json5",
          "{ mode: 'peer', listen: { endpoints: ['tls/127.0.0.1:0'] }, "
          "scouting: { multicast: { enabled: true, interface: 'lo' } } }");
    run_in_netns([](const fs::path& dir) -> std::string {
        Process stranger(
            dora({"router", "-c", (dir / "stranger.json5").string(), "-l", "tcp/127.0.0.1:0"}),
            {.env = {{"DORA_TOKEN", std::nullopt}, {"XDG_CONFIG_HOME", (dir / "none").string()}}});
        if (auto e = expect_out(stranger, std::regex("listening on")); !e.empty()) {
            return e;
        }
        Process daemon(dora({"daemon", "--machine-id", "m1", "--coordinator-port", "9",
                             "--local-listen-port", "0", "--work-dir", (dir / "work").string()}),
                       {.env = {{"DORA_TOKEN", std::string(64, 'a')},
                                {"ZENOH_CONFIG", (dir / "daemon.json5").string()},
                                {"XDG_CONFIG_HOME", (dir / "none").string()}}});
        if (!daemon.wait_for([&] { return has_text(daemon.all(), "not dialling scouted router"); },
                             20s)) {
            return "the daemon did not skip the stranger's tcp/ locator:\n" + daemon.all() +
                   stranger.all();
        }
        if (has_text(daemon.all(), "connecting to scouted")) {
            return "the daemon dialled a scouted locator:\n" + daemon.all();
        }
        return "";
    });
}

TEST_F(ZenohScoutingTest, MulticastStaysOffUnlessConfigured) {
    run_in_netns([](const fs::path&) -> std::string {
        Process router(dora({"router", "-l", "tcp/127.0.0.1:0"}));
        if (auto e = expect_out(router, std::regex("multicast scouting off")); !e.empty()) {
            return e;
        }
        Process scout(dora({"zenoh", "scout", "--timeout", "500"}));
        scout.wait(30s);
        return has_text(scout.out(), "Did not find any zenoh process.")
                   ? ""
                   : "a router without multicast answered:\n" + scout.all();
    });
}

}  // namespace
}  // namespace dora::testing
