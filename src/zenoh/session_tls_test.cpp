// Sessions over tls/ locators on loopback, with certificates made at test time into a temp dir:
// pub/sub over TLS and over mutual TLS (peers, and clients through a router), and each way a
// TLS link fails, with the error both sides log (wrong CA, expired certificate, wrong name,
// plain TCP on a TLS port, TLS on a plain port, mutual TLS without a client certificate); and
// credentials that come after the session opened (a daemon waiting for its certificate of the
// cluster CA) or are renewed while links are up.
#include <gtest/gtest.h>

#include "testing/temp_dir.hpp"
#include "testing/text.hpp"
#include "tls/test_certs.hpp"
#include "zenoh/publish_from_thread.hpp"
#include "zenoh/session.hpp"
#include "zenoh/session_fixture.hpp"

namespace dora::zenoh {
namespace {

using namespace std::chrono_literals;
using testing::Received;
using tls::testing::KeyPair;
using tls::testing::LeafOptions;
using tls::testing::TestCa;

struct Log {
    std::vector<std::string> lines;
    bool has(std::string_view needle) const {
        return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
            return line.find(needle) != std::string::npos;
        });
    }
    std::string all() const {
        std::string out;
        for (const auto& line : lines) {
            out += line + "\n";
        }
        return out;
    }
};

class SessionTlsTest : public testing::LoopTest {
  protected:
    // Files of a certificate signed by `ca` (default: the test CA), as listen_* or connect_*.
    void listen_with(TlsKeys& keys, const KeyPair& pair) {
        keys.listen_certificate.path = write("listen-cert.pem", pair.certificate);
        keys.listen_private_key.path = write("listen-key.pem", pair.key);
    }
    void connect_with(TlsKeys& keys, const KeyPair& pair) {
        keys.connect_certificate.path = write("connect-cert.pem", pair.certificate);
        keys.connect_private_key.path = write("connect-key.pem", pair.key);
    }
    TlsKeys trusting(const TestCa& ca) {
        TlsKeys keys;
        keys.root_ca_certificate.path =
            write("ca-" + std::to_string(files_++) + ".pem", ca.certificate());
        return keys;
    }

    std::string write(const std::string& name, const std::string& text) {
        return dir_.write(std::to_string(files_++) + "-" + name, text).string();
    }

    Result<std::unique_ptr<Session>> try_open(Mode mode, std::vector<std::string> listen,
                                              std::vector<std::string> connect, TlsKeys keys,
                                              Log& log) {
        SessionOptions options;
        options.config.mode = mode;
        options.config.tls = std::move(keys);
        for (const auto& e : listen) {
            options.config.listen.push_back(parse_endpoint(e).value());
        }
        for (const auto& e : connect) {
            options.config.connect.push_back(parse_endpoint(e).value());
        }
        options.transport.log = [&log](std::string_view line) { log.lines.emplace_back(line); };
        options.transport.handshake_timeout = 2s;
        options.reconnect_delay = 50ms;
        return Session::open(*loop_, std::move(options));
    }

    std::unique_ptr<Session> open(Mode mode, std::vector<std::string> listen,
                                  std::vector<std::string> connect, TlsKeys keys, Log& log) {
        auto session = try_open(mode, std::move(listen), std::move(connect), std::move(keys), log);
        EXPECT_TRUE(session) << session.error().message();
        return session ? std::move(*session) : nullptr;
    }

    static std::string at(const Session& s, std::string_view protocol = "tls",
                          std::string_view host = "127.0.0.1") {
        return fmt::format("{}/{}:{}", protocol, host, s.listen_ports().at(0));
    }

    // A server on tls/ with `server_pair`, a peer dialling it with `client_keys`: runs until both
    // logs have their line, or 10 s passed.
    void fail_both_ways(const KeyPair& server_pair, TlsKeys server_keys, TlsKeys client_keys,
                        std::string_view server_says, std::string_view client_says,
                        std::string_view host = "127.0.0.1") {
        listen_with(server_keys, server_pair);
        auto server = open(Mode::kPeer, {"tls/127.0.0.1:0"}, {}, server_keys, server_log_);
        ASSERT_TRUE(server);
        auto client = open(Mode::kPeer, {}, {at(*server, "tls", host)}, client_keys, client_log_);
        ASSERT_TRUE(client);
        run_until([&] { return server_log_.has(server_says) && client_log_.has(client_says); });
        EXPECT_TRUE(server_log_.has(server_says)) << server_log_.all();
        EXPECT_TRUE(client_log_.has(client_says)) << client_log_.all();
        EXPECT_EQ(server->face_count(), 0u);
        EXPECT_EQ(client->face_count(), 0u);
    }

    // Publishes on `from` until `sub` (subscribed to tls/**) received a sample.
    bool delivers(Session& from, Received& got) {
        return run_until([&] {
            (void)from.put("tls/probe", as_bytes("secret"));
            return got.has("tls/probe", "secret");
        });
    }

    dora::testing::TempDir dir_{"dora-zenoh-tls"};
    TestCa ca_{"dora test CA"};
    int files_ = 0;
    Log server_log_;
    Log client_log_;
};

TEST_F(SessionTlsTest, PeersExchangeSamplesOverTls) {
    TlsKeys server_keys;
    listen_with(server_keys, ca_.issue({}));
    auto a = open(Mode::kPeer, {"tls/127.0.0.1:0"}, {}, server_keys, server_log_);
    auto b = open(Mode::kPeer, {}, {at(*a)}, trusting(ca_), client_log_);
    Received got;
    auto subscription = a->declare_subscriber("tls/**", got.callback()).value();
    ASSERT_TRUE(run_until([&] { return a->face_count() == 1 && b->face_count() == 1; }));
    ASSERT_TRUE(delivers(*b, got));
    EXPECT_TRUE(client_log_.has("TLS with the server at 127.0.0.1:")) << client_log_.all();
    EXPECT_TRUE(client_log_.has("its certificate: CN=dora-test")) << client_log_.all();
}

// A daemon's egress thread publishes in the loop's place while it sleeps: over TLS too (the TLS
// stream is only ever used by one thread at a time).
TEST_F(SessionTlsTest, APublisherOnAnotherThreadPutsInOrderOverTls) {
    TlsKeys server_keys;
    listen_with(server_keys, ca_.issue({}));
    auto a = open(Mode::kPeer, {"tls/127.0.0.1:0"}, {}, server_keys, server_log_);
    auto b = open(Mode::kPeer, {}, {at(*a)}, trusting(ca_), client_log_);
    ASSERT_TRUE(run_until([&] { return a->face_count() == 1 && b->face_count() == 1; }));
    testing::LoopThread loop(*loop_);  // destroyed first: the sessions are not used after
    testing::publish_in_order(loop, *b, *a);
    EXPECT_EQ(loop.call([&] { return a->face_count(); }), 1u) << server_log_.all();
}

TEST_F(SessionTlsTest, ClientsExchangeSamplesThroughAMutualTlsRouter) {
    TlsKeys router_keys = trusting(ca_);
    router_keys.enable_mtls = true;
    listen_with(router_keys, ca_.issue({}));
    auto router = open(Mode::kRouter, {"tls/127.0.0.1:0"}, {}, router_keys, server_log_);
    LeafOptions leaf;
    leaf.common_name = "client-a";
    TlsKeys client_keys = trusting(ca_);
    client_keys.enable_mtls = true;
    KeyPair pair = ca_.issue(leaf);
    // One client gives its certificate inline (the *_base64 keys' form), one as files.
    client_keys.connect_certificate.pem = pair.certificate;
    client_keys.connect_private_key.pem = pair.key;
    auto sub = open(Mode::kClient, {}, {at(*router, "tls", "localhost")}, client_keys, client_log_);
    connect_with(client_keys, ca_.issue({}));
    client_keys.connect_certificate.pem.clear();
    client_keys.connect_private_key.pem.clear();
    Log pub_log;
    auto pub = open(Mode::kClient, {}, {at(*router)}, client_keys, pub_log);
    Received got;
    auto subscription = sub->declare_subscriber("tls/**", got.callback()).value();
    ASSERT_TRUE(run_until([&] { return router->face_count() == 2; })) << server_log_.all();
    ASSERT_TRUE(delivers(*pub, got));
    EXPECT_TRUE(server_log_.has("its certificate: CN=client-a")) << server_log_.all();
}

// The keys of the cluster's form (in memory, mutual TLS, the CA alone trusted) for `pair`.
TlsKeys cluster_keys(const TestCa& ca, const KeyPair& pair) {
    return cluster_tls_keys(ca.certificate(), pair.certificate, pair.key);
}

TEST_F(SessionTlsTest, CredentialsThatComeLaterAreWaitedForThenUsedAndRenewed) {
    LeafOptions server_leaf;
    server_leaf.common_name = "server-first";
    const TlsKeys server_first = cluster_keys(ca_, ca_.issue(server_leaf));
    // The server's credentials come later: until then a tls/ client is refused, and says why.
    SessionOptions options;
    options.config.mode = Mode::kPeer;
    options.config.listen.push_back(parse_endpoint("tls/127.0.0.1:0").value());
    options.transport.log = [this](std::string_view line) { server_log_.lines.emplace_back(line); };
    options.tls_later = "no certificate of the cluster yet";
    auto server = Session::open(*loop_, options).value();
    ASSERT_TRUE(server->tls_waiting());
    auto early =
        open(Mode::kPeer, {}, {at(*server)}, cluster_keys(ca_, ca_.issue({})), client_log_);
    ASSERT_TRUE(run_until([&] { return server_log_.has("no certificate of the cluster yet"); }))
        << server_log_.all();
    EXPECT_TRUE(server_log_.has("refused a tls/ link from 127.0.0.1:")) << server_log_.all();
    EXPECT_EQ(server->face_count(), 0u);
    // A dial of a session waiting for its credentials waits too, and goes once they arrive.
    SessionOptions waiting = options;
    waiting.config.listen.clear();
    waiting.config.connect.push_back(parse_endpoint(at(*server)).value());
    Log waiting_log;
    waiting.transport.log = [&waiting_log](std::string_view line) {
        waiting_log.lines.emplace_back(line);
    };
    auto dialler = Session::open(*loop_, waiting).value();
    ASSERT_TRUE(server->set_tls(server_first));
    EXPECT_FALSE(server->tls_waiting());
    ASSERT_TRUE(run_until([&] { return early->face_count() == 1; })) << client_log_.all();
    EXPECT_TRUE(client_log_.has("its certificate: CN=server-first")) << client_log_.all();
    EXPECT_FALSE(run_until([&] { return dialler->face_count() > 0; },
                           300ms));  // nothing dialled without credentials
    ASSERT_TRUE(dialler->set_tls(cluster_keys(ca_, ca_.issue({}))));
    ASSERT_TRUE(run_until([&] { return dialler->face_count() == 1; })) << waiting_log.all();
    // Renewed: links up stay up, a new link gets the new certificate.
    LeafOptions renewed_leaf;
    renewed_leaf.common_name = "server-renewed";
    ASSERT_TRUE(server->set_tls(cluster_keys(ca_, ca_.issue(renewed_leaf))));
    Log late_log;
    auto late = open(Mode::kPeer, {}, {at(*server)}, cluster_keys(ca_, ca_.issue({})), late_log);
    ASSERT_TRUE(run_until([&] { return late->face_count() == 1; })) << late_log.all();
    EXPECT_TRUE(late_log.has("its certificate: CN=server-renewed")) << late_log.all();
    EXPECT_EQ(early->face_count(), 1u);
    EXPECT_EQ(server->face_count(), 3u);
    // Credentials that do not load are refused, and the ones held stay.
    TlsKeys broken = server_first;
    broken.listen_private_key.pem = "not a key";
    EXPECT_FALSE(server->set_tls(broken));
    Log after_log;
    auto after = open(Mode::kPeer, {}, {at(*server)}, cluster_keys(ca_, ca_.issue({})), after_log);
    ASSERT_TRUE(run_until([&] { return after->face_count() == 1; })) << after_log.all();
    EXPECT_TRUE(after_log.has("its certificate: CN=server-renewed")) << after_log.all();
}

TEST_F(SessionTlsTest, CloseLinkOnExpirationClosesWhenThePeersCertificateExpires) {
    // The client's certificate is valid for 3 s more; the server closes the link then, and only
    // with close_link_on_expiration on.
    LeafOptions short_lived;
    short_lived.common_name = "short-lived";
    short_lived.not_after = 3s;
    for (bool close : {true, false}) {
        const KeyPair client_pair = ca_.issue(short_lived);
        Log server_log, client_log;
        TlsKeys server_keys = cluster_keys(ca_, ca_.issue({}));
        server_keys.close_link_on_expiration = close;
        auto server = open(Mode::kPeer, {"tls/127.0.0.1:0"}, {}, server_keys, server_log);
        auto client =
            open(Mode::kPeer, {}, {at(*server)}, cluster_keys(ca_, client_pair), client_log);
        ASSERT_TRUE(run_until([&] { return server->face_count() == 1; })) << server_log.all();
        const bool closed = run_until([&] { return server->face_count() == 0; }, 6s);
        EXPECT_EQ(closed, close) << server_log.all();
        EXPECT_EQ(server_log.has("the certificate of the client at 127.0.0.1:"), close)
            << server_log.all();
    }
}

TEST_F(SessionTlsTest, WrongCaIsReportedOnBothSides) {
    TestCa other("other CA");
    fail_both_ways(other.issue({}), {}, trusting(ca_),
                   "refused our certificate (transport.link.tls.listen_certificate (",
                   "certificate verify failed: unable to get local issuer certificate: the "
                   "certificate of the server at 127.0.0.1:");
    EXPECT_TRUE(
        client_log_.has("is not signed by the configured transport.link.tls.root_ca_certificate"))
        << client_log_.all();
    EXPECT_TRUE(server_log_.has("with TLS alert 'unknown CA'")) << server_log_.all();
}

TEST_F(SessionTlsTest, ExpiredCertificateIsReportedOnBothSides) {
    LeafOptions leaf;
    leaf.not_before = -48h;
    leaf.not_after = -24h;
    fail_both_ways(ca_.issue(leaf), {}, trusting(ca_), "with TLS alert 'certificate expired'",
                   "certificate has expired: the certificate of the server at 127.0.0.1:");
    EXPECT_TRUE(client_log_.has("(its notAfter)")) << client_log_.all();
}

TEST_F(SessionTlsTest, WrongNameIsReportedOnBothSides) {
    LeafOptions leaf;
    leaf.dns_names = {"cloud.example"};
    leaf.ip_addresses = {};
    fail_both_ways(ca_.issue(leaf), {}, trusting(ca_), "with TLS alert 'bad certificate'",
                   "is for DNS:cloud.example, but we dialled 'localhost'", "localhost");
    EXPECT_TRUE(client_log_.has("transport.link.tls.verify_name_on_connect to false"))
        << client_log_.all();
}

TEST_F(SessionTlsTest, NameCheckOffAcceptsACertificateForAnotherName) {
    LeafOptions leaf;
    leaf.dns_names = {"cloud.example"};
    leaf.ip_addresses = {};
    TlsKeys server_keys;
    listen_with(server_keys, ca_.issue(leaf));
    auto a = open(Mode::kPeer, {"tls/127.0.0.1:0"}, {}, server_keys, server_log_);
    TlsKeys client_keys = trusting(ca_);
    client_keys.verify_name_on_connect = false;
    auto b = open(Mode::kPeer, {}, {at(*a)}, client_keys, client_log_);
    ASSERT_TRUE(run_until([&] { return a->face_count() == 1 && b->face_count() == 1; }));
}

TEST_F(SessionTlsTest, MutualTlsWithoutClientCertificateIsReportedOnBothSides) {
    TlsKeys server_keys = trusting(ca_);
    server_keys.enable_mtls = true;
    fail_both_ways(ca_.issue({}), server_keys, trusting(ca_),
                   "presented no certificate, but transport.link.tls.enable_mtls is on here",
                   "requires a client certificate (transport.link.tls.enable_mtls on its side)");
}

TEST_F(SessionTlsTest, PlainTcpClientOnTlsPortIsReportedOnBothSides) {
    TlsKeys server_keys;
    listen_with(server_keys, ca_.issue({}));
    auto server = open(Mode::kPeer, {"tls/127.0.0.1:0"}, {}, server_keys, server_log_);
    auto client = open(Mode::kPeer, {}, {at(*server, "tcp")}, {}, client_log_);
    std::string server_says = "spoke plain TCP to a tls/ locator: use tls/ on its side";
    std::string client_says = "closed the connection during the Zenoh handshake";
    std::string client_hint = "if it listens on tls/, use tls/ here";
    run_until([&] { return server_log_.has(server_says) && client_log_.has(client_says); });
    EXPECT_TRUE(server_log_.has(server_says)) << server_log_.all();
    EXPECT_TRUE(client_log_.has(client_says)) << client_log_.all();
    EXPECT_TRUE(client_log_.has(client_hint)) << client_log_.all();
}

TEST_F(SessionTlsTest, TlsClientOnPlainPortIsReportedOnBothSides) {
    auto server = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {}, {}, server_log_);
    auto client = open(Mode::kPeer, {}, {at(*server, "tls")}, trusting(ca_), client_log_);
    std::string server_says = "spoke TLS to a tcp/ locator: use tcp/ on its side";
    std::string client_says =
        "does not speak TLS (its answer is no TLS record): use tcp/ or "
        "give it a TLS listener";
    run_until([&] { return server_log_.has(server_says) && client_log_.has(client_says); });
    EXPECT_TRUE(server_log_.has(server_says)) << server_log_.all();
    EXPECT_TRUE(client_log_.has(client_says)) << client_log_.all();
}

TEST_F(SessionTlsTest, TlsListenerWithoutCertificateDoesNotOpen) {
    auto session = try_open(Mode::kPeer, {"tls/127.0.0.1:0"}, {}, {}, server_log_);
    ASSERT_FALSE(session);
    EXPECT_EQ(session.error().message(),
              "a TLS listener needs a certificate and its key: set "
              "transport.link.tls.listen_certificate and transport.link.tls.listen_private_key");
}

TEST_F(SessionTlsTest, MutualTlsConnectWithoutCertificateDoesNotOpen) {
    TlsKeys keys = trusting(ca_);
    keys.enable_mtls = true;
    auto session = try_open(Mode::kClient, {}, {"tls/127.0.0.1:7"}, keys, client_log_);
    ASSERT_FALSE(session);
    EXPECT_TRUE(
        dora::testing::has_text(session.error().message(),
                                "transport.link.tls.enable_mtls is on: a tls/ connect presents"));
}

TEST_F(SessionTlsTest, MissingCertificateFileIsNamed) {
    TlsKeys keys;
    keys.listen_certificate.path = (dir_ / "missing.pem").string();
    keys.listen_private_key.path = (dir_ / "missing-key.pem").string();
    auto session = try_open(Mode::kPeer, {"tls/127.0.0.1:0"}, {}, keys, server_log_);
    ASSERT_FALSE(session);
    EXPECT_TRUE(dora::testing::has_text(session.error().message(),
                                        "cannot read transport.link.tls.listen_certificate '"));
}

}  // namespace
}  // namespace dora::zenoh
