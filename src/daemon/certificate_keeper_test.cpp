// CertificateKeeper on a ManualClock (the loop's and the wall clock move together): it asks after
// registering, keeps what the CA issued for its key, asks again with a new key once two thirds of
// the certificate's life have passed, retries a refusal with backoff, and refuses a certificate
// for another key.
#include "daemon/certificate_keeper.hpp"

#include <gtest/gtest.h>

#include "message/daemon_to_coordinator.hpp"
#include "pki/ca.hpp"
#include "pki/certificate.hpp"
#include "pki/keys.hpp"

namespace dora::daemon {
namespace {

using namespace std::chrono_literals;
namespace msg = dora::message;

struct KeeperTest : ::testing::Test {
    ManualClock clock;
    std::unique_ptr<EventLoop> loop =
        EventLoop::create({.time = &clock, .handle_signals = false}).value();
    const SteadyClock::time_point start = clock.now();
    const int64_t wall_start = pki::unix_now();
    pki::CertificateAuthority ca = pki::CertificateAuthority::create({}).value();
    std::vector<msg::CertificateRequest> sent;
    std::vector<std::string> said;
    int changes = 0;
    bool connected = true;
    std::unique_ptr<CertificateKeeper> keeper;

    void SetUp() override {
        CertificateKeeperOptions options;
        options.name = "edge1";
        options.send = [this](const nlohmann::json& m) {
            if (!connected) return false;
            sent.push_back(msg::parse_as<msg::CertificateRequest>(m).value());
            return true;
        };
        options.log = [this](const std::string& line) { said.push_back(line); };
        options.on_changed = [this](const Credentials&) { ++changes; };
        options.wall_clock = [this] {
            return wall_start +
                   std::chrono::duration_cast<std::chrono::seconds>(clock.now() - start).count();
        };
        keeper = std::make_unique<CertificateKeeper>(*loop, std::move(options));
    }

    void advance(std::chrono::seconds by) {
        clock.advance(by);
        loop->run_once(0ms);
    }

    // The CA's answer to the last request.
    msg::CertificateReply issue_last(int days = 30) {
        const auto& request = sent.back();
        auto issued = ca.issue({request.csr_pem, "edge1", request.alt_names, days}).value();
        msg::CertificateReply reply;
        reply.request_id = request.request_id;
        reply.certificate = {issued.certificate_pem, ca.certificate_pem(), issued.serial,
                             issued.not_after};
        return reply;
    }
};

TEST_F(KeeperTest, AsksAfterRegisteringAndKeepsWhatWasIssuedForItsKey) {
    keeper->on_registered({"10.0.0.2"});
    ASSERT_EQ(sent.size(), 1u);
    EXPECT_EQ(sent[0].alt_names, std::vector<std::string>{"10.0.0.2"});
    keeper->handle(issue_last());
    ASSERT_TRUE(keeper->credentials());
    const auto& held = *keeper->credentials();
    EXPECT_TRUE(pki::key_matches_certificate(held.key_pem, held.certificate_pem).value());
    EXPECT_TRUE(pki::verify_certificate(held.certificate_pem, held.ca_pem, "10.0.0.2"));
    EXPECT_EQ(changes, 1);
    keeper->on_registered({"10.0.0.2"});  // a reconnect: still fresh, not asked again
    EXPECT_EQ(sent.size(), 1u);
}

TEST_F(KeeperTest, RenewsWithANewKeyAfterTwoThirdsOfTheLife) {
    keeper->on_registered({});
    keeper->handle(issue_last(30));
    const std::string first_key = keeper->credentials()->key_pem;
    const std::string first_serial = keeper->credentials()->serial;
    advance(std::chrono::hours(24 * 19));
    EXPECT_EQ(sent.size(), 1u);
    advance(std::chrono::hours(24 * 1) + 10min);
    ASSERT_EQ(sent.size(), 2u);
    keeper->handle(issue_last(30));
    EXPECT_NE(keeper->credentials()->key_pem, first_key);
    EXPECT_NE(keeper->credentials()->serial, first_serial);
    EXPECT_EQ(changes, 2);
}

TEST_F(KeeperTest, RenewalWhileDisconnectedHappensAtTheNextRegistration) {
    keeper->on_registered({});
    keeper->handle(issue_last(30));
    connected = false;
    advance(std::chrono::hours(24 * 21));
    EXPECT_EQ(sent.size(), 1u);
    connected = true;
    keeper->on_registered({});
    EXPECT_EQ(sent.size(), 2u);
}

TEST_F(KeeperTest, RefusalIsLoggedAndAskedAgainWithBackoff) {
    keeper->on_registered({});
    msg::CertificateReply refusal;
    refusal.request_id = sent.back().request_id;
    refusal.error = "certificates need a cluster token";
    keeper->handle(refusal);
    EXPECT_FALSE(keeper->credentials());
    ASSERT_FALSE(said.empty());
    EXPECT_NE(said.back().find("certificates need a cluster token (asking again in 30 s)"),
              std::string::npos)
        << said.back();
    advance(29s);
    EXPECT_EQ(sent.size(), 1u);
    advance(2s);
    ASSERT_EQ(sent.size(), 2u);
    refusal.request_id = sent.back().request_id;
    keeper->handle(refusal);
    EXPECT_NE(said.back().find("asking again in 60 s"), std::string::npos) << said.back();
}

TEST_F(KeeperTest, CertificateForAnotherKeyIsNotUsed) {
    keeper->on_registered({});
    auto reply = issue_last();
    const std::string other_csr = pki::make_csr(pki::generate_key().value(), "edge1").value();
    auto other = ca.issue({other_csr, "edge1", {}, 30}).value();
    reply.certificate.certificate_pem = other.certificate_pem;
    keeper->handle(reply);
    EXPECT_FALSE(keeper->credentials());
    EXPECT_EQ(changes, 0);
    EXPECT_NE(said.back().find("not used"), std::string::npos) << said.back();
}

TEST_F(KeeperTest, ReplyToAnEarlierConnectionsRequestIsIgnored) {
    keeper->on_registered({});
    auto stale = issue_last();
    keeper->on_registered({});  // reconnected: asked again
    ASSERT_EQ(sent.size(), 2u);
    keeper->handle(stale);
    EXPECT_FALSE(keeper->credentials());
    keeper->handle(issue_last());
    EXPECT_TRUE(keeper->credentials());
}

TEST(EndpointAddresses, AddressesOfEndpointsWithoutUnspecifiedOnes) {
    EXPECT_EQ(endpoint_addresses({"tcp/10.0.0.2:7447", "tcp/0.0.0.0:1", "tcp/[::1]:5", "tcp/[::]:6",
                                  "tcp/host.example:7", "tcp/10.0.0.2:8"}),
              (std::vector<std::string>{"10.0.0.2", "::1"}));
}

}  // namespace
}  // namespace dora::daemon
