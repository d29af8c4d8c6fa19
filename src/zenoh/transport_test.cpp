// Loopback tests of the TCP transport: two of our transports, and a raw socket playing a
// misbehaving peer. One event loop runs in the test thread; every wait is a condition with a
// deadline.
#include "zenoh/transport.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "zenoh/test_loop.hpp"

namespace dora::zenoh {
namespace {

using namespace std::chrono_literals;

uint64_t fnv1a(Bytes b) {
    uint64_t h = 1469598103934665603ull;
    for (uint8_t c : b) {
        h = (h ^ c) * 1099511628211ull;
    }
    return h;
}

struct Recorder : TransportHandler {
    int established = 0;
    std::vector<std::string> keys;
    std::vector<size_t> sizes;
    std::vector<uint64_t> hashes;
    std::optional<std::string> closed;

    void on_established(Transport&) override { ++established; }
    void on_message(Transport&, const NetworkMessage& m, Reliability, Bytes) override {
        const auto* push = std::get_if<Push>(&m);
        ASSERT_NE(push, nullptr);
        keys.emplace_back(push->key.suffix);
        const auto& put = std::get<Put>(push->body);
        sizes.push_back(put.payload.size());
        hashes.push_back(fnv1a(put.payload));
    }
    void on_closed(Transport&, const Error& reason) override { closed = reason.message(); }
};

Push make_push(std::string_view key, Bytes payload) {
    Push p;
    p.key = WireExpr{0, key, false};
    Put put;
    put.payload = payload;
    p.body = put;
    return p;
}

class TransportTest : public testing::LoopTest {
  protected:
    TransportTest() : LoopTest(/*manual_time=*/true) {}

    void SetUp() override {
        server_config_.whatami = WhatAmI::kRouter;
        server_config_.log = log_sink();
        client_config_.log = server_config_.log;
        auto endpoint = parse_endpoint("tcp/127.0.0.1:0").value();
        listener_ = TcpListener::listen(*loop_, endpoint, [this](sys::UniqueFd fd) {
                        auto t = Transport::accept(*loop_, std::move(fd), server_config_, server_);
                        ASSERT_TRUE(t) << t.error().message();
                        server_transport_ = std::move(*t);
                    }).value();
    }

    Endpoint endpoint() const {
        return parse_endpoint("tcp/127.0.0.1:" + std::to_string(listener_->port())).value();
    }

    std::unique_ptr<Transport> connect() {
        auto t = Transport::connect(*loop_, endpoint(), client_config_, client_);
        EXPECT_TRUE(t) << t.error().message();
        return t ? std::move(*t) : nullptr;
    }

    std::unique_ptr<TcpListener> listener_;
    TransportConfig server_config_;
    TransportConfig client_config_;
    Recorder server_;
    Recorder client_;
    std::unique_ptr<Transport> server_transport_;
};

TEST_F(TransportTest, TwoTransportsHandshakeAndNegotiateTheSmallerBatchAndLease) {
    server_config_.batch_size = 2048;
    server_config_.lease = 3000ms;
    auto client = connect();
    ASSERT_TRUE(run_until([&] { return client_.established && server_.established; }));
    EXPECT_EQ(client->batch_size(), 2048);
    EXPECT_EQ(server_transport_->batch_size(), 2048);
    EXPECT_EQ(client->lease(), 3000ms);
    EXPECT_EQ(server_transport_->lease(), 3000ms);
    EXPECT_EQ(client->peer_zid(), server_config_.zid);
    EXPECT_EQ(server_transport_->peer_zid(), client_config_.zid);
    EXPECT_EQ(client->peer_whatami(), WhatAmI::kRouter);
    EXPECT_EQ(server_transport_->peer_whatami(), WhatAmI::kPeer);
}

TEST_F(TransportTest, MessagesArriveInOrderBothWaysInBatches) {
    auto client = connect();
    ASSERT_TRUE(run_until([&] { return client_.established && server_.established; }));
    constexpr int kCount = 5000;
    for (int i = 0; i < kCount; ++i) {
        std::string payload = "msg " + std::to_string(i);
        ASSERT_TRUE(client->send(make_push("a/b", as_bytes(payload))));
        ASSERT_TRUE(
            server_transport_->send(make_push("c/d", as_bytes(payload)),
                                    i % 2 ? Reliability::kBestEffort : Reliability::kReliable));
    }
    ASSERT_TRUE(run_until(
        [&] { return server_.sizes.size() == kCount && client_.sizes.size() == kCount; }));
    for (int i = 0; i < kCount; ++i) {
        std::string payload = "msg " + std::to_string(i);
        ASSERT_EQ(server_.hashes[static_cast<size_t>(i)], fnv1a(as_bytes(payload))) << i;
        ASSERT_EQ(client_.hashes[static_cast<size_t>(i)], fnv1a(as_bytes(payload))) << i;
    }
    EXPECT_EQ(server_.keys[0], "a/b");
    EXPECT_EQ(client_.keys[0], "c/d");
    EXPECT_FALSE(server_.closed);
    EXPECT_FALSE(client_.closed);
}

TEST_F(TransportTest, FortyMiBPayloadGoesThroughFragmentation) {
    server_config_.batch_size = 65535;
    server_config_.max_message_size = size_t{64} << 20;
    auto client = connect();
    ASSERT_TRUE(run_until([&] { return client_.established && server_.established; }));
    std::vector<uint8_t> big(size_t{40} << 20);
    for (size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<uint8_t>(i * 131 + (i >> 16));
    }
    ASSERT_TRUE(client->send(make_push("big", big)));
    std::string small = "after";
    ASSERT_TRUE(client->send(make_push("small", as_bytes(small))));
    ASSERT_TRUE(run_until([&] { return server_.sizes.size() == 2; }, 60s));
    EXPECT_EQ(server_.sizes[0], big.size());
    EXPECT_EQ(server_.hashes[0], fnv1a(big));
    EXPECT_EQ(server_.keys[1], "small");
    EXPECT_FALSE(server_.closed);
}

TEST_F(TransportTest, AFragmentedMessageOverTheLimitIsDroppedAndTheLinkStays) {
    server_config_.max_message_size = size_t{1} << 20;
    auto client = connect();
    ASSERT_TRUE(run_until([&] { return client_.established && server_.established; }));
    std::vector<uint8_t> big(size_t{2} << 20, 7);
    std::string small = "still here";
    ASSERT_TRUE(client->send(make_push("big", big)));
    ASSERT_TRUE(client->send(make_push("small", as_bytes(small))));
    ASSERT_TRUE(run_until([&] { return !server_.sizes.empty(); }));
    EXPECT_EQ(server_.keys, std::vector<std::string>{"small"});
    EXPECT_TRUE(
        logged("over the 1048576 byte limit (transport.link.rx.max_message_size in "
               "ZENOH_CONFIG)"));
    EXPECT_EQ(server_transport_->state(), Transport::State::kEstablished);
}

TEST_F(TransportTest, CloseIsSeenByThePeer) {
    auto client = connect();
    ASSERT_TRUE(run_until([&] { return client_.established && server_.established; }));
    client->close(kCloseGeneric);
    ASSERT_TRUE(client_.closed.has_value());
    ASSERT_TRUE(run_until([&] { return server_.closed.has_value(); }));
    EXPECT_NE(server_.closed->find("peer sent CLOSE (reason 0, session)"), std::string::npos)
        << *server_.closed;
}

TEST_F(TransportTest, IdleLinkStaysUpThroughKeepAlives) {
    server_config_.lease = 150ms;
    client_config_.lease = 150ms;
    auto client = connect();
    ASSERT_TRUE(run_until([&] { return client_.established && server_.established; }));
    pass_time(600ms);  // four leases without data: only keep-alives keep the link up
    EXPECT_FALSE(server_.closed) << *server_.closed;
    EXPECT_FALSE(client_.closed) << *client_.closed;
    EXPECT_EQ(client->state(), Transport::State::kEstablished);
}

TEST_F(TransportTest, HandshakeOverIpv6Loopback) {
    auto any6 = parse_endpoint("tcp/[::1]:0").value();
    std::unique_ptr<Transport> accepted;
    auto listener6 = TcpListener::listen(*loop_, any6, [&](sys::UniqueFd fd) {
        accepted = Transport::accept(*loop_, std::move(fd), server_config_, server_).value();
    });
    if (!listener6) {
        GTEST_SKIP() << "no IPv6 loopback here: " << listener6.error().message();
    }
    auto endpoint = parse_endpoint("tcp/[::1]:" + std::to_string((*listener6)->port())).value();
    auto client = Transport::connect(*loop_, endpoint, client_config_, client_).value();
    ASSERT_TRUE(run_until([&] { return client_.established && server_.established; }));
}

TEST_F(TransportTest, ConnectionRefusedIsReportedAsClosed) {
    auto endpoint = this->endpoint();
    listener_.reset();
    auto t = Transport::connect(*loop_, endpoint, client_config_, client_);
    ASSERT_TRUE(t);
    ASSERT_TRUE(run_until([&] { return client_.closed.has_value(); }));
    EXPECT_NE(client_.closed->find("refused"), std::string::npos) << *client_.closed;
}

}  // namespace
}  // namespace dora::zenoh
