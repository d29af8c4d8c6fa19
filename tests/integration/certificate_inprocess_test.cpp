// The cluster CA across the real coordinator, daemon and CLI client code in one process, on
// loopback ports: a daemon with the token holds a certificate for its machine id (and its Zenoh
// address) that verifies under the CA the coordinator stored; a daemon without a token asks for
// none; the coordinator refuses what the `dora cert` CLI would never send (a wildcard name, a
// forged signing request, a request for another name) with errors that say why. With the token the
// daemon's Zenoh listener is TLS with mutual authentication under that CA: a peer without a
// certificate, or with one of another CA, is refused in the handshake; one with a certificate of
// the cluster gets a link; a tcp/ endpoint is refused when the daemon starts.
#include <gtest/gtest.h>

#include <thread>

#include "cli/coordinator_client.hpp"
#include "coordinator/coordinator.hpp"
#include "daemon/daemon.hpp"
#include "pki/ca.hpp"
#include "pki/certificate.hpp"
#include "pki/files.hpp"
#include "pki/keys.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"

namespace dora {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kToken = "in-process-token";

struct CertificateInProcess : ::testing::Test {
    testing::TempDir dir{"dora-cert-inprocess"};
    std::unique_ptr<EventLoop> loop = EventLoop::create().value();
    std::unique_ptr<coordinator::Coordinator> coordinator;
    std::unique_ptr<daemon::Daemon> daemon;
    std::string coordinator_log, daemon_log, peer_log, daemon_error;
    int certificates_heard = 0;

    void TearDown() override {
        daemon.reset();
        coordinator.reset();
        if (HasFailure()) std::cerr << coordinator_log << daemon_log;
    }

    void start_coordinator(std::optional<std::string> token) {
        coordinator::CoordinatorOptions options;
        options.interface = options.control_interface = "127.0.0.1";
        options.port = options.control_port = 0;
        options.token = std::move(token);
        options.state_dir = dir / "state";
        options.dora_version = "test";
        options.log = [this](const std::string& line) { coordinator_log += line + "\n"; };
        coordinator = coordinator::Coordinator::create(*loop, options).value();
    }

    void start_daemon(std::optional<std::string> token, const std::string& machine = "edge1",
                      const std::string& listen = "") {
        daemon::DaemonOptions options;
        options.machine_id = machine;
        options.coordinator_port = coordinator->daemon_port();
        options.local_listen_port = 0;
        options.token = std::move(token);
        options.work_dir = dir / "work";
        options.dora_version = "test";
        options.zenoh.mode = zenoh::Mode::kPeer;
        options.zenoh.listen.push_back(*zenoh::parse_endpoint(
            listen.empty() ? (token ? "tls/127.0.0.1:0" : "tcp/127.0.0.1:0") : listen));
        options.log = [this](const std::string& line) { daemon_log += line + "\n"; };
        options.on_certificate = [this](const daemon::Credentials&) { ++certificates_heard; };
        auto made = daemon::Daemon::create(*loop, options);
        if (!made) {
            daemon_error = made.error().message();
            return;
        }
        daemon = std::move(*made);
        daemon->start();
    }

    // A Zenoh peer session dialling the daemon's endpoint with `keys`; whether a link came up
    // within `time`.
    bool zenoh_link_with(const zenoh::TlsKeys& keys, std::chrono::milliseconds time,
                         const std::string& endpoint = "") {
        zenoh::SessionOptions options;
        options.config.mode = zenoh::Mode::kClient;
        options.config.multicast.enabled = false;
        options.config.tls = keys;
        options.config.connect.push_back(
            *zenoh::parse_endpoint(endpoint.empty() ? daemon->zenoh_endpoints().at(0) : endpoint));
        options.transport.log = [this](std::string_view line) {
            peer_log += std::string(line) + "\n";
        };
        auto session = zenoh::Session::open(*loop, options).value();
        pump_until([&] { return session->face_count() > 0; }, time);
        return session->face_count() > 0;
    }

    bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 15s) {
        const auto deadline = SteadyClock::now() + timeout;
        while (!done() && SteadyClock::now() < deadline) loop->run_once(10ms);
        return done();
    }
    void pump_for(std::chrono::milliseconds time) {
        const auto deadline = SteadyClock::now() + time;
        while (SteadyClock::now() < deadline) loop->run_once(10ms);
    }

    // Runs `client_side` with a connected CLI client while the loop runs on another thread.
    void with_client(const std::function<void(cli::CoordinatorClient&)>& client_side) {
        const fs::path token = dir.write("token", kToken);
        std::thread loop_thread([this] { loop->run(); });
        {
            cli::ClientOptions options;
            options.port = coordinator->control_port();
            options.token_file = token.string();
            auto client = cli::CoordinatorClient::connect(options);
            EXPECT_TRUE(client) << client.error().message();
            if (client) client_side(*client);
        }
        loop->stop();
        loop_thread.join();
    }
};

TEST_F(CertificateInProcess, DaemonHoldsACertificateForItsMachineIdUnderTheStoredCa) {
    start_coordinator(kToken);
    start_daemon(kToken);
    ASSERT_TRUE(pump_until([&] { return daemon->credentials().has_value(); })) << daemon_log;
    const auto held = *daemon->credentials();
    const std::string ca = pki::read_file(dir / "state" / "ca.crt").value();
    EXPECT_EQ(held.ca_pem, ca);
    auto by_name = pki::verify_certificate(held.certificate_pem, ca, "edge1");
    EXPECT_TRUE(by_name) << by_name.error().message();
    auto by_address = pki::verify_certificate(held.certificate_pem, ca, "127.0.0.1");
    EXPECT_TRUE(by_address) << by_address.error().message();
    EXPECT_TRUE(pki::key_matches_certificate(held.key_pem, held.certificate_pem).value());
    EXPECT_EQ(certificates_heard, 1);
    EXPECT_TRUE(testing::contains(coordinator_log, "issued a certificate for `edge1`"));
    // Held, not asked for again while it is fresh.
    pump_for(500ms);
    EXPECT_EQ(testing::count_of(coordinator_log, "issued a certificate"), 1u);
}

// Keys for a client certificate `name` issued by `ca`, trusting `ca_pem`.
zenoh::TlsKeys client_keys(const pki::CertificateAuthority& ca, const std::string& ca_pem,
                           const std::string& name) {
    const std::string key = pki::generate_key().value();
    auto issued = ca.issue({pki::make_csr(key, name).value(), name, {}, 1}).value();
    daemon::Credentials held{key, issued.certificate_pem, ca_pem, issued.serial, issued.not_after};
    return daemon::cluster_tls_keys(held);
}

TEST_F(CertificateInProcess, DaemonZenohLinksNeedACertificateOfTheClusterCa) {
    start_coordinator(kToken);
    start_daemon(kToken);
    ASSERT_TRUE(daemon) << daemon_error;
    ASSERT_TRUE(pump_until([&] { return daemon->credentials().has_value(); })) << daemon_log;
    ASSERT_TRUE(daemon->zenoh_endpoints().at(0).starts_with("tls/127.0.0.1:"));
    const std::string cluster_ca = daemon->credentials()->ca_pem;
    auto cluster = pki::CertificateAuthority::load(pki::read_file(dir / "state" / "ca.key").value(),
                                                   cluster_ca)
                       .value();

    // No certificate at all (a stranger's `dora zenoh sub -e tls/...`): refused in the handshake.
    zenoh::TlsKeys none;
    none.root_ca_certificate.pem = cluster_ca;
    EXPECT_FALSE(zenoh_link_with(none, 1500ms));
    EXPECT_TRUE(testing::contains(daemon_log, "presented no certificate")) << daemon_log;
    // A certificate of another CA, even one that trusts the cluster's CA: refused.
    auto other = pki::CertificateAuthority::create({"someone else's CA", 1}).value();
    zenoh::TlsKeys foreign = client_keys(other, cluster_ca, "stranger");
    EXPECT_FALSE(zenoh_link_with(foreign, 1500ms));
    EXPECT_TRUE(testing::contains(daemon_log,
                                  "(CN=stranger, issued by CN=someone else's CA) is "
                                  "not signed by the configured cluster CA"))
        << daemon_log;
    // Plain TCP to the TLS port: refused too.
    std::string plain = daemon->zenoh_endpoints().at(0);
    plain.replace(0, 3, "tcp");
    EXPECT_FALSE(zenoh_link_with(zenoh::TlsKeys{}, 1500ms, plain));
    EXPECT_TRUE(testing::contains(daemon_log, "spoke plain TCP to a tls/ locator")) << daemon_log;
    // A certificate of the cluster: a link.
    EXPECT_TRUE(zenoh_link_with(client_keys(cluster, cluster_ca, "cli"), 5s)) << peer_log;
}

TEST_F(CertificateInProcess, DaemonWithATokenRefusesAPlainTcpEndpoint) {
    start_coordinator(kToken);
    start_daemon(kToken, "edge1", "tcp/127.0.0.1:0");
    EXPECT_FALSE(daemon);
    EXPECT_TRUE(testing::contains(daemon_error, "write tls/127.0.0.1:0 instead")) << daemon_error;
}

TEST_F(CertificateInProcess, DaemonWithoutATokenAsksForNone) {
    start_coordinator(std::nullopt);
    start_daemon(std::nullopt);
    ASSERT_TRUE(pump_until([&] { return testing::contains(daemon_log, "connected to the"); }));
    pump_for(500ms);
    EXPECT_FALSE(daemon->credentials());
    EXPECT_FALSE(testing::contains(coordinator_log, "certificate"));
    EXPECT_FALSE(fs::exists(dir / "state"));
}

TEST_F(CertificateInProcess, DaemonWhoseMachineIdCannotBeANameSaysSo) {
    start_coordinator(kToken);
    start_daemon(kToken, "edge 1");
    ASSERT_TRUE(pump_until([&] { return testing::contains(daemon_log, "--machine-id"); }))
        << daemon_log;
    EXPECT_TRUE(testing::contains(daemon_log, "contains ` `"));
    EXPECT_FALSE(daemon->credentials());
}

TEST_F(CertificateInProcess, CoordinatorRefusesRequestsTheCliWouldNotSend) {
    start_coordinator(kToken);
    const std::string key = pki::generate_key().value();
    std::vector<std::string> errors;
    with_client([&](cli::CoordinatorClient& client) {
        auto ask = [&](message::CliIssueCertificate request) {
            auto reply = client.request<message::IssuedCertificate>(request, 10s);
            errors.push_back(reply ? "(issued)" : reply.error().message());
        };
        ask({"*.example.com", {}, pki::make_csr(key, "edge1").value(), 0});
        ask({"edge1", {}, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", 0});
        ask({"cloud", {}, pki::make_csr(key, "edge1").value(), 0});
        ask({"edge1", {"bad name"}, pki::make_csr(key, "edge1").value(), 0});
        ask({"edge1", {}, pki::make_csr(key, "edge1").value(), 9999});
        ask({"edge1", {}, pki::make_csr(key, "edge1").value(), 0});
    });
    ASSERT_EQ(errors.size(), 6u);
    EXPECT_TRUE(testing::contains(errors[0], "wildcards are not issued"));
    EXPECT_TRUE(testing::contains(errors[1], "not a PEM certificate signing request"));
    EXPECT_TRUE(testing::contains(errors[2], "names `edge1` but the certificate asked for is"));
    EXPECT_TRUE(testing::contains(errors[3], "contains ` `"));
    EXPECT_TRUE(testing::contains(errors[4], "1 to 3650 days, not 9999"));
    EXPECT_EQ(errors[5], "(issued)");
    EXPECT_EQ(testing::count_of(coordinator_log, "refused a certificate"), 5u);
}

}  // namespace
}  // namespace dora
