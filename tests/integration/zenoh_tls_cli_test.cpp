// `dora router` and `dora zenoh sub/pub` over tls/ locators as real processes on loopback, with
// certificates made at test time in a temp dir: mutual TLS through the router (settings from -c
// and from ZENOH_CONFIG), a client without a certificate refused with the reason on both sides,
// and a TLS listener without a certificate refused at start.
#include <gtest/gtest.h>

#include <regex>

#include "testing/process.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"
#include "tls/test_certs.hpp"

namespace dora::testing {
namespace {

using namespace std::chrono_literals;

struct ZenohTlsCliTest : ::testing::Test {
    static std::vector<std::string> dora(std::vector<std::string> args) {
        args.insert(args.begin(), DORA_CLI_BINARY);
        return args;
    }

    // A json5 file with transport.link.tls = `tls` (json5 members) and no multicast scouting.
    std::string config(const std::string& name, const std::string& tls) {
        return dir_
            .write(name, "{scouting: {multicast: {enabled: false}}, transport: {link: {tls: {" +
                             tls + "}}}}")
            .string();
    }

    // Files of a certificate for 127.0.0.1/localhost: "<name>.pem", "<name>-key.pem".
    std::pair<std::string, std::string> issue(const std::string& name) {
        tls::testing::KeyPair pair = ca_.issue({});
        return {dir_.write(name + ".pem", pair.certificate).string(),
                dir_.write(name + "-key.pem", pair.key).string()};
    }

    // `dora router` on tls/127.0.0.1:<ephemeral> with mutual TLS; returns its endpoint.
    std::string start_router() {
        auto [cert, key] = issue("router");
        std::string file = config(
            "router.json5", "root_ca_certificate: '" + ca_file_ + "', listen_certificate: '" +
                                cert + "', listen_private_key: '" + key + "', enable_mtls: true");
        router_ = std::make_unique<Process>(
            dora({"router", "-l", "tls/127.0.0.1:0", "-c", file, "--verbose"}));
        std::regex re(R"(listening on (tls/127\.0\.0\.1:\d+))");
        std::smatch m;
        bool up = router_->wait_for([&] { return std::regex_search(router_->out(), m, re); }, 10s);
        EXPECT_TRUE(up) << router_->all();
        return up ? m[1].str() : "";
    }

    // A client's settings with mutual TLS (its own certificate).
    std::string client_config(const std::string& name) {
        auto [cert, key] = issue(name);
        return config(name + ".json5",
                      "root_ca_certificate: '" + ca_file_ + "', connect_certificate: '" + cert +
                          "', connect_private_key: '" + key + "', enable_mtls: true");
    }

    TempDir dir_{"dora-tls-cli"};
    tls::testing::TestCa ca_{"cli test CA"};
    std::string ca_file_ = dir_.write("ca.pem", ca_.certificate()).string();
    std::unique_ptr<Process> router_;
};

TEST_F(ZenohTlsCliTest, PubReachesSubThroughAMutualTlsRouter) {
    std::string endpoint = start_router();
    ASSERT_FALSE(endpoint.empty());
    Process sub(dora({"zenoh", "sub", "secure/**", "-m", "client", "-e", endpoint}),
                {.env = {{"ZENOH_CONFIG", client_config("sub")}}});
    ASSERT_TRUE(sub.wait_for_text("Declaring Subscriber", 10s, true)) << sub.all();
    std::string pub_config = client_config("pub");
    // The router may not know the subscriber yet when the first pub arrives: publish until one
    // is received, then count.
    bool received = sub.wait_for(
        [&] {
            Process pub(dora({"zenoh", "pub", "secure/k", "over-tls", "-m", "client", "-e",
                              endpoint, "-c", pub_config}));
            pub.wait(20s);
            return sub.wait_for_text("('secure/k': 'over-tls')", 300ms);
        },
        30s);
    EXPECT_TRUE(received) << sub.all() << router_->all();
    EXPECT_TRUE(has_text(router_->all(), "TLS with the client at 127.0.0.1:")) << router_->all();
}

TEST_F(ZenohTlsCliTest, ClientWithoutCertificateIsRefusedWithTheReasonOnBothSides) {
    std::string endpoint = start_router();
    ASSERT_FALSE(endpoint.empty());
    std::string file = config("plain.json5", "root_ca_certificate: '" + ca_file_ + "'");
    // Without --verbose or DORA_ZENOH_LOG a tool still says why its link failed.
    Process pub(
        dora({"zenoh", "pub", "secure/k", "x", "-m", "client", "-e", endpoint, "-c", file}));
    EXPECT_TRUE(
        pub.wait_for([&] { return has_text(pub.all(), "requires a client certificate"); }, 20s))
        << pub.all();
    EXPECT_TRUE(router_->wait_for(
        [&] {
            return has_text(router_->all(),
                            "presented no certificate, but "
                            "transport.link.tls.enable_mtls is on here");
        },
        10s))
        << router_->all();
}

TEST_F(ZenohTlsCliTest, TlsListenerWithoutCertificateIsRefusedAtStart) {
    Process router(dora({"router", "-l", "tls/127.0.0.1:0", "-c", config("none.json5", "")}));
    EXPECT_NE(exit_code(router.wait(10s)), 0) << router.all();
    EXPECT_TRUE(has_text(router.all(),
                         "a TLS listener needs a certificate and its key: set "
                         "transport.link.tls.listen_certificate"))
        << router.all();
}

}  // namespace
}  // namespace dora::testing
