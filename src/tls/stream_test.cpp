// TlsStream and Handshake over loopback sockets on one EventLoop, with certificates made at
// test time: a handshake and bytes both ways, then each way a handshake fails, with the error
// each side reports (wrong CA, expired, wrong name, plain TCP on a TLS port, TLS on a plain
// port, mutual TLS without a client certificate, a peer that never answers).
#include <gtest/gtest.h>
#include <sys/epoll.h>

#include <optional>

#include "core/event_loop.hpp"
#include "core/net.hpp"
#include "testing/text.hpp"
#include "tls/byte_io.hpp"
#include "tls/handshake.hpp"
#include "tls/test_certs.hpp"

namespace dora::tls {
namespace {

using namespace std::chrono_literals;
using testing::KeyPair;
using testing::LeafOptions;
using testing::TestCa;

// One end of a connection: handshake, then says hello once and collects what it reads.
struct End {
    std::string role;
    FdWatch watch;
    std::unique_ptr<TlsStream> stream;
    std::unique_ptr<Handshake> handshake;
    std::string received;
    std::string error;
    bool eof = false;

    // Unused ends (the test plays that side by hand) count as finished.
    bool finished(const std::string& expect) const {
        return stream == nullptr || !error.empty() || eof || received == expect;
    }
    ~End() {
        if (std::getenv("DORA_TLS_TEST_SHOW") != nullptr && !error.empty()) {
            fprintf(stderr, "%s: %s\n", role.c_str(), error.c_str());
        }
    }

    void on_events(uint32_t) {
        if (!error.empty()) {
            return;
        }
        if (!handshake->finished()) {
            handshake->step();
            return;
        }
        read();
    }

    void on_handshake(Result<> outcome) {
        if (!outcome) {
            error = outcome.error().message();
            return;
        }
        std::string hello = "hello from " + role;
        auto n = stream->write(hello.data(), hello.size());
        if (!n) {
            error = n.error().message();
        }
        read();
    }

    void read() {
        char buf[256];
        for (;;) {
            auto n = ByteIo(watch.fd(), stream.get()).read_some(buf, sizeof buf);
            if (!n) {
                error = n.error().message();
                return;
            }
            if (!*n) {
                return;
            }
            if (**n == 0) {
                eof = true;
                return;
            }
            received.append(buf, **n);
        }
    }
};

TlsConfig server_config(const KeyPair& pair) {
    TlsConfig c;
    c.certificate = pem_from_string("listen_certificate", pair.certificate);
    c.private_key = pem_from_string("listen_private_key", pair.key);
    c.wording.root_ca = "root_ca_certificate";
    c.wording.mutual = "enable_mtls";
    c.wording.verify_name = "verify_name_on_connect";
    return c;
}

TlsConfig client_config(const TestCa& ca) {
    TlsConfig c;
    c.root_ca = pem_from_string("root_ca_certificate", ca.certificate());
    c.system_roots = false;
    c.wording.root_ca = "root_ca_certificate";
    c.wording.mutual = "enable_mtls";
    c.wording.verify_name = "verify_name_on_connect";
    return c;
}

class TlsStreamTest : public ::testing::Test {
  protected:
    TlsStreamTest() {
        EventLoop::Options options;
        options.handle_signals = false;
        loop_ = std::move(EventLoop::create(options).value());
    }

    // Connects a client (dialling `host`) to a server over loopback; runs both until each one
    // failed, or the hello of the other arrived, or 5 s passed.
    void run(const TlsConfig& server, const TlsConfig& client, const std::string& host,
             std::chrono::milliseconds timeout = 5000ms) {
        auto server_ctx = TlsContext::server(server);
        auto client_ctx = TlsContext::client(client);
        ASSERT_TRUE(server_ctx) << server_ctx.error().message();
        ASSERT_TRUE(client_ctx) << client_ctx.error().message();
        auto [client_fd, server_fd] = connected_pair();
        std::string peer = "127.0.0.1:1";
        start(client_, "client", std::move(client_fd),
              TlsStream::client(*client_ctx, client_fd_, host, peer).value(), timeout);
        start(server_, "server", std::move(server_fd),
              TlsStream::server(*server_ctx, server_fd_, peer).value(), timeout);
        drive();
    }

    // Only a client, on a socket whose server end the test plays by hand; returns that end.
    sys::UniqueFd client_only(std::chrono::milliseconds timeout) {
        auto client_ctx = TlsContext::client(client_config(ca_));
        EXPECT_TRUE(client_ctx);
        auto [client_fd, server_fd] = connected_pair();
        start(client_, "client", std::move(client_fd),
              TlsStream::client(*client_ctx, client_fd_, "127.0.0.1", "127.0.0.1:9").value(),
              timeout);
        return std::move(server_fd);
    }

    std::pair<sys::UniqueFd, sys::UniqueFd> connected_pair() {
        auto listener = net::listen_tcp("127.0.0.1", 0).value();
        auto address = net::resolve("127.0.0.1", listener.port()).value().front();
        auto client = net::connect_start(address).value();
        std::optional<net::Accepted> accepted;
        while (!accepted) {
            accepted = net::accept_tcp(listener.fd.get()).value();
        }
        client_fd_ = client.get();
        server_fd_ = accepted->fd.get();
        return {std::move(client), std::move(accepted->fd)};
    }

    void start(End& end, std::string role, sys::UniqueFd fd, std::unique_ptr<TlsStream> stream,
               std::chrono::milliseconds timeout) {
        end.role = std::move(role);
        end.stream = std::move(stream);
        End* e = &end;
        end.watch =
            loop_->watch(std::move(fd), EPOLLIN | EPOLLOUT, [e](uint32_t ev) { e->on_events(ev); })
                .value();
        end.handshake = std::make_unique<Handshake>(
            *loop_, end.watch, *end.stream, timeout,
            [e](Result<> outcome) { e->on_handshake(std::move(outcome)); });
        end.handshake->step();
    }

    void drive() {
        auto deadline = SteadyClock::now() + 8s;
        while (SteadyClock::now() < deadline &&
               !(client_.finished("hello from server") && server_.finished("hello from client"))) {
            loop_->run_once(50ms);
        }
    }

    std::unique_ptr<EventLoop> loop_;
    TestCa ca_{"dora test CA"};
    End client_;
    End server_;
    int client_fd_ = -1;
    int server_fd_ = -1;
};

TEST_F(TlsStreamTest, HandshakeThenBytesBothWays) {
    run(server_config(ca_.issue({})), client_config(ca_), "127.0.0.1");
    EXPECT_EQ(client_.error, "");
    EXPECT_EQ(server_.error, "");
    EXPECT_EQ(client_.received, "hello from server");
    EXPECT_EQ(server_.received, "hello from client");
    EXPECT_NE(client_.stream->peer_certificate().find("CN=dora-test"), std::string::npos);
}

TEST_F(TlsStreamTest, MutualTlsPresentsAndChecksTheClientCertificate) {
    TlsConfig server = server_config(ca_.issue({}));
    server.root_ca = pem_from_string("root_ca_certificate", ca_.certificate());
    server.require_client_certificate = true;
    TlsConfig client = client_config(ca_);
    LeafOptions leaf;
    leaf.common_name = "client-7";
    KeyPair pair = ca_.issue(leaf);
    client.certificate = pem_from_string("connect_certificate", pair.certificate);
    client.private_key = pem_from_string("connect_private_key", pair.key);
    run(server, client, "localhost");
    EXPECT_EQ(server_.received, "hello from client") << server_.error;
    EXPECT_EQ(client_.received, "hello from server") << client_.error;
    EXPECT_NE(server_.stream->peer_certificate().find("CN=client-7"), std::string::npos);
}

TEST_F(TlsStreamTest, WrongCaIsNamedOnBothSides) {
    TestCa other("other CA");
    run(server_config(other.issue({})), client_config(ca_), "127.0.0.1");
    EXPECT_TRUE(dora::testing::has_text(
        client_.error,
        "certificate verify failed: unable to get local issuer certificate: the "
        "certificate of the server at 127.0.0.1:1"))
        << client_.error;
    EXPECT_TRUE(dora::testing::has_text(client_.error,
                                        "is not signed by the configured root_ca_certificate"))
        << client_.error;
    EXPECT_TRUE(
        dora::testing::has_text(server_.error, "the client at 127.0.0.1:1 refused our certificate"))
        << server_.error;
    EXPECT_TRUE(dora::testing::has_text(server_.error, "unknown CA")) << server_.error;
}

TEST_F(TlsStreamTest, ExpiredCertificateIsNamedWithItsDate) {
    LeafOptions leaf;
    leaf.not_before = -48h;
    leaf.not_after = -24h;
    run(server_config(ca_.issue(leaf)), client_config(ca_), "127.0.0.1");
    EXPECT_TRUE(dora::testing::has_text(client_.error, "expired on ")) << client_.error;
    EXPECT_TRUE(dora::testing::has_text(client_.error, "(its notAfter)")) << client_.error;
    EXPECT_TRUE(dora::testing::has_text(server_.error, "certificate expired")) << server_.error;
}

TEST_F(TlsStreamTest, WrongNameSaysWhichNamesTheCertificateHas) {
    LeafOptions leaf;
    leaf.dns_names = {"edge1.example"};
    leaf.ip_addresses = {"10.9.8.7"};
    run(server_config(ca_.issue(leaf)), client_config(ca_), "127.0.0.1");
    EXPECT_TRUE(dora::testing::has_text(
        client_.error, "is for DNS:edge1.example, IP:10.9.8.7, but we dialled '127.0.0.1'"))
        << client_.error;
    EXPECT_TRUE(dora::testing::has_text(client_.error, "verify_name_on_connect to false"))
        << client_.error;
    EXPECT_TRUE(dora::testing::has_text(server_.error, "refused our certificate")) << server_.error;
}

TEST_F(TlsStreamTest, NameCheckCanBeTurnedOff) {
    LeafOptions leaf;
    leaf.dns_names = {"edge1.example"};
    leaf.ip_addresses = {};
    TlsConfig client = client_config(ca_);
    client.verify_name = false;
    run(server_config(ca_.issue(leaf)), client, "127.0.0.1");
    EXPECT_EQ(client_.received, "hello from server") << client_.error;
}

TEST_F(TlsStreamTest, MutualTlsWithoutClientCertificateIsRefusedClearly) {
    TlsConfig server = server_config(ca_.issue({}));
    server.root_ca = pem_from_string("root_ca_certificate", ca_.certificate());
    server.require_client_certificate = true;
    run(server, client_config(ca_), "127.0.0.1");
    EXPECT_TRUE(dora::testing::has_text(
        server_.error, "the client at 127.0.0.1:1 presented no certificate, but enable_mtls"))
        << server_.error;
    EXPECT_TRUE(dora::testing::has_text(client_.error,
                                        "the server at 127.0.0.1:1 requires a client certificate"))
        << client_.error;
}

TEST_F(TlsStreamTest, PlainTcpClientOnTlsPortIsNamed) {
    auto server_ctx = TlsContext::server(server_config(ca_.issue({})));
    ASSERT_TRUE(server_ctx);
    auto [client_fd, server_fd] = connected_pair();
    start(server_, "server", std::move(server_fd),
          TlsStream::server(*server_ctx, server_fd_, "127.0.0.1:9").value(), 5000ms);
    ASSERT_TRUE(sys::write_all(client_fd.get(), std::string("\x14\x00\x01\x02", 4)));
    drive();
    EXPECT_EQ(server_.error,
              "the peer at 127.0.0.1:9 spoke plain TCP to a TLS port: connect "
              "with TLS");
}

TEST_F(TlsStreamTest, TlsClientOfAPlainServerIsTold) {
    sys::UniqueFd server_fd = client_only(5000ms);
    // A plain server answers with its own bytes.
    ASSERT_TRUE(sys::write_all(server_fd.get(), std::string("\x14\x00\x01\x02\x03\x04\x05", 7)));
    drive();
    EXPECT_TRUE(
        dora::testing::has_text(client_.error, "the server at 127.0.0.1:9 does not speak TLS"))
        << client_.error;
}

TEST_F(TlsStreamTest, SilentServerMeetsTheHandshakeDeadline) {
    sys::UniqueFd server_fd = client_only(200ms);
    drive();
    EXPECT_TRUE(dora::testing::has_text(
        client_.error, "no TLS handshake with the server at 127.0.0.1:9 within 200 ms"))
        << client_.error;
}

}  // namespace
}  // namespace dora::tls
