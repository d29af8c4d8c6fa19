// The daemon driven in-process by a fake coordinator over a socketpair: the hello, registration,
// the two-phase start, results, logs, builds beside heartbeats, refusal and protocol errors.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <deque>

#include "core/sys.hpp"
#include "daemon/daemon.hpp"
#include "message/auth.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"
#include "message/data_keys.hpp"
#include "message/framed_stream.hpp"
#include "testing/temp_dir.hpp"
#include "tls/control_tls.hpp"
#include "tls/test_certs.hpp"

namespace dora::daemon {
namespace {

using namespace std::chrono_literals;
namespace msg = dora::message;

class DaemonTest : public ::testing::Test {
  protected:
    std::unique_ptr<EventLoop> loop_ = EventLoop::create().value();
    testing::TempDir dir_{"dora-daemon-test"};
    std::vector<std::string> said_;
    sys::UniqueFd coordinator_;  // our end of the current connection
    msg::FramedStream stream_;
    int connections_ = 0;
    std::unique_ptr<Daemon> daemon_;
    std::optional<std::string> token_;  // the daemon's cluster token

    void SetUp() override {
        DaemonOptions options;
        options.machine_id = "edge1";
        options.local_listen_port = 0;
        options.work_dir = dir_.path() / "work";
        options.dora_version = "daemon-under-test";
        options.heartbeat_interval = 100ms;
        options.silence_limit = 5s;
        options.zenoh.mode = zenoh::Mode::kPeer;
        // With a token the daemon's links are TLS under the cluster CA: tcp/ is refused.
        options.zenoh.listen.push_back(
            *zenoh::parse_endpoint(token_ ? "tls/127.0.0.1:0" : "tcp/127.0.0.1:0"));
        options.log = [this](const std::string& line) { said_.push_back(line); };
        options.token = token_;
        options.coordinator_connector = [this]() -> Result<sys::UniqueFd> {
            int fds[2];
            if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
                return fail(sys::errno_error("socketpair"));
            }
            coordinator_.reset(fds[1]);
            stream_ = msg::FramedStream();
            ++connections_;
            return sys::UniqueFd(fds[0]);
        };
        daemon_ = Daemon::create(*loop_, options).value();
        daemon_->start();
    }

    void TearDown() override {
        daemon_.reset();
        loop_->run_once(0ms);
        EXPECT_FALSE(said("internal error")) << ::testing::PrintToString(said_);
    }

    void send(const nlohmann::json& message) {
        ASSERT_TRUE(stream_.send_blocking(coordinator_.get(), message, 1s));
    }

    // The next message from the daemon (pumping its loop), or std::nullopt after `limit`.
    std::optional<nlohmann::json> next(std::chrono::milliseconds limit = 5000ms) {
        auto deadline = SteadyClock::now() + limit;
        while (SteadyClock::now() < deadline) {
            if (auto m = stream_.next(); m && *m) {
                return **m;
            }
            loop_->run_once(5ms);
            (void)stream_.read_some(coordinator_.get());  // EOF shows as no more messages
        }
        return std::nullopt;
    }
    // Skips messages until one of type T.
    template <typename T>
    std::optional<T> next_of(std::chrono::milliseconds limit = 5000ms) {
        auto deadline = SteadyClock::now() + limit;
        while (SteadyClock::now() < deadline) {
            auto m = next(std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - SteadyClock::now()));
            if (m && (*m)["type"] == T::kType) {
                return msg::parse_as<T>(*m).value();
            }
        }
        return std::nullopt;
    }

    msg::DaemonRegister hello() {
        msg::Challenge challenge;
        challenge.dora_version = "fake-coordinator";
        challenge.nonce = msg::random_hex32();
        send(msg::make(challenge));
        auto answer = next_of<msg::Hello>();
        EXPECT_TRUE(answer);
        EXPECT_EQ(answer.value_or(msg::Hello{}).role, "daemon");
        send(msg::make(msg::Welcome{}));
        auto registration = next_of<msg::DaemonRegister>();
        EXPECT_TRUE(registration);
        return registration.value_or(msg::DaemonRegister{});
    }

    bool said(std::string_view needle) const {
        for (const auto& line : said_) {
            if (line.find(needle) != std::string::npos) return true;
        }
        return false;
    }

    // True once the daemon has connected a second time (after its first connection ended).
    bool reconnected() {
        auto deadline = SteadyClock::now() + 10s;
        while (connections_ < 2 && SteadyClock::now() < deadline) {
            loop_->run_once(10ms);
        }
        return connections_ == 2;
    }

    // One node `n` on edge1 running `sh -c <command>`.
    msg::PrepareDataflow shell_flow(const std::string& id, const std::string& command) {
        return flow(id, "nodes:\n  - {id: n, path: shell, args: \"" + command +
                            "\", _unstable_deploy: {machine: edge1}}\n");
    }

    msg::PrepareDataflow flow(const std::string& id, const std::string& yaml) {
        auto file = dir_.write("flow/" + id + ".yml", yaml);
        return msg::PrepareDataflow{id, "", yaml, file.string(), sys::machine_identity(),
                                    {}, {}, {}};
    }
};

TEST_F(DaemonTest, RegistersWithItsMachineIdAndZenohEndpointsAfterTheHello) {
    auto registration = hello();
    EXPECT_EQ(registration.machine_id, "edge1");
    ASSERT_EQ(registration.zenoh_endpoints.size(), 1u);
    EXPECT_EQ(registration.zenoh_endpoints[0].rfind("tcp/", 0), 0u);
    EXPECT_TRUE(registration.running_dataflows.empty());
    EXPECT_TRUE(said("connected to the coordinator"));
    // The public half of the key it signs the ends of its streams with.
    EXPECT_TRUE(msg::StreamEndVerifier::from_public_key(registration.stream_end_key));
}

TEST_F(DaemonTest, RefusesADataflowWithoutTheStreamEndKeyOfAMachineItReceivesFrom) {
    hello();
    const std::string yaml = R"(
nodes:
  - {id: source, path: shell, args: "true", outputs: [out], _unstable_deploy: {machine: cloud}}
  - {id: sink, path: shell, args: "true", inputs: {in: source/out}, _unstable_deploy: {machine: edge1}}
)";
    const std::string refused = "0190aaaa-bbbb-7ccc-8ddd-0000000000e1";
    send(msg::make(flow(refused, yaml)));
    auto reply = next_of<msg::DataflowPrepared>();
    ASSERT_TRUE(reply);
    EXPECT_FALSE(reply->success);
    EXPECT_NE(reply->error.find("node `source` runs on another machine, whose key for the ends of "
                                "its streams the coordinator did not send"),
              std::string::npos)
        << reply->error;

    const std::string accepted = "0190aaaa-bbbb-7ccc-8ddd-0000000000e2";
    auto request = flow(accepted, yaml);
    request.stream_end_keys["cloud"] = msg::StreamEndSigner::generate().value().public_key();
    send(msg::make(request));
    reply = next_of<msg::DataflowPrepared>();
    ASSERT_TRUE(reply);
    EXPECT_TRUE(reply->success) << reply->error;
    EXPECT_EQ(reply->dataflow_id, accepted);

    // A key that is not one is refused too, naming the node.
    const std::string broken = "0190aaaa-bbbb-7ccc-8ddd-0000000000e3";
    request = flow(broken, yaml);
    request.stream_end_keys["cloud"] = "not-a-key";
    send(msg::make(request));
    reply = next_of<msg::DataflowPrepared>();
    ASSERT_TRUE(reply);
    EXPECT_FALSE(reply->success);
    EXPECT_NE(reply->error.find("node `source`'s daemon"), std::string::npos) << reply->error;
}

TEST_F(DaemonTest, ARefusalIsReportedWithTheCoordinatorsReason) {
    send(msg::make(msg::ErrorMessage{"authentication failed: the cluster token does not match"}));
    auto deadline = SteadyClock::now() + 5s;
    while (!said("the cluster token does not match") && SteadyClock::now() < deadline) {
        loop_->run_once(10ms);
    }
    EXPECT_TRUE(said("refused this daemon: authentication failed"))
        << ::testing::PrintToString(said_);
}

// A daemon with a cluster token, driven by a coordinator that does not know the token.
class DaemonWithTokenTest : public DaemonTest {
  protected:
    void SetUp() override {
        token_ = "secret";
        DaemonTest::SetUp();
    }
    // Sends a challenge asking for the token; returns the daemon's hello.
    msg::Hello challenge(const std::string& nonce) {
        msg::Challenge challenge;
        challenge.dora_version = "fake-coordinator";
        challenge.nonce = nonce;
        challenge.token_required = true;
        challenge.tls = true;
        send(msg::make(challenge));
        start_tls();
        return next_of<msg::Hello>().value_or(msg::Hello{});
    }
    // The coordinator's side of the TLS that follows a challenge with `tls` (a certificate the
    // daemon has no reason to trust: only the hello's proofs authenticate).
    void start_tls() {
        static const tls::testing::TestCa ca("fake coordinator CA");
        auto pair = ca.issue({});
        auto context = tls::control_server_context(pair.certificate, pair.key);
        ASSERT_TRUE(context) << context.error().message();
        auto secure = tls::control_server_stream(*context, coordinator_.get(), "the daemon");
        ASSERT_TRUE(secure) << secure.error().message();
        auto deadline = SteadyClock::now() + 5s;
        for (;;) {
            auto step = (*secure)->handshake();
            ASSERT_TRUE(step) << step.error().message();
            if (*step == msg::SecureStream::Step::kDone) break;
            ASSERT_LT(SteadyClock::now(), deadline) << "the daemon did not do the TLS handshake";
            loop_->run_once(5ms);
        }
        ASSERT_TRUE(stream_.start_secure(std::move(*secure)));
    }
    std::string binding() const { return stream_.secure()->binding(); }
    // Drives the daemon for `limit`; true if it sent anything but heartbeats.
    bool spoke(std::chrono::milliseconds limit) {
        auto deadline = SteadyClock::now() + limit;
        while (SteadyClock::now() < deadline) {
            auto m = next(std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - SteadyClock::now()));
            if (m && (*m)["type"] != msg::DaemonHeartbeat::kType) {
                return true;
            }
        }
        return false;
    }
};

TEST_F(DaemonWithTokenTest, ActsOnNothingAFakeCoordinatorSends) {
    const auto nonce = msg::random_hex32();
    auto hello = challenge(nonce);
    EXPECT_EQ(hello.role, "daemon");
    ASSERT_EQ(binding().size(), 64u);
    EXPECT_EQ(hello.proof, msg::client_proof("secret", {nonce, hello.nonce, "daemon", binding()}));
    // The impostor cannot prove the token: it welcomes without a proof, then orders a spawn.
    const auto marker = dir_.path() / "spawned";
    send(msg::make(msg::Welcome{"not-a-proof"}));
    send(msg::make(shell_flow("0190aaaa-bbbb-7ccc-8ddd-0000000000f1", "touch " + marker.string())));
    send(msg::make(msg::SpawnDataflow{"0190aaaa-bbbb-7ccc-8ddd-0000000000f1"}));
    EXPECT_FALSE(spoke(1000ms));  // no registration, no answer to the dataflow
    EXPECT_TRUE(said("did not prove the cluster token")) << ::testing::PrintToString(said_);
    EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST_F(DaemonWithTokenTest, RefusesACoordinatorThatAsksForNoToken) {
    send(msg::make(msg::Challenge{msg::kProtocolVersion, "fake", msg::random_hex32(), false}));
    EXPECT_FALSE(spoke(500ms));
    EXPECT_TRUE(said("runs without one")) << ::testing::PrintToString(said_);
}

TEST_F(DaemonWithTokenTest, RefusesACoordinatorThatDoesNotStartTls) {
    msg::Challenge challenge{msg::kProtocolVersion, "fake", msg::random_hex32(), true};
    challenge.tls = false;
    send(msg::make(challenge));
    EXPECT_FALSE(spoke(500ms));  // no hello: nothing goes out in the clear
    EXPECT_TRUE(said("does not start TLS")) << ::testing::PrintToString(said_);
}

TEST_F(DaemonWithTokenTest, AProofOverAnotherTlsSessionIsRefused) {
    // A relay in the middle holds one TLS session with the daemon and one with the real
    // coordinator; the real coordinator's proof covers the other session.
    const auto nonce = msg::random_hex32();
    auto hello = challenge(nonce);
    send(msg::make(msg::Welcome{
        msg::coordinator_proof("secret", {nonce, hello.nonce, "daemon", std::string(64, 'f')})}));
    EXPECT_FALSE(spoke(1000ms));
    EXPECT_TRUE(said("did not prove the cluster token")) << ::testing::PrintToString(said_);
}

TEST_F(DaemonWithTokenTest, RegistersAfterTheCoordinatorProvedTheToken) {
    const auto nonce = msg::random_hex32();
    auto hello = challenge(nonce);
    send(msg::make(
        msg::Welcome{msg::coordinator_proof("secret", {nonce, hello.nonce, "daemon", binding()})}));
    auto registration = next_of<msg::DaemonRegister>();
    ASSERT_TRUE(registration);
    EXPECT_EQ(registration->machine_id, "edge1");
}

TEST_F(DaemonTest, RunsADataflowInTwoPhasesAndReportsItsOutputAndResult) {
    hello();
    const std::string id = "0190aaaa-bbbb-7ccc-8ddd-000000000001";
    send(msg::make(flow(id, R"(
nodes:
  - {id: talker, path: shell, args: "echo hello from talker", _unstable_deploy: {machine: edge1}}
  - {id: elsewhere, path: shell, args: "true", _unstable_deploy: {machine: cloud}}
)")));
    auto prepared = next_of<msg::DataflowPrepared>();
    ASSERT_TRUE(prepared);
    EXPECT_TRUE(prepared->success) << prepared->error;
    send(msg::make(msg::SpawnDataflow{id}));
    auto spawned = next_of<msg::DataflowSpawned>();
    ASSERT_TRUE(spawned);
    EXPECT_TRUE(spawned->success) << spawned->error;
    auto log = next_of<msg::DaemonLog>();
    ASSERT_TRUE(log);
    EXPECT_EQ(log->log.node_id, "talker");
    EXPECT_EQ(log->log.line, "hello from talker");
    auto finished = next_of<msg::DataflowFinishedOnMachine>();
    ASSERT_TRUE(finished);
    ASSERT_EQ(finished->results.size(), 1u);  // only this machine's node
    EXPECT_TRUE(finished->results[0].success);
    EXPECT_EQ(finished->results[0].machine_id, "edge1");
}

TEST_F(DaemonTest, ANodeThatJoinsIsReportedReadyAsDoraSaysIt) {
    hello();
    const std::string id = "0190aaaa-bbbb-7ccc-8ddd-000000000006";
    send(msg::make(flow(id, fmt::format(R"(
nodes:
  - {{id: joiner, path: {}, args: "producer --count 3 --size 8", outputs: [out], _unstable_deploy: {{machine: edge1}}}}
  - {{id: outsider, path: shell, args: "sleep 0.3", _unstable_deploy: {{machine: edge1}}}}
)",
                                        DORA_TEST_NODE))));
    ASSERT_TRUE(next_of<msg::DataflowPrepared>());
    send(msg::make(msg::SpawnDataflow{id}));
    ASSERT_TRUE(next_of<msg::DataflowFinishedOnMachine>());
    EXPECT_TRUE(said(fmt::format("dataflow {}: node `joiner` is ready", id)))
        << ::testing::PrintToString(said_);
    EXPECT_FALSE(said("node `outsider` is ready"));  // never opened the node API
}

TEST_F(DaemonTest, APrepareThatCannotRunSaysWhyAndSpawnsNothing) {
    hello();
    const std::string id = "0190aaaa-bbbb-7ccc-8ddd-000000000002";
    send(msg::make(flow(id,
                        "nodes:\n  - {id: n, path: ./missing-binary, _unstable_deploy: "
                        "{machine: edge1}}\n")));
    auto prepared = next_of<msg::DataflowPrepared>();
    ASSERT_TRUE(prepared);
    EXPECT_FALSE(prepared->success);
    EXPECT_NE(prepared->error.find("missing-binary"), std::string::npos) << prepared->error;
    send(msg::make(msg::SpawnDataflow{id}));
    auto spawned = next_of<msg::DataflowSpawned>();
    ASSERT_TRUE(spawned);
    EXPECT_FALSE(spawned->success);
}

TEST_F(DaemonTest, AStopBeforeTheSpawnDropsThePreparedDataflow) {
    hello();
    const std::string id = "0190aaaa-bbbb-7ccc-8ddd-000000000003";
    send(msg::make(shell_flow(id, "sleep 30")));
    ASSERT_TRUE(next_of<msg::DataflowPrepared>());
    send(msg::make(msg::StopDataflow{id, 0}));
    send(msg::make(msg::SpawnDataflow{id}));
    auto spawned = next_of<msg::DataflowSpawned>();
    ASSERT_TRUE(spawned);
    EXPECT_FALSE(spawned->success);
    EXPECT_NE(spawned->error.find("no prepared dataflow"), std::string::npos) << spawned->error;
}

TEST_F(DaemonTest, HeartbeatsAndDataflowsGoOnWhileAQuietBuildRuns) {
    hello();
    const std::string id = "0190aaaa-bbbb-7ccc-8ddd-000000000004";
    send(msg::make(flow(id,
                        "nodes:\n  - {id: ticker, path: shell, args: \"for i in 1 2 3 4 5 6 7 "
                        "8 9 10; do echo tick $i; sleep 0.2; done\", _unstable_deploy: "
                        "{machine: edge1}}\n")));
    ASSERT_TRUE(next_of<msg::DataflowPrepared>());
    send(msg::make(msg::SpawnDataflow{id}));
    ASSERT_TRUE(next_of<msg::DataflowSpawned>());
    const std::string build_yaml =
        "nodes:\n  - {id: slow, path: shell, args: \"true\", build: \"sleep 2; echo built\", "
        "_unstable_deploy: {machine: edge1}}\n";
    auto file = dir_.write("build/flow.yml", build_yaml);
    send(msg::make(msg::BuildNodes{
        7, build_yaml, file.string(), sys::machine_identity(), {"slow"}, nullptr, ""}));
    int heartbeats = 0;
    int ticks = 0;
    std::optional<msg::DaemonBuildResult> result;
    std::vector<std::string> build_lines;
    auto deadline = SteadyClock::now() + 15s;
    while (!result && SteadyClock::now() < deadline) {
        auto m = next(1000ms);
        if (!m) continue;
        const std::string type = (*m)["type"];
        if (type == msg::DaemonHeartbeat::kType) ++heartbeats;
        if (type == msg::DaemonLog::kType &&
            (*m)["log"]["line"].get<std::string>().find("tick") == 0)
            ++ticks;
        if (type == msg::DaemonBuildOutput::kType) build_lines.push_back((*m)["line"]);
        if (type == msg::DaemonBuildResult::kType)
            result = msg::parse_as<msg::DaemonBuildResult>(*m).value();
    }
    ASSERT_TRUE(result);
    EXPECT_TRUE(result->success) << result->message;
    EXPECT_EQ(result->request_id, 7u);
    EXPECT_EQ(build_lines, std::vector<std::string>{"built"});
    // During the 2 s build: heartbeats every 100 ms and the node's ticks every 200 ms went on.
    EXPECT_GE(heartbeats, 10);
    EXPECT_GE(ticks, 5);
}

TEST_F(DaemonTest, AnUnknownMessageFromTheCoordinatorIsReportedAndTheLinkStays) {
    hello();
    send(msg::with_type("coordinator.teleport", {}));
    auto deadline = SteadyClock::now() + 5s;
    while (!said("coordinator.teleport") && SteadyClock::now() < deadline) {
        loop_->run_once(10ms);
    }
    EXPECT_TRUE(said("coordinator.teleport"));
    EXPECT_TRUE(said("fake-coordinator"));  // the peer's version is named
    EXPECT_TRUE(next_of<msg::DaemonHeartbeat>());
    EXPECT_EQ(connections_, 1);
}

TEST_F(DaemonTest, AfterTheCoordinatorIsLostTheDaemonReconnectsAndListsWhatItRuns) {
    hello();
    const std::string id = "0190aaaa-bbbb-7ccc-8ddd-000000000005";
    auto started = shell_flow(id, "sleep 30");
    started.name = "sensors";
    send(msg::make(started));
    ASSERT_TRUE(next_of<msg::DataflowPrepared>());
    send(msg::make(msg::SpawnDataflow{id}));
    ASSERT_TRUE(next_of<msg::DataflowSpawned>());
    coordinator_.reset();  // the coordinator goes away
    ASSERT_TRUE(reconnected());
    auto registration = hello();
    EXPECT_EQ(registration.running_dataflows, std::vector<std::string>{id});
    EXPECT_TRUE(said("ended"));
    // What a restarted coordinator needs to adopt it: how it was started.
    auto report = next_of<msg::DataflowRunning>();
    ASSERT_TRUE(report);
    EXPECT_EQ(report->started.dataflow_id, id);
    EXPECT_EQ(report->started.name, "sensors");
    EXPECT_NE(report->started.descriptor_yaml.find("sleep 30"), std::string::npos);
    EXPECT_TRUE(report->spawned);
}

TEST_F(DaemonTest, AfterReconnectingTheDaemonGivesTheResultsOfRecentDataflowsAgain) {
    hello();
    const std::string id = "0190aaaa-bbbb-7ccc-8ddd-000000000006";
    send(msg::make(shell_flow(id, "true")));
    ASSERT_TRUE(next_of<msg::DataflowPrepared>());
    send(msg::make(msg::SpawnDataflow{id}));
    auto finished = next_of<msg::DataflowFinishedOnMachine>();
    ASSERT_TRUE(finished);
    coordinator_.reset();  // the coordinator goes away after the result was sent
    ASSERT_TRUE(reconnected());
    auto registration = hello();
    EXPECT_TRUE(registration.running_dataflows.empty());
    EXPECT_EQ(registration.finished_dataflows, std::vector<std::string>{id});
    auto again = next_of<msg::DataflowFinishedOnMachine>();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->dataflow_id, id);
    ASSERT_EQ(again->results.size(), 1u);
    EXPECT_EQ(again->results[0].status, finished->results[0].status);
}

}  // namespace
}  // namespace dora::daemon
