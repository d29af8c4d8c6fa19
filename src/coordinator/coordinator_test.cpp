// The coordinator's state machine, driven in-process: fake daemons and CLIs speak the control
// messages over socketpairs handed to Coordinator::adopt(); the test pumps the event loop until
// the message it expects arrives (with a deadline, never a fixed sleep).
#include "coordinator/coordinator.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "message/auth.hpp"
#include "message/cli_to_coordinator.hpp"
#include "message/coordinator_to_cli.hpp"
#include "message/coordinator_to_daemon.hpp"
#include "message/daemon_to_coordinator.hpp"
#include "message/data_keys.hpp"
#include "tls/control_tls.hpp"

namespace dora::coordinator {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
namespace msg = dora::message;

// The stream-end public key a fake daemon of `machine` registers with (one per machine).
const std::string& stream_end_key(const std::string& machine) {
    static std::map<std::string, std::string> keys;
    auto& key = keys[machine];
    if (key.empty()) {
        key = msg::StreamEndSigner::generate().value().public_key();
    }
    return key;
}

struct Fixture;

// The far end of one connection.
struct FakePeer {
    Fixture* fixture = nullptr;
    sys::UniqueFd fd;
    msg::FrameReader reader;
    bool closed = false;
    std::string server_nonce;  // the hello's nonces, when it proved a token
    std::string client_nonce;
    std::unique_ptr<msg::SecureStream> secure;  // after start_tls()

    void send_raw(std::string_view bytes);
    void send(const json& message) { send_raw(msg::encode_frame(message)); }
    // The TLS handshake a challenge with `tls` asks for (the coordinator's loop pumped meanwhile).
    void start_tls();
    [[nodiscard]] std::string binding() const { return secure ? secure->binding() : ""; }
    // A CLI's hello whose proof of "secret" covers these nonce and binding (right or not).
    void send_cli_hello(const std::string& their_nonce, const std::string& session_binding) {
        msg::Hello h;
        h.dora_version = "peer-version";
        h.role = "cli";
        h.nonce = msg::random_hex32();
        h.proof = msg::client_proof("secret", {their_nonce, h.nonce, "cli", session_binding});
        send(msg::make(h));
    }
    // The next message, or std::nullopt when the connection closed or nothing came in time.
    std::optional<json> next(std::chrono::milliseconds timeout = 3000ms);
    // Skips messages until one of `type` arrives.
    std::optional<json> next_of(const std::string& type,
                                std::chrono::milliseconds timeout = 3000ms) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < deadline) {
            auto m = next(std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now()));
            if (!m) return std::nullopt;
            if ((*m)["type"] == type) return m;
        }
        return std::nullopt;
    }
    // True once the coordinator closed this connection.
    bool wait_closed(std::chrono::milliseconds timeout = 3000ms) {
        while (!closed && next(timeout)) {
        }
        return closed;
    }
};

struct Fixture : ::testing::Test {
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<Coordinator> coordinator;
    std::vector<std::string> logs;

    void make(std::optional<std::string> token = std::nullopt,
              std::function<void(CoordinatorOptions&)> tweak = {}) {
        coordinator.reset();  // before the loop it uses
        loop = std::move(*EventLoop::create());
        CoordinatorOptions options;
        options.listen = false;
        options.token = std::move(token);
        options.dora_version = "test";
        options.log = [this](const std::string& line) { logs.push_back(line); };
        if (tweak) tweak(options);
        auto created = Coordinator::create(*loop, options);
        ASSERT_TRUE(created) << created.error().message();
        coordinator = std::move(*created);
    }
    void SetUp() override { make(); }
    void TearDown() override {
        coordinator.reset();
        for (const auto& line : logs) {
            EXPECT_EQ(line.find("internal error"), std::string::npos) << line;
        }
    }

    std::unique_ptr<FakePeer> connect(Coordinator::Port port, bool loopback = true) {
        int fds[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        EXPECT_TRUE(sys::set_nonblocking(fds[0]));
        auto peer = std::make_unique<FakePeer>();
        peer->fixture = this;
        peer->fd = sys::UniqueFd(fds[1]);
        coordinator->adopt(sys::UniqueFd(fds[0]), port, "test-peer", loopback);
        return peer;
    }
    // Connects and completes the hello; `proof_token` signs the nonce.
    std::unique_ptr<FakePeer> hello(Coordinator::Port port, std::optional<std::string> token = {},
                                    bool loopback = true, int protocol = msg::kProtocolVersion) {
        auto peer = connect(port, loopback);
        auto challenge = peer->next();
        EXPECT_TRUE(challenge);
        EXPECT_EQ((*challenge)["type"], msg::Challenge::kType);
        if (challenge && challenge->value("tls", false)) {
            peer->start_tls();
        }
        msg::Hello h;
        h.protocol = protocol;
        h.dora_version = "peer-version";
        h.role = port == Coordinator::Port::kDaemon ? "daemon" : "cli";
        h.nonce = msg::random_hex32();
        if (token) {
            peer->server_nonce = (*challenge)["nonce"].get<std::string>();
            peer->client_nonce = h.nonce;
            h.proof =
                msg::client_proof(*token, {peer->server_nonce, h.nonce, h.role, peer->binding()});
        }
        peer->send(msg::make(h));
        return peer;
    }
    std::unique_ptr<FakePeer> cli() {
        auto peer = hello(Coordinator::Port::kControl);
        EXPECT_EQ(peer->next().value_or(json())["type"], msg::Welcome::kType);
        return peer;
    }
    std::unique_ptr<FakePeer> daemon(const std::string& machine,
                                     std::vector<std::string> running = {}) {
        auto peer = hello(Coordinator::Port::kDaemon);
        EXPECT_EQ(peer->next().value_or(json())["type"], msg::Welcome::kType);
        peer->send(msg::make(msg::DaemonRegister{
            machine, {"tcp/127.0.0.1:7000"}, running, {}, {}, "", stream_end_key(machine)}));
        EXPECT_TRUE(peer->next_of(msg::Peers::kType));
        return peer;
    }
    msg::DataflowList list() {
        auto c = cli();
        c->send(msg::make(msg::CliList{}));
        auto reply = c->next_of(msg::DataflowList::kType);
        EXPECT_TRUE(reply);
        return reply ? *msg::parse_as<msg::DataflowList>(*reply) : msg::DataflowList{};
    }
};

void FakePeer::send_raw(std::string_view bytes) {
    if (!secure) {
        ASSERT_TRUE(sys::write_all(fd.get(), bytes));
        return;
    }
    auto deadline = std::chrono::steady_clock::now() + 3s;
    while (!bytes.empty()) {
        auto n = secure->write(bytes.data(), bytes.size());
        ASSERT_TRUE(n) << n.error().message();
        bytes.remove_prefix(*n);
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the coordinator reads nothing";
        if (*n == 0) fixture->loop->run_once(5ms);
    }
}

void FakePeer::start_tls() {
    // The coordinator runs on this thread: the handshake must never block.
    ASSERT_TRUE(sys::set_nonblocking(fd.get()));
    auto context = tls::control_client_context();
    ASSERT_TRUE(context) << context.error().message();
    auto stream = tls::control_client_stream(*context, fd.get(), "127.0.0.1", "the coordinator");
    ASSERT_TRUE(stream) << stream.error().message();
    auto deadline = std::chrono::steady_clock::now() + 3s;
    for (;;) {
        auto step = (*stream)->handshake();
        ASSERT_TRUE(step) << step.error().message();
        if (*step == msg::SecureStream::Step::kDone) break;
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "no TLS handshake";
        fixture->loop->run_once(5ms);
    }
    secure = std::move(*stream);
}

std::optional<json> FakePeer::next(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto m = reader.next();
        if (!m) return std::nullopt;
        if (*m) return std::move(**m);
        if (closed || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        fixture->loop->run_once(5ms);
        pollfd p{fd.get(), POLLIN, 0};
        if (::poll(&p, 1, 0) > 0 || (secure && secure->has_pending())) {
            char buffer[65536];
            if (secure) {
                auto n = secure->read(buffer, sizeof buffer);
                if (!n || (*n && **n == 0)) {
                    closed = true;
                } else if (*n) {
                    reader.feed(std::string_view(buffer, **n));
                }
                continue;
            }
            ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
            if (n <= 0) {
                closed = true;
            } else {
                reader.feed(std::string_view(buffer, static_cast<size_t>(n)));
            }
        }
    }
}

const char* kTwoMachineFlow = R"(
nodes:
  - id: sensor
    path: sensor.py
    _unstable_deploy: {machine: edge1}
    outputs: [reading]
  - id: aggregator
    path: aggregator.py
    deploy: {machine: cloud}
    inputs: {reading: sensor/reading}
)";

std::string start_flow(FakePeer& cli, const std::string& yaml, const std::string& name = "",
                       bool attach = true) {
    cli.send(
        msg::make(msg::CliStart{yaml, "/flows/flow.yml", name, attach, "cli-machine", {}, false}));
    auto reply = cli.next();
    if (!reply || (*reply)["type"] != msg::StartTriggered::kType) {
        ADD_FAILURE() << "no start_triggered: " << reply.value_or(json()).dump();
        return {};
    }
    return (*reply)["dataflow_id"];
}

// Starts kTwoMachineFlow from `cli` and has edge1 and cloud prepare it; "" if it did not spawn.
std::string spawn_two_machine_flow(FakePeer& cli, FakePeer& edge, FakePeer& cloud) {
    std::string id = start_flow(cli, kTwoMachineFlow);
    edge.send(msg::make(msg::DataflowPrepared{id, true, ""}));
    cloud.send(msg::make(msg::DataflowPrepared{id, true, ""}));
    return cloud.next_of(msg::SpawnDataflow::kType) ? id : std::string();
}

// --- hello and authentication ---

TEST_F(Fixture, LoopbackPeerWithoutTokenIsWelcomed) {
    auto peer = hello(Coordinator::Port::kControl);
    EXPECT_EQ(peer->next().value_or(json())["type"], msg::Welcome::kType);
}

TEST_F(Fixture, RemotePeerWithoutTokenIsToldHowToConfigureOne) {
    auto peer = hello(Coordinator::Port::kControl, std::nullopt, /*loopback=*/false);
    auto reply = peer->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["type"], msg::ErrorMessage::kType);
    std::string text = (*reply)["message"];
    EXPECT_NE(text.find("protected mode"), std::string::npos) << text;
    EXPECT_NE(text.find("DORA_TOKEN"), std::string::npos) << text;
    EXPECT_TRUE(peer->wait_closed());
}

TEST_F(Fixture, RemotePeerWithTheRightTokenIsWelcomedWithTheCoordinatorsProof) {
    make("secret");
    auto peer = hello(Coordinator::Port::kControl, "secret", /*loopback=*/false);
    auto welcome = peer->next();
    ASSERT_TRUE(welcome);
    EXPECT_EQ((*welcome)["type"], msg::Welcome::kType);
    // The coordinator proves the token over this connection's nonces and TLS session, as the CLI
    // it is.
    const std::string binding = peer->binding();
    ASSERT_EQ(binding.size(), 64u);
    const msg::HelloNonces nonces{peer->server_nonce, peer->client_nonce, "cli", binding};
    EXPECT_EQ((*welcome)["proof"], msg::coordinator_proof("secret", nonces));
    EXPECT_NE((*welcome)["proof"], msg::client_proof("secret", nonces));
}

TEST_F(Fixture, AProofForAnotherConnectionsNoncesIsRejected) {
    make("secret");
    auto peer = connect(Coordinator::Port::kControl);
    auto challenge = peer->next();  // this connection's, ignored: replaying another's proof
    ASSERT_TRUE(challenge);
    peer->start_tls();
    peer->send_cli_hello(msg::random_hex32(), peer->binding());
    auto reply = peer->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["type"], msg::ErrorMessage::kType);
    EXPECT_NE((*reply)["message"].get<std::string>().find("does not match"), std::string::npos);
    EXPECT_TRUE(peer->wait_closed());
}

TEST_F(Fixture, AProofForAnotherTlsSessionIsRejected) {
    // A party in the middle runs one TLS session with the client and one with the coordinator:
    // the client's proof covers the first session's binding and fails on the second.
    make("secret");
    auto peer = connect(Coordinator::Port::kControl);
    auto challenge = peer->next();
    ASSERT_TRUE(challenge);
    peer->start_tls();
    peer->send_cli_hello((*challenge)["nonce"].get<std::string>(), std::string(64, 'a'));
    auto reply = peer->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["type"], msg::ErrorMessage::kType);
    EXPECT_NE((*reply)["message"].get<std::string>().find("does not match"), std::string::npos);
    EXPECT_TRUE(peer->wait_closed());
}

TEST_F(Fixture, WithATokenTheChallengeAnnouncesTlsAndAPlainHelloIsNotRead) {
    make("secret");
    auto peer = connect(Coordinator::Port::kControl);
    auto challenge = peer->next();
    ASSERT_TRUE(challenge);
    EXPECT_TRUE((*challenge)["tls"].get<bool>());
    EXPECT_TRUE((*challenge)["token_required"].get<bool>());
    // Sent in the clear instead of a TLS handshake.
    peer->send_cli_hello((*challenge)["nonce"].get<std::string>(), "");
    EXPECT_FALSE(peer->next());  // no Welcome, nothing: the connection just ends
    EXPECT_TRUE(peer->wait_closed());
}

TEST_F(Fixture, WithoutATokenTheConnectionStaysPlain) {
    auto peer = connect(Coordinator::Port::kControl);
    auto challenge = peer->next();
    ASSERT_TRUE(challenge);
    EXPECT_FALSE((*challenge)["tls"].get<bool>());
}

TEST_F(Fixture, WrongTokenIsRejected) {
    make("secret");
    auto peer = hello(Coordinator::Port::kControl, "guess");
    auto reply = peer->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["type"], msg::ErrorMessage::kType);
    EXPECT_NE((*reply)["message"].get<std::string>().find("does not match"), std::string::npos);
    EXPECT_TRUE(peer->wait_closed());
}

TEST_F(Fixture, MissingTokenIsRejectedByATokenProtectedCoordinator) {
    make("secret");
    auto peer = hello(Coordinator::Port::kDaemon);  // loopback, but no proof
    auto reply = peer->next();
    ASSERT_TRUE(reply);
    EXPECT_NE((*reply)["message"].get<std::string>().find("requires a cluster token"),
              std::string::npos);
    EXPECT_TRUE(peer->wait_closed());
}

TEST_F(Fixture, ProtocolMismatchNamesBothVersions) {
    auto peer = hello(Coordinator::Port::kControl, std::nullopt, true, 99);
    auto reply = peer->next();
    ASSERT_TRUE(reply);
    std::string text = (*reply)["message"];
    EXPECT_NE(text.find(fmt::format("protocol {}", msg::kProtocolVersion)), std::string::npos)
        << text;
    EXPECT_NE(text.find("protocol 99"), std::string::npos) << text;
    EXPECT_NE(text.find("peer-version"), std::string::npos) << text;
    EXPECT_TRUE(peer->wait_closed());
}

TEST_F(Fixture, DaemonOnTheControlPortIsSentToTheDaemonPort) {
    auto peer = connect(Coordinator::Port::kControl);
    ASSERT_TRUE(peer->next());
    msg::Hello h;
    h.role = "daemon";
    peer->send(msg::make(h));
    auto reply = peer->next();
    ASSERT_TRUE(reply);
    EXPECT_NE((*reply)["message"].get<std::string>().find("daemons connect"), std::string::npos);
}

TEST_F(Fixture, RequestBeforeHelloIsRefused) {
    auto peer = connect(Coordinator::Port::kControl);
    ASSERT_TRUE(peer->next());
    peer->send(msg::make(msg::CliList{}));
    auto reply = peer->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["type"], msg::ErrorMessage::kType);
    EXPECT_TRUE(peer->wait_closed());
}

TEST_F(Fixture, AnUnknownMessageTypeIsAProtocolErrorNamingBothVersions) {
    auto d = daemon("edge1");
    d->send(msg::with_type("daemon.teleport", {}));
    auto reply = d->next_of(msg::ErrorMessage::kType);
    ASSERT_TRUE(reply);
    const std::string text = (*reply)["message"];
    EXPECT_NE(text.find("daemon.teleport"), std::string::npos) << text;
    EXPECT_NE(text.find("peer-version"), std::string::npos) << text;  // the daemon's version
    EXPECT_NE(text.find("test"), std::string::npos) << text;          // the coordinator's
    EXPECT_TRUE(d->wait_closed());
}

TEST_F(Fixture, HostileFramesCloseOnlyThatConnection) {
    auto good = cli();
    for (std::string bytes :
         {std::string("\xff\xff\xff\x7f", 4), std::string("\x05\x00\x00\x00hello", 9),
          std::string("\x02\x00\x00\x00[]", 6), std::string(70000, 'a')}) {
        auto bad = connect(Coordinator::Port::kControl);
        ASSERT_TRUE(bad->next());
        bad->send_raw(bytes);
        EXPECT_TRUE(bad->wait_closed()) << bytes.substr(0, 8);
    }
    good->send(msg::make(msg::CliList{}));
    EXPECT_TRUE(good->next_of(msg::DataflowList::kType));
}

TEST_F(Fixture, SilentPeerIsClosedAfterTheHelloTimeout) {
    make(std::nullopt, [](CoordinatorOptions& o) { o.hello_timeout = 50ms; });
    auto peer = connect(Coordinator::Port::kControl);
    EXPECT_TRUE(peer->wait_closed());
}

// --- daemon registry ---

TEST_F(Fixture, DuplicateMachineIdIsRefusedNamingIt) {
    auto first = daemon("edge1");
    auto second = hello(Coordinator::Port::kDaemon);
    ASSERT_TRUE(second->next());  // welcome
    second->send(msg::make(msg::DaemonRegister{"edge1", {}, {}, {}, {}, "", stream_end_key("x")}));
    auto reply = second->next_of(msg::ErrorMessage::kType);
    ASSERT_TRUE(reply);
    EXPECT_NE((*reply)["message"].get<std::string>().find("`edge1`"), std::string::npos);
    EXPECT_TRUE(second->wait_closed());
}

TEST_F(Fixture, ADaemonWithoutAStreamEndKeyIsRefusedSayingWhatToDo) {
    for (const std::string& key : {std::string(), std::string("zz"), std::string(64, 'g')}) {
        auto peer = hello(Coordinator::Port::kDaemon);
        ASSERT_TRUE(peer->next());  // welcome
        peer->send(msg::make(msg::DaemonRegister{"edge1", {}, {}, {}, {}, "", key}));
        auto reply = peer->next_of(msg::ErrorMessage::kType);
        ASSERT_TRUE(reply) << key;
        const auto text = (*reply)["message"].get<std::string>();
        EXPECT_NE(text.find("no valid key for the ends of its output streams"), std::string::npos)
            << text;
        EXPECT_NE(text.find("same dora version"), std::string::npos) << text;
        EXPECT_TRUE(peer->wait_closed());
    }
    // None of them took the machine id: a daemon with a key registers as edge1.
    auto good = daemon("edge1");
    EXPECT_FALSE(good->next_of(msg::ErrorMessage::kType, 100ms));
}

TEST_F(Fixture, EveryDaemonLearnsTheOthersEndpoints) {
    auto edge = daemon("edge1");
    auto cloud = daemon("cloud");
    auto peers = edge->next_of(msg::Peers::kType);
    ASSERT_TRUE(peers);
    auto parsed = msg::parse_as<msg::Peers>(*peers);
    ASSERT_EQ(parsed->peers.size(), 1u);
    EXPECT_EQ(parsed->peers[0].machine_id, "cloud");
    EXPECT_EQ(parsed->peers[0].zenoh_endpoints, std::vector<std::string>{"tcp/127.0.0.1:7000"});
}

TEST_F(Fixture, SilentDaemonIsMarkedDisconnectedAndComesBackByRegistering) {
    make(std::nullopt, [](CoordinatorOptions& o) {
        o.heartbeat_interval = 20ms;
        o.daemon_timeout = 100ms;
    });
    auto edge = daemon("edge1");
    EXPECT_TRUE(edge->next_of(msg::CoordinatorHeartbeat::kType));
    EXPECT_TRUE(edge->wait_closed());
    auto daemons = list().daemons;
    ASSERT_EQ(daemons.size(), 1u);
    EXPECT_FALSE(daemons[0].connected);
    auto again = daemon("edge1");
    EXPECT_TRUE(list().daemons[0].connected);
}

// --- dataflows ---

TEST_F(Fixture, StartNamesAMachineWithoutDaemonAndTheConnectedOnes) {
    auto cloud = daemon("cloud");
    auto c = cli();
    c->send(msg::make(msg::CliStart{kTwoMachineFlow, "/f.yml", "", true, "", {}, false}));
    auto reply = c->next();
    ASSERT_TRUE(reply);
    ASSERT_EQ((*reply)["type"], msg::ErrorMessage::kType);
    std::string text = (*reply)["message"];
    EXPECT_NE(text.find("machine `edge1`"), std::string::npos) << text;
    EXPECT_NE(text.find("connected daemons: `cloud`"), std::string::npos) << text;
    EXPECT_FALSE(cloud->next_of(msg::PrepareDataflow::kType, 100ms));
}

TEST_F(Fixture, InvalidDataflowIsRejectedBeforeAnythingIsSent) {
    auto d = daemon("");
    auto c = cli();
    c->send(msg::make(
        msg::CliStart{"nodes:\n  - id: a\n    pathh: x\n", "/f.yml", "", true, "", {}, false}));
    auto reply = c->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["type"], msg::ErrorMessage::kType);
    EXPECT_NE((*reply)["message"].get<std::string>().find("pathh"), std::string::npos);
}

TEST_F(Fixture, TwoPhaseStartSpawnsOnlyOnceEveryDaemonIsPrepared) {
    auto edge = daemon("edge1");
    auto cloud = daemon("cloud");
    auto c = cli();
    std::string id = start_flow(*c, kTwoMachineFlow, "sensors");
    auto prepare = edge->next_of(msg::PrepareDataflow::kType);
    ASSERT_TRUE(prepare);
    EXPECT_EQ((*prepare)["dataflow_id"], id);
    EXPECT_EQ((*prepare)["cli_machine"], "cli-machine");
    // Every daemon of the dataflow learns every machine's key for the ends of its streams.
    const json keys = {{"cloud", stream_end_key("cloud")}, {"edge1", stream_end_key("edge1")}};
    EXPECT_EQ((*prepare)["stream_end_keys"], keys);
    auto cloud_prepare = cloud->next_of(msg::PrepareDataflow::kType);
    ASSERT_TRUE(cloud_prepare);
    EXPECT_EQ((*cloud_prepare)["stream_end_keys"], keys);

    edge->send(msg::make(msg::DataflowPrepared{id, true, ""}));
    EXPECT_FALSE(edge->next_of(msg::SpawnDataflow::kType, 100ms));
    cloud->send(msg::make(msg::DataflowPrepared{id, true, ""}));
    EXPECT_TRUE(edge->next_of(msg::SpawnDataflow::kType));
    EXPECT_TRUE(cloud->next_of(msg::SpawnDataflow::kType));

    edge->send(msg::make(msg::DaemonLog{{id, "sensor", "", "stdout", "reading 1"}}));
    auto log = c->next_of(msg::LogEvent::kType);
    ASSERT_TRUE(log);
    EXPECT_EQ((*log)["log"]["machine_id"], "edge1");
    EXPECT_EQ((*log)["log"]["line"], "reading 1");

    // Drops so far, live: `dora list` shows each machine's latest counts.
    edge->send(msg::make(msg::DataflowDrops{id, {{msg::kDropEgress, "", "sensor", "reading", 4}}}));
    edge->send(msg::make(msg::DataflowDrops{id, {{msg::kDropEgress, "", "sensor", "reading", 5}}}));
    // The edge's messages and this list travel on different connections: ask until it shows.
    uint64_t live = 0;
    for (auto deadline = std::chrono::steady_clock::now() + 5s;
         live != 5 && std::chrono::steady_clock::now() < deadline;) {
        auto flows = list().dataflows;
        live = flows.size() == 1 ? msg::total_dropped(flows[0].drops) : 0;
    }
    EXPECT_EQ(live, 5u);
    EXPECT_EQ(list().dataflows[0].drops[0].machine_id, "edge1");

    edge->send(msg::make(
        msg::DataflowFinishedOnMachine{id,
                                       {{"sensor", "", true, "exited with status 0", false, {}}},
                                       {{msg::kDropEgress, "", "sensor", "reading", 6}}}));
    cloud->send(msg::make(msg::DataflowFinishedOnMachine{
        id,
        {{"aggregator", "", true, "exited with status 0", false, {}}},
        {{msg::kDropInputQueue, "", "aggregator", "reading", 2}}}));
    auto result = c->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_TRUE((*result)["success"]);  // drops fail only a strict dataflow
    EXPECT_EQ((*result)["results"].size(), 2u);
    auto drops = (*result)["drops"].get<std::vector<msg::DropCount>>();
    EXPECT_EQ(msg::finished_line(drops),
              "finished with 8 message(s) dropped (egress 6, link 0, ingress 0, input queue 2)");
    auto dataflows = list().dataflows;
    ASSERT_EQ(dataflows.size(), 1u);
    EXPECT_EQ(dataflows[0].status, "finished");
    EXPECT_EQ(dataflows[0].name, "sensors");
    EXPECT_EQ(msg::total_dropped(dataflows[0].drops), 8u);
}

TEST_F(Fixture, StrictDataflowThatDroppedFails) {
    auto d = daemon("");
    auto c = cli();
    std::string id = start_flow(*c, "strict: true\nnodes:\n  - id: a\n    path: a.py\n");
    d->send(msg::make(msg::DataflowPrepared{id, true, ""}));
    ASSERT_TRUE(d->next_of(msg::SpawnDataflow::kType));
    d->send(msg::make(
        msg::DataflowFinishedOnMachine{id,
                                       {{"a", "", true, "exited with status 0", false, {}}},
                                       {{msg::kDropInputQueue, "", "a", "in", 1}}}));
    auto result = c->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_FALSE((*result)["success"]);
    EXPECT_EQ(list().dataflows[0].status, "failed");
}

TEST_F(Fixture, FailedNodeMakesTheResultAFailure) {
    auto d = daemon("");
    auto c = cli();
    std::string id = start_flow(*c, "nodes:\n  - id: a\n    path: a.py\n");
    d->send(msg::make(msg::DataflowPrepared{id, true, ""}));
    ASSERT_TRUE(d->next_of(msg::SpawnDataflow::kType));
    d->send(msg::make(msg::DataflowFinishedOnMachine{
        id, {{"a", "", false, "exited with status 3", false, {"boom"}}}, {}}));
    auto result = c->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_FALSE((*result)["success"]);
    EXPECT_EQ(list().dataflows[0].status, "failed");
}

TEST_F(Fixture, PrepareFailureStopsTheOthersAndEndsTheDataflowWithTheError) {
    auto edge = daemon("edge1");
    auto cloud = daemon("cloud");
    auto c = cli();
    std::string id = start_flow(*c, kTwoMachineFlow);
    edge->send(msg::make(msg::DataflowPrepared{id, true, ""}));
    cloud->send(msg::make(msg::DataflowPrepared{id, false, "aggregator.py: no such file"}));
    auto result = c->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_FALSE((*result)["success"]);
    EXPECT_NE((*result)["error"].get<std::string>().find("no such file"), std::string::npos);
    EXPECT_TRUE(edge->next_of(msg::StopDataflow::kType));
    EXPECT_FALSE(edge->next_of(msg::SpawnDataflow::kType, 100ms));
}

TEST_F(Fixture, StopByNameWaitsForTheResult) {
    auto d = daemon("");
    auto starter = cli();
    std::string id = start_flow(*starter, "nodes:\n  - id: a\n    path: a.py\n", "flow", false);
    d->send(msg::make(msg::DataflowPrepared{id, true, ""}));
    ASSERT_TRUE(d->next_of(msg::SpawnDataflow::kType));
    auto stopper = cli();
    msg::CliStop stop;
    stop.name = "flow";
    stop.grace_ms = 2000;
    stopper->send(msg::make(stop));
    auto sent = d->next_of(msg::StopDataflow::kType);
    ASSERT_TRUE(sent);
    EXPECT_EQ((*sent)["grace_ms"], 2000);
    EXPECT_EQ(list().dataflows[0].status, "stopping");
    d->send(msg::make(msg::DataflowFinishedOnMachine{id, {{"a", "", true, "ok", false, {}}}, {}}));
    auto result = stopper->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_EQ((*result)["dataflow_id"], id);
}

TEST_F(Fixture, StopWithoutIdNeedsExactlyOneRunningDataflow) {
    auto c = cli();
    c->send(msg::make(msg::CliStop{}));
    auto reply = c->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["message"], "no dataflow is running");
}

TEST_F(Fixture, NameMustBeUniqueAmongRunningDataflows) {
    auto d = daemon("");
    auto c = cli();
    start_flow(*c, "nodes:\n  - id: a\n    path: a.py\n", "same", false);
    c->send(msg::make(msg::CliStart{
        "nodes:\n  - id: a\n    path: a.py\n", "/f.yml", "same", false, "", {}, false}));
    auto reply = c->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["type"], msg::ErrorMessage::kType);
    EXPECT_NE((*reply)["message"].get<std::string>().find("`same`"), std::string::npos);
}

TEST_F(Fixture, CliThatLeavesMidAttachIsDroppedAndTheDataflowRuns) {
    auto d = daemon("");
    std::string id;
    {
        auto c = cli();
        id = start_flow(*c, "nodes:\n  - id: a\n    path: a.py\n");
    }
    d->send(msg::make(msg::DataflowPrepared{id, true, ""}));
    ASSERT_TRUE(d->next_of(msg::SpawnDataflow::kType));
    d->send(msg::make(msg::DaemonLog{{id, "a", "", "stdout", "still here"}}));
    EXPECT_EQ(list().dataflows[0].status, "running");
}

TEST_F(Fixture, LogsAskTheDaemonThatRanTheNodeAndFollowStreams) {
    auto edge = daemon("edge1");
    auto cloud = daemon("cloud");
    auto starter = cli();
    std::string id = start_flow(*starter, kTwoMachineFlow, "", false);
    edge->send(msg::make(msg::DataflowPrepared{id, true, ""}));
    cloud->send(msg::make(msg::DataflowPrepared{id, true, ""}));
    ASSERT_TRUE(edge->next_of(msg::SpawnDataflow::kType));

    auto c = cli();
    c->send(msg::make(msg::CliLogs{"", "sensor", true}));
    auto read = edge->next_of(msg::ReadLogs::kType);
    ASSERT_TRUE(read);
    EXPECT_EQ((*read)["node_id"], "sensor");
    edge->send(msg::make(msg::DaemonLogsReply{(*read)["request_id"], "line 1\n", "", {}}));
    auto reply = c->next_of(msg::LogsReply::kType);
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["content"], "line 1\n");
    EXPECT_EQ((*reply)["machine_id"], "edge1");
    edge->send(msg::make(msg::DaemonLog{{id, "sensor", "", "stdout", "line 2"}}));
    auto event = c->next_of(msg::LogEvent::kType);
    ASSERT_TRUE(event);
    EXPECT_EQ((*event)["log"]["line"], "line 2");
    edge->send(msg::make(msg::DataflowFinishedOnMachine{id, {}, {}}));
    cloud->send(msg::make(msg::DataflowFinishedOnMachine{id, {}, {}}));
    EXPECT_TRUE(c->next_of(msg::DataflowResult::kType));
}

// --- node stats (`dora node list`, `dora top`) ---

msg::NodeStats running_node(const std::string& id, int64_t pid) {
    msg::NodeStats node;
    node.node_id = id;
    node.status = msg::kNodeRunning;
    node.pid = pid;
    node.measured = true;
    node.cpu_percent = 12.5;
    return node;
}

// A two-machine dataflow running, a CLI that asked for its node stats, and the request both
// daemons got; edge1 answered with its sensor running.
struct StatsAsked {
    std::unique_ptr<FakePeer> edge, cloud, starter, cli;
    std::string id;
    uint64_t request_id = 0;
};

StatsAsked ask_node_stats(Fixture& f, const std::string& dataflow) {
    StatsAsked s{f.daemon("edge1"), f.daemon("cloud"), f.cli(), nullptr, "", 0};
    s.id = spawn_two_machine_flow(*s.starter, *s.edge, *s.cloud);
    EXPECT_FALSE(s.id.empty());
    s.cli = f.cli();
    s.cli->send(msg::make(msg::CliNodeStats{dataflow == "<id>" ? s.id : dataflow}));
    auto read = s.edge->next_of(msg::ReadStats::kType);
    EXPECT_TRUE(read);
    EXPECT_TRUE(s.cloud->next_of(msg::ReadStats::kType));
    if (read) {
        EXPECT_EQ((*read)["dataflow_ids"], json::array({s.id}));
        s.request_id = (*read)["request_id"];
    }
    msg::DaemonStats answer;
    answer.request_id = s.request_id;
    answer.dataflows.push_back({s.id, {running_node("sensor", 4321)}});
    s.edge->send(msg::make(answer));
    return s;
}

msg::NodeStatsReply node_stats_reply(FakePeer& c, std::chrono::milliseconds timeout = 3000ms) {
    auto reply = c.next_of(msg::NodeStatsReply::kType, timeout);
    EXPECT_TRUE(reply);
    return reply ? *msg::parse_as<msg::NodeStatsReply>(*reply) : msg::NodeStatsReply{};
}

TEST_F(Fixture, NodeStatsAskEveryMachineAndShowTheSilentOnesNodesAsNotAnswering) {
    make({}, [](CoordinatorOptions& o) { o.stats_timeout = 300ms; });
    const auto asked_at = std::chrono::steady_clock::now();
    auto s = ask_node_stats(*this, "");  // cloud never answers

    auto reply = node_stats_reply(*s.cli);
    EXPECT_GE(std::chrono::steady_clock::now() - asked_at, 300ms) << "did not wait for cloud";
    ASSERT_EQ(reply.dataflows.size(), 1u);
    const auto& flow = reply.dataflows[0];
    EXPECT_EQ(flow.id, s.id);
    EXPECT_EQ(flow.status, "running");
    ASSERT_EQ(flow.nodes.size(), 2u);
    std::map<std::string, msg::NodeStats> by_id;
    for (const auto& n : flow.nodes) by_id[n.node_id] = n;
    EXPECT_EQ(by_id["sensor"].pid, 4321);
    EXPECT_EQ(by_id["sensor"].machine_id, "edge1");
    EXPECT_EQ(by_id["aggregator"].status, msg::kNodeNoAnswer);
    EXPECT_EQ(by_id["aggregator"].machine_id, "cloud");
    std::map<std::string, msg::MachineAnswer> answers;
    for (const auto& a : flow.machines) answers[a.machine_id] = a;
    EXPECT_EQ(answers["edge1"].state, msg::kAnswered);
    EXPECT_GT(answers["edge1"].answer_us, 0);
    EXPECT_EQ(answers["cloud"].state, msg::kNoAnswer);

    // Its late answer changes nothing and breaks nothing.
    msg::DaemonStats late;
    late.request_id = s.request_id;
    s.cloud->send(msg::make(late));
    s.cli->send(msg::make(msg::CliList{}));
    EXPECT_TRUE(s.cli->next_of(msg::DataflowList::kType));
}

TEST_F(Fixture, NodeStatsReplyAtOnceWhenTheLastSilentDaemonDisconnects) {
    make({}, [](CoordinatorOptions& o) { o.stats_timeout = 30s; });
    auto s = ask_node_stats(*this, "<id>");
    s.cloud.reset();  // its daemon goes away
    auto reply = node_stats_reply(*s.cli, 5000ms);
    ASSERT_EQ(reply.dataflows.size(), 1u);
    for (const auto& n : reply.dataflows[0].nodes) {
        EXPECT_EQ(n.status, n.node_id == "sensor" ? msg::kNodeRunning : msg::kNodeLost)
            << n.node_id;
    }
}

TEST_F(Fixture, NodeStatsOfAFinishedDataflowComeFromItsResultsAndUnknownNamesAreErrors) {
    auto edge = daemon("edge1");
    auto cloud = daemon("cloud");
    auto starter = cli();
    std::string id = spawn_two_machine_flow(*starter, *edge, *cloud);
    ASSERT_FALSE(id.empty());
    msg::NodeResultInfo sensor{"sensor", "edge1", false, "exited with status 3", false, {}, 3};
    msg::NodeResultInfo aggregator{"aggregator", "cloud", true, "exited with status 0",
                                   false,        {},      0};
    edge->send(msg::make(msg::DataflowFinishedOnMachine{id, {sensor}, {}}));
    cloud->send(msg::make(msg::DataflowFinishedOnMachine{id, {aggregator}, {}}));
    ASSERT_TRUE(starter->next_of(msg::DataflowResult::kType));

    auto c = cli();
    c->send(msg::make(msg::CliNodeStats{id}));
    auto reply = node_stats_reply(*c);
    ASSERT_EQ(reply.dataflows.size(), 1u);
    EXPECT_EQ(reply.dataflows[0].status, "failed");
    for (const auto& n : reply.dataflows[0].nodes) {
        EXPECT_EQ(n.status, msg::kNodeExited);
        EXPECT_EQ(n.exit_code, n.node_id == "sensor" ? 3 : 0);
    }
    EXPECT_FALSE(edge->next_of(msg::ReadStats::kType, 300ms))
        << "a finished dataflow's daemons are not asked";

    c->send(msg::make(msg::CliNodeStats{"nope"}));
    auto error = c->next_of(msg::ErrorMessage::kType);
    ASSERT_TRUE(error);
    EXPECT_NE((*error)["message"].get<std::string>().find("no dataflow with id or name `nope`"),
              std::string::npos);
    c->send(msg::make(msg::CliNodeStats{""}));  // none running: an empty answer
    EXPECT_TRUE(node_stats_reply(*c).dataflows.empty());
}

TEST_F(Fixture, BuildIsRelayedToTheDaemonsWithBuildCommands) {
    auto edge = daemon("edge1");
    auto cloud = daemon("cloud");
    auto c = cli();
    c->send(msg::make(msg::CliBuild{R"(
nodes:
  - id: sensor
    path: sensor
    build: make sensor
    deploy: {machine: edge1}
  - id: other
    path: other.py
    deploy: {machine: cloud}
)",
                                    "/f.yml", "m", nullptr, ""}));
    auto build = edge->next_of(msg::BuildNodes::kType);
    ASSERT_TRUE(build);
    EXPECT_FALSE(cloud->next_of(msg::BuildNodes::kType, 100ms));
    uint64_t request = (*build)["request_id"];
    edge->send(msg::make(msg::DaemonBuildOutput{request, "sensor", "cc -o sensor"}));
    auto output = c->next_of(msg::BuildOutput::kType);
    ASSERT_TRUE(output);
    EXPECT_EQ((*output)["machine_id"], "edge1");
    edge->send(msg::make(msg::DaemonBuildResult{request, false, "sensor: exited with 2"}));
    auto result = c->next_of(msg::BuildResult::kType);
    ASSERT_TRUE(result);
    EXPECT_FALSE((*result)["success"]);
    EXPECT_NE((*result)["message"].get<std::string>().find("exited with 2"), std::string::npos);
}

TEST_F(Fixture, BuildFilesTravelToTheBuildingDaemonAndARefusedChunkFailsTheBuild) {
    auto edge = daemon("edge1");
    auto c = cli();
    const std::string sha(64, 'a');
    const json files = {
        {"files",
         json::array(
             {{{"path", "src/a.c"}, {"sha256", sha}, {"size", 3}, {"executable", false}}})}};
    c->send(msg::make(msg::CliBuild{R"(
nodes:
  - id: sensor
    path: sensor
    build: cc -o sensor src/a.c
    deploy: {machine: edge1}
)",
                                    "/f.yml", "m", files, "transfer-1"}));
    auto build = edge->next_of(msg::BuildNodes::kType);
    ASSERT_TRUE(build);
    EXPECT_EQ((*build)["transfer"], "transfer-1");
    EXPECT_EQ((*build)["files"], files);
    edge->send(msg::make(msg::FilesNeeded{"transfer-1", {sha}, false}));
    auto send = c->next_of(msg::SendFiles::kType);
    ASSERT_TRUE(send);
    EXPECT_EQ((*send)["transfer"], "transfer-1");
    EXPECT_EQ((*send)["sha256"], json::array({sha}));
    EXPECT_EQ((*send)["machines"], json::array({"edge1"}));
    c->send(msg::make(msg::CliFileChunk{"transfer-1", sha, 0, "YWJj"}));
    auto chunk = edge->next_of(msg::FileChunk::kType);
    ASSERT_TRUE(chunk);
    EXPECT_EQ((*chunk)["data"], "YWJj");
    edge->send(msg::make(msg::FileChunkStored{"transfer-1", sha, 0, "no space left"}));
    auto ack = c->next_of(msg::FileChunkAck::kType);
    ASSERT_TRUE(ack);
    EXPECT_EQ((*ack)["error"], "machine `edge1`: no space left");
    auto result = c->next_of(msg::BuildResult::kType);
    ASSERT_TRUE(result);
    EXPECT_FALSE((*result)["success"]);
    EXPECT_NE((*result)["message"].get<std::string>().find("machine `edge1`: no space left"),
              std::string::npos);
    // The daemon drops the transfer; a later chunk of it is refused.
    auto stop = edge->next_of(msg::StopDataflow::kType);
    ASSERT_TRUE(stop);
    EXPECT_EQ((*stop)["dataflow_id"], "transfer-1");
    c->send(msg::make(msg::CliFileChunk{"transfer-1", sha, 3, ""}));
    auto refused = c->next_of(msg::FileChunkAck::kType);
    ASSERT_TRUE(refused);
    EXPECT_NE((*refused)["error"].get<std::string>().find("is not waiting for files"),
              std::string::npos);
}

TEST_F(Fixture, CheckNamesMissingMachines) {
    auto cloud = daemon("cloud");
    auto c = cli();
    c->send(msg::make(msg::CliCheck{kTwoMachineFlow, "/f.yml"}));
    auto reply = c->next();
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["type"], msg::ErrorMessage::kType);
    EXPECT_NE((*reply)["message"].get<std::string>().find("`edge1`"), std::string::npos);
    c->send(msg::make(msg::CliCheck{}));
    EXPECT_EQ(c->next().value_or(json())["type"], msg::Done::kType);
}

TEST_F(Fixture, ReconnectingDaemonKeepsItsDataflowAndLostOnesFinish) {
    auto edge = daemon("edge1");
    auto cloud = daemon("cloud");
    auto c = cli();
    std::string id = spawn_two_machine_flow(*c, *edge, *cloud);
    ASSERT_FALSE(id.empty());
    edge.reset();  // connection drops; edge1 comes back still running it
    edge = daemon("edge1", {id});
    EXPECT_EQ(list().dataflows[0].status, "running");
    cloud.reset();  // cloud comes back without it: its nodes are lost
    cloud = daemon("cloud", {});
    edge->send(msg::make(msg::DataflowFinishedOnMachine{id, {}, {}}));
    auto result = c->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_FALSE((*result)["success"]);
}

TEST_F(Fixture, StopCompletesWhenAMachinesDaemonIsGoneAndStopsItIfItReturns) {
    auto edge = daemon("edge1");
    auto cloud = daemon("cloud");
    auto c = cli();
    std::string id = spawn_two_machine_flow(*c, *edge, *cloud);
    ASSERT_FALSE(id.empty());
    edge.reset();  // edge1's daemon dies
    auto stopper = cli();
    stopper->send(msg::make(msg::CliStop{}));
    ASSERT_TRUE(cloud->next_of(msg::StopDataflow::kType));
    cloud->send(msg::make(msg::DataflowFinishedOnMachine{id, {}, {}}));
    auto result = stopper->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result) << "the stop must not wait for the unreachable machine";
    EXPECT_FALSE((*result)["success"]);
    EXPECT_NE(result->dump().find("unreachable"), std::string::npos) << result->dump();
    // edge1 comes back still running it: it is told to stop.
    edge = daemon("edge1", {id});
    auto stop = edge->next_of(msg::StopDataflow::kType);
    ASSERT_TRUE(stop);
    EXPECT_EQ((*stop)["dataflow_id"], id);
}

// A started two-machine dataflow (sensor on edge1, aggregator on cloud) with `c` attached.
std::string running_two_machine_flow(FakePeer& c, FakePeer& edge, FakePeer& cloud) {
    std::string id = start_flow(c, kTwoMachineFlow);
    edge.send(msg::make(msg::DataflowPrepared{id, true, ""}));
    cloud.send(msg::make(msg::DataflowPrepared{id, true, ""}));
    EXPECT_TRUE(cloud.next_of(msg::SpawnDataflow::kType));
    return id;
}

// The next log line streamed to `c` that contains `text`.
std::optional<std::string> log_line_with(FakePeer& c, const std::string& text,
                                         std::chrono::milliseconds timeout = 3000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        auto m =
            c.next_of(msg::LogEvent::kType, std::chrono::duration_cast<std::chrono::milliseconds>(
                                                deadline - std::chrono::steady_clock::now()));
        if (!m) break;
        auto line = (*m)["log"]["line"].get<std::string>();
        if (line.find(text) != std::string::npos) return line;
    }
    return std::nullopt;
}

TEST_F(Fixture, SilentDaemonIsShownUnreachableThenReachableAgain) {
    make(std::nullopt, [](CoordinatorOptions& o) {
        o.heartbeat_interval = 20ms;
        o.unreachable_after = 150ms;
    });
    auto edge = daemon("edge1");
    auto cloud = daemon("cloud");
    auto c = cli();
    std::string id = running_two_machine_flow(*c, *edge, *cloud);
    auto lost = log_line_with(*c, "daemon `edge1` unreachable");
    ASSERT_TRUE(lost);
    EXPECT_NE(lost->find("(nodes sensor)"), std::string::npos) << *lost;
    auto daemons = list().daemons;
    ASSERT_EQ(daemons.size(), 2u);
    EXPECT_TRUE(daemons[1].connected);  // edge1 sorts after cloud
    EXPECT_TRUE(daemons[1].unreachable);
    edge->send(msg::make(msg::DaemonHeartbeat{}));
    auto back = log_line_with(*c, "daemon `edge1` is reachable again");
    ASSERT_TRUE(back);
    EXPECT_FALSE(list().daemons[1].unreachable);
}

TEST_F(Fixture, DaemonWhoseConnectionClosedLosesItsNodesForGoodAfterTheGrace) {
    make(std::nullopt, [](CoordinatorOptions& o) { o.gone_grace = 100ms; });
    auto edge = daemon("edge1");
    auto cloud = daemon("cloud");
    auto c = cli();
    std::string id = running_two_machine_flow(*c, *edge, *cloud);
    edge.reset();  // its process ended: the connection closes
    auto said = log_line_with(*c, "daemon `edge1` disconnected");
    ASSERT_TRUE(said);
    EXPECT_NE(said->find("(nodes sensor)"), std::string::npos) << *said;
    auto lost = cloud->next_of(msg::RemoteNodesLost::kType);
    ASSERT_TRUE(lost);
    auto parsed = msg::parse_as<msg::RemoteNodesLost>(*lost);
    EXPECT_EQ(parsed->dataflow_id, id);
    EXPECT_EQ(parsed->machine_id, "edge1");
    EXPECT_EQ(parsed->nodes, std::vector<std::string>{"sensor"});
}

TEST_F(Fixture, DaemonBackWithinTheGraceKeepsItsNodesConsumersInputsOpen) {
    make(std::nullopt, [](CoordinatorOptions& o) { o.gone_grace = 300ms; });
    auto edge = daemon("edge1");
    auto cloud = daemon("cloud");
    auto c = cli();
    std::string id = running_two_machine_flow(*c, *edge, *cloud);
    edge.reset();
    edge = daemon("edge1", {id});  // it closed a link it found silent; its nodes still run
    EXPECT_TRUE(log_line_with(*c, "daemon `edge1` is back"));
    EXPECT_FALSE(cloud->next_of(msg::RemoteNodesLost::kType, 800ms));
}

TEST_F(Fixture, DaemonRunningAnUnknownDataflowIsAdoptedAfterACoordinatorRestart) {
    auto edge = daemon("edge1", {"0190a1b2-0000-7000-8000-000000000001"});
    auto dataflows = list().dataflows;
    ASSERT_EQ(dataflows.size(), 1u);
    EXPECT_EQ(dataflows[0].status, "running");
    auto c = cli();
    c->send(msg::make(msg::CliStop{}));
    EXPECT_TRUE(edge->next_of(msg::StopDataflow::kType));
}

// --- after a coordinator restart ---

const char* kRecoveredId = "0190a1b2-0000-7000-8000-0000000000aa";

// A daemon that registers with a coordinator that restarted, then reports as a daemon does.
std::unique_ptr<FakePeer> returning_daemon(Fixture& f, const std::string& machine,
                                           std::vector<std::string> running,
                                           std::vector<std::string> finished = {},
                                           bool spawned = true) {
    auto peer = f.hello(Coordinator::Port::kDaemon);
    EXPECT_EQ(peer->next().value_or(json())["type"], msg::Welcome::kType);
    msg::DaemonRegister reg{machine, {"tcp/127.0.0.1:7000"}, running, {}, finished,
                            "",      stream_end_key(machine)};
    peer->send(msg::make(reg));
    for (const auto& id : running) {
        msg::PrepareDataflow started{id, "sensors", kTwoMachineFlow, "/flows/flow.yml", "cli", {},
                                     {}, {}};
        peer->send(msg::make(msg::DataflowRunning{started, spawned, {}}));
    }
    EXPECT_TRUE(peer->next_of(msg::Peers::kType));
    return peer;
}

// `dora list`'s one dataflow.
msg::DataflowInfo only_dataflow(Fixture& f) {
    auto dataflows = f.list().dataflows;
    EXPECT_EQ(dataflows.size(), 1u);
    return dataflows.empty() ? msg::DataflowInfo{} : dataflows[0];
}

// A CLI that re-attached to kRecoveredId (null when the coordinator did not confirm it).
std::unique_ptr<FakePeer> reattached_cli(Fixture& f) {
    auto c = f.cli();
    c->send(msg::make(msg::CliAttach{kRecoveredId}));
    return c->next_of(msg::Attached::kType) ? std::move(c) : nullptr;
}

msg::DataflowFinishedOnMachine finish_of(const std::string& node, bool success) {
    return {
        kRecoveredId,
        {{node, "", success, success ? "exited with status 0" : "exited with status 1", false, {}}},
        {}};
}

TEST_F(Fixture, AdoptedDataflowIsListedWithItsNameNodesAndMachines) {
    auto edge = returning_daemon(*this, "edge1", {kRecoveredId});
    auto dataflow = only_dataflow(*this);
    EXPECT_EQ(dataflow.name, "sensors");
    EXPECT_EQ(dataflow.status, "running");
    using Nodes = std::vector<std::pair<std::string, std::vector<std::string>>>;
    EXPECT_EQ(dataflow.nodes_per_machine,
              (Nodes{{"cloud", {"aggregator"}}, {"edge1", {"sensor"}}}));
}

TEST_F(Fixture, LogsOfAnAdoptedDataflowAskTheMachineThatRunsTheNode) {
    auto edge = returning_daemon(*this, "edge1", {kRecoveredId});
    auto cloud = returning_daemon(*this, "cloud", {kRecoveredId});
    auto c = cli();
    c->send(msg::make(msg::CliLogs{kRecoveredId, "aggregator", false}));
    auto read = cloud->next_of(msg::ReadLogs::kType);
    ASSERT_TRUE(read);
    cloud->send(
        msg::make(msg::DaemonLogsReply{(*read)["request_id"].get<uint64_t>(), "line 1\n", "", {}}));
    auto reply = c->next_of(msg::LogsReply::kType);
    ASSERT_TRUE(reply);
    EXPECT_EQ((*reply)["content"], "line 1\n");
}

TEST_F(Fixture, CliReattachesAndGetsTheAdoptedDataflowsOutputAndResult) {
    auto c = cli();
    c->send(msg::make(msg::CliAttach{kRecoveredId}));
    EXPECT_FALSE(c->next(100ms)) << "no daemon has reported it yet: the CLI waits";
    auto edge = returning_daemon(*this, "edge1", {kRecoveredId});
    auto attached = c->next_of(msg::Attached::kType);
    ASSERT_TRUE(attached);
    EXPECT_EQ((*attached)["dataflow_id"], kRecoveredId);
    auto cloud = returning_daemon(*this, "cloud", {kRecoveredId});
    edge->send(msg::make(msg::DaemonLog{{kRecoveredId, "sensor", "", "stdout", "reading 7"}}));
    auto log = c->next_of(msg::LogEvent::kType);
    ASSERT_TRUE(log);
    EXPECT_EQ((*log)["log"]["line"], "reading 7");
    edge->send(msg::make(finish_of("sensor", true)));
    EXPECT_FALSE(c->next_of(msg::DataflowResult::kType, 100ms)) << "cloud still runs it";
    cloud->send(msg::make(finish_of("aggregator", true)));
    auto result = c->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_TRUE((*result)["success"]);
    EXPECT_EQ((*result)["results"].size(), 2u);
}

TEST_F(Fixture, StopOfAnAdoptedDataflowReachesEveryMachine) {
    auto edge = returning_daemon(*this, "edge1", {kRecoveredId});
    auto cloud = returning_daemon(*this, "cloud", {kRecoveredId});
    auto c = cli();
    c->send(msg::make(msg::CliStop{"", "sensors", 2000}));
    EXPECT_TRUE(edge->next_of(msg::StopDataflow::kType));
    EXPECT_TRUE(cloud->next_of(msg::StopDataflow::kType));
    edge->send(msg::make(finish_of("sensor", true)));
    cloud->send(msg::make(finish_of("aggregator", true)));
    auto result = c->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_TRUE((*result)["success"]);
}

TEST_F(Fixture, AStopSoonAfterARestartWaitsForTheDaemonsNotBackYet) {
    auto edge = returning_daemon(*this, "edge1", {kRecoveredId});
    auto c = cli();
    c->send(msg::make(msg::CliStop{kRecoveredId, "", 2000}));
    EXPECT_TRUE(edge->next_of(msg::StopDataflow::kType));
    auto cloud = returning_daemon(*this, "cloud", {kRecoveredId});
    EXPECT_TRUE(cloud->next_of(msg::StopDataflow::kType)) << "cloud is stopped once it is back";
    edge->send(msg::make(finish_of("sensor", true)));
    cloud->send(msg::make(finish_of("aggregator", true)));
    auto result = c->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_TRUE((*result)["success"]) << result->dump();
}

TEST_F(Fixture, AStopAfterARestartCountsADaemonThatNeverComesBackAsLost) {
    make({}, [](CoordinatorOptions& o) { o.daemon_timeout = 300ms; });
    auto edge = returning_daemon(*this, "edge1", {kRecoveredId});
    auto c = cli();
    c->send(msg::make(msg::CliStop{kRecoveredId, "", 2000}));
    EXPECT_TRUE(edge->next_of(msg::StopDataflow::kType));
    edge->send(msg::make(finish_of("sensor", true)));
    auto result = c->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_FALSE((*result)["success"]);
    EXPECT_NE(result->dump().find("did not come back"), std::string::npos) << result->dump();
}

TEST_F(Fixture, AMachineThatFinishedBeforeTheRestartGivesItsResultAgain) {
    // cloud finished (its aggregator failed) before the coordinator restarted, and is back first.
    auto cloud = returning_daemon(*this, "cloud", {}, {kRecoveredId});
    cloud->send(msg::make(finish_of("aggregator", false)));
    auto edge = returning_daemon(*this, "edge1", {kRecoveredId});
    auto c = reattached_cli(*this);
    ASSERT_TRUE(c);
    edge->send(msg::make(finish_of("sensor", true)));
    auto result = c->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_FALSE((*result)["success"]);
    ASSERT_EQ((*result)["results"].size(), 2u);
    EXPECT_NE(result->dump().find("exited with status 1"), std::string::npos) << result->dump();
}

TEST_F(Fixture, AMachineThatFinishedComesBackAfterTheAdoptionWithItsResult) {
    auto edge = returning_daemon(*this, "edge1", {kRecoveredId});
    auto c = reattached_cli(*this);
    ASSERT_TRUE(c);
    auto cloud = returning_daemon(*this, "cloud", {}, {kRecoveredId});
    cloud->send(msg::make(finish_of("aggregator", true)));
    edge->send(msg::make(finish_of("sensor", true)));
    ASSERT_TRUE(c->next_of(msg::DataflowResult::kType));
    auto dataflow = only_dataflow(*this);
    EXPECT_EQ(dataflow.status, "finished");
    EXPECT_EQ(dataflow.results.size(), 2u);
}

TEST_F(Fixture, AMachineBackWithoutTheAdoptedDataflowCountsItsNodesAsLost) {
    auto cloud = returning_daemon(*this, "cloud", {});
    auto edge = returning_daemon(*this, "edge1", {kRecoveredId});
    auto c = reattached_cli(*this);
    ASSERT_TRUE(c);
    edge->send(msg::make(finish_of("sensor", true)));
    ASSERT_TRUE(c->next_of(msg::DataflowResult::kType));
    auto dataflow = only_dataflow(*this);
    EXPECT_EQ(dataflow.status, "failed");
    ASSERT_EQ(dataflow.results.size(), 2u);
    EXPECT_NE(dataflow.results[0].status.find("kept no result"), std::string::npos)
        << dataflow.results[0].status;
}

TEST_F(Fixture, AResultSentAgainAfterAReconnectCountsOnce) {
    auto edge = daemon("edge1");
    auto cloud = daemon("cloud");
    auto c = cli();
    std::string id = spawn_two_machine_flow(*c, *edge, *cloud);
    ASSERT_FALSE(id.empty());
    msg::DataflowFinishedOnMachine done{
        id, {{"sensor", "", true, "exited with status 0", false, {}}}, {}};
    edge->send(msg::make(done));
    edge.reset();  // edge1 reconnects and gives its result again
    edge = hello(Coordinator::Port::kDaemon);
    ASSERT_EQ(edge->next().value_or(json())["type"], msg::Welcome::kType);
    edge->send(
        msg::make(msg::DaemonRegister{"edge1", {}, {}, {}, {id}, "", stream_end_key("edge1")}));
    edge->send(msg::make(done));
    ASSERT_TRUE(edge->next_of(msg::Peers::kType));
    cloud->send(msg::make(msg::DataflowFinishedOnMachine{
        id, {{"aggregator", "", true, "exited with status 0", false, {}}}, {}}));
    auto result = c->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_TRUE((*result)["success"]);
    EXPECT_EQ((*result)["results"].size(), 2u);
}

TEST_F(Fixture, ADataflowPreparedButNeverReleasedIsDroppedAfterARestart) {
    auto edge = returning_daemon(*this, "edge1", {kRecoveredId}, {}, false);
    auto stop = edge->next_of(msg::StopDataflow::kType);
    ASSERT_TRUE(stop);
    EXPECT_EQ((*stop)["dataflow_id"], kRecoveredId);
    auto cloud = returning_daemon(*this, "cloud", {kRecoveredId}, {}, false);
    ASSERT_TRUE(cloud->next_of(msg::StopDataflow::kType));
    auto dataflow = only_dataflow(*this);
    EXPECT_EQ(dataflow.status, "failed");
    EXPECT_NE(dataflow.results[0].status.find("never started"), std::string::npos);
}

TEST_F(Fixture, ReattachingToAnEndedDataflowGetsItsResultAtOnce) {
    auto d = daemon("");
    auto c = cli();
    std::string id = start_flow(*c, "nodes:\n  - id: a\n    path: a.py\n", "", false);
    d->send(msg::make(msg::DataflowPrepared{id, true, ""}));
    ASSERT_TRUE(d->next_of(msg::SpawnDataflow::kType));
    d->send(msg::make(msg::DataflowFinishedOnMachine{
        id, {{"a", "", false, "exited with status 2", false, {}}}, {}}));
    auto again = cli();
    again->send(msg::make(msg::CliAttach{id}));
    ASSERT_TRUE(again->next_of(msg::Attached::kType));
    auto result = again->next_of(msg::DataflowResult::kType);
    ASSERT_TRUE(result);
    EXPECT_FALSE((*result)["success"]);
}

TEST_F(Fixture, DestroyStopsDaemonsThenRepliesAndStopsTheLoop) {
    auto d = daemon("");
    auto c = cli();
    c->send(msg::make(msg::CliDestroy{}));
    ASSERT_TRUE(d->next_of(msg::DestroyDaemon::kType));
    d.reset();
    auto done = c->next_of(msg::Done::kType);
    ASSERT_TRUE(done);
    EXPECT_TRUE(coordinator->destroyed());
    c.reset();
    for (int i = 0; i < 100 && !loop->stop_requested(); ++i) loop->run_once(10ms);
    EXPECT_TRUE(loop->stop_requested());
}

}  // namespace
}  // namespace dora::coordinator
