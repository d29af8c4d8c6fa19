// Our acceptor against a raw socket that plays the peer byte by byte: zenoh-pico's captured
// handshake, a peer that goes silent, one that sends hostile bytes, a wrong cookie, plain EOF.
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>

#include "zenoh/test_loop.hpp"
#include "zenoh/test_peer.hpp"
#include "zenoh/transport.hpp"

namespace dora::zenoh {
namespace {

using namespace std::chrono_literals;

struct Handler : TransportHandler {
    int established = 0;
    int messages = 0;
    std::optional<std::string> closed;
    void on_established(Transport&) override { ++established; }
    void on_message(Transport&, const NetworkMessage&, Reliability, Bytes) override { ++messages; }
    void on_closed(Transport&, const Error& reason) override { closed = reason.message(); }
};

std::vector<uint8_t> hex(std::string_view h) { return from_hex(h).value(); }

class RawPeerTest : public testing::LoopTest {
  protected:
    RawPeerTest() : LoopTest(/*manual_time=*/true) {}

    void SetUp() override {
        config_.whatami = WhatAmI::kRouter;
        config_.log = log_sink();
        auto endpoint = parse_endpoint("tcp/127.0.0.1:0").value();
        listener_ = TcpListener::listen(*loop_, endpoint, [this](sys::UniqueFd fd) {
                        transport_ =
                            Transport::accept(*loop_, std::move(fd), config_, handler_).value();
                    }).value();
    }

    std::vector<uint8_t> next_batch(testing::RawPeer& peer) {
        std::optional<std::vector<uint8_t>> batch;
        EXPECT_TRUE(run_until([&] { return (batch = peer.try_batch()).has_value(); }));
        return batch.value_or(std::vector<uint8_t>{});
    }

    // Plays zenoh-pico's captured client handshake (client_pub.jsonl); returns the INIT ack.
    Init handshake(testing::RawPeer& peer) {
        peer.send_batch(hex("c109f2a85d4c129ffc4318f57e46aabc6ed1e50a00082701"));
        ack_bytes_ = next_batch(peer);
        auto item = decode_single(ack_bytes_);
        EXPECT_TRUE(item) << item.error().message();
        Init ack = std::get<Init>(item.value());
        std::vector<uint8_t> open{0x42, 0x0a, 0x00};  // OPEN syn: T, lease 10 s, sn 0, cookie
        Writer w(open);
        w.zbytes(ack.cookie);
        peer.send_batch(open);
        auto open_ack = decode_single(next_batch(peer));
        EXPECT_TRUE(open_ack && std::holds_alternative<Open>(*open_ack));
        return ack;
    }

    std::unique_ptr<TcpListener> listener_;
    TransportConfig config_;
    Handler handler_;
    std::unique_ptr<Transport> transport_;
    std::vector<uint8_t> ack_bytes_;
};

TEST_F(RawPeerTest, PicoClientHandshakeNegotiatesItsBatchAndGetsACookie) {
    testing::RawPeer peer(listener_->port());
    Init ack = handshake(peer);
    EXPECT_TRUE(ack.ack);
    EXPECT_EQ(ack.whatami, WhatAmI::kRouter);
    EXPECT_EQ(ack.batch_size, 2048);
    EXPECT_EQ(ack.resolution, 0x0a);
    EXPECT_EQ(ack.patch, 1u);
    EXPECT_EQ(ack.cookie.size(), 16u);
    ASSERT_TRUE(run_until([&] { return handler_.established == 1; }));
    EXPECT_EQ(to_hex(transport_->peer_zid().bytes()), "a85d4c129ffc4318f57e46aabc6ed1e5");
    EXPECT_EQ(transport_->peer_whatami(), WhatAmI::kClient);
    // The captured declaration and interest frames from the same session are accepted.
    peer.send_batch(hex("25001e2001000e64656d6f2f6578616d706c652f61"));
    peer.send_batch(hex("25017902d301"));
    auto push = hex("25025d010115");
    push.resize(push.size() + 21, 'x');
    peer.send_batch(push);
    ASSERT_TRUE(run_until([&] { return handler_.messages == 3; }));
}

TEST_F(RawPeerTest, PicoInitWithoutSizesMeansTheDefaults) {
    // The 65535 build omits S (big_client_sub capture): resolution 0x0a, batch 65535.
    testing::RawPeer peer(listener_->port());
    peer.send_batch(hex("8109f270791e60e3966fd48f2981ac79f2809c2701"));
    auto ack = std::get<Init>(decode_single(next_batch(peer)).value());
    EXPECT_EQ(ack.batch_size, kDefaultBatchSize);
    EXPECT_EQ(ack.resolution, kDefaultResolution);
    EXPECT_EQ(ack.patch, 1u);
}

TEST_F(RawPeerTest, SilentPeerExpiresAfterTheLease) {
    config_.lease = 200ms;
    testing::RawPeer peer(listener_->port());
    handshake(peer);
    ASSERT_TRUE(run_until([&] { return handler_.established == 1; }));
    pass_time(150ms);
    EXPECT_FALSE(handler_.closed.has_value());
    pass_time(100ms);  // silent for more than the lease, checked every lease/4
    ASSERT_TRUE(handler_.closed.has_value());
    EXPECT_NE(handler_.closed->find("lease expired"), std::string::npos) << *handler_.closed;
    // The silent peer was told why: keep-alives, then CLOSE with reason 5 (expired).
    bool got_close = false;
    for (int i = 0; i < 100 && !got_close; ++i) {
        auto batch = next_batch(peer);
        auto item = decode_single(batch);
        if (item && std::holds_alternative<Close>(*item)) {
            EXPECT_EQ(std::get<Close>(*item).reason, kCloseExpired);
            got_close = true;
        }
    }
    EXPECT_TRUE(got_close);
}

TEST_F(RawPeerTest, HostileBytesCloseTheLinkWithALoggedReason) {
    testing::RawPeer peer(listener_->port());
    handshake(peer);
    ASSERT_TRUE(run_until([&] { return handler_.established == 1; }));
    // FRAME sn 0 then a PUSH whose suffix length runs past the batch.
    peer.send_batch(hex("2500 3d00ffffffff0f61"));
    ASSERT_TRUE(run_until([&] { return handler_.closed.has_value(); }));
    EXPECT_NE(handler_.closed->find("invalid batch from peer"), std::string::npos)
        << *handler_.closed;
    EXPECT_NE(handler_.closed->find("exceeds"), std::string::npos) << *handler_.closed;
    EXPECT_TRUE(logged("closed: invalid batch from peer"));
    auto item = decode_single(next_batch(peer));
    ASSERT_TRUE(item && std::holds_alternative<Close>(*item));
    EXPECT_EQ(std::get<Close>(*item).reason, kCloseInvalid);
}

TEST_F(RawPeerTest, UnknownTransportMessageIsHostileToo) {
    testing::RawPeer peer(listener_->port());
    peer.send_batch(hex("1f 00 00"));
    ASSERT_TRUE(run_until([&] { return handler_.closed.has_value(); }));
    EXPECT_NE(handler_.closed->find("unknown transport message id"), std::string::npos)
        << *handler_.closed;
}

TEST_F(RawPeerTest, WrongCookieIsRefused) {
    testing::RawPeer peer(listener_->port());
    peer.send_batch(hex("c109f2a85d4c129ffc4318f57e46aabc6ed1e50a00082701"));
    next_batch(peer);
    peer.send_batch(hex("420a00 04 01020304"));
    ASSERT_TRUE(run_until([&] { return handler_.closed.has_value(); }));
    EXPECT_NE(handler_.closed->find("cookie"), std::string::npos) << *handler_.closed;
    EXPECT_EQ(handler_.established, 0);
}

TEST_F(RawPeerTest, WrongVersionIsRefused) {
    testing::RawPeer peer(listener_->port());
    peer.send_batch(hex("0108f2a85d4c129ffc4318f57e46aabc6ed1e5"));
    ASSERT_TRUE(run_until([&] { return handler_.closed.has_value(); }));
    EXPECT_NE(handler_.closed->find("version 0x08"), std::string::npos) << *handler_.closed;
}

TEST_F(RawPeerTest, PlainEofIsHowPicoLeaves) {
    testing::RawPeer peer(listener_->port());
    handshake(peer);
    ASSERT_TRUE(run_until([&] { return handler_.established == 1; }));
    peer.close();
    ASSERT_TRUE(run_until([&] { return handler_.closed.has_value(); }));
    EXPECT_NE(handler_.closed->find("EOF"), std::string::npos) << *handler_.closed;
}

// A FRAGMENT batch: header, then `size` payload bytes.
std::vector<uint8_t> fragment(bool reliable, uint64_t sn, bool first, bool more, size_t size) {
    std::vector<uint8_t> out;
    Writer w(out);
    Fragment f;
    f.reliable = reliable;
    f.sn = sn;
    f.first = first;
    f.more = more;
    encode(w, f);
    out.resize(out.size() + size, 0x5a);
    return out;
}

size_t count_logged(const std::vector<std::string>& logs, std::string_view needle) {
    return static_cast<size_t>(std::count_if(logs.begin(), logs.end(), [&](const auto& line) {
        return line.find(needle) != std::string::npos;
    }));
}

TEST_F(RawPeerTest, FragmentsBeforeTheHandshakeCloseTheLinkAndGetNoBuffer) {
    testing::RawPeer peer(listener_->port());
    ASSERT_TRUE(run_until([&] { return transport_ != nullptr; }));
    peer.send_batch(fragment(true, 0, true, true, 1900));
    ASSERT_TRUE(run_until([&] { return handler_.closed.has_value(); }));
    EXPECT_NE(handler_.closed->find("unexpected FRAGMENT during the handshake"), std::string::npos)
        << *handler_.closed;
    EXPECT_EQ(transport_->reassembly_bytes(), 0u);
    EXPECT_EQ(handler_.messages, 0);
}

TEST_F(RawPeerTest, ReassemblyOfBothChannelsStaysWithinTheLimitAndADropIsLoggedOnce) {
    config_.max_message_size = 20000;
    testing::RawPeer peer(listener_->port());
    handshake(peer);
    ASSERT_TRUE(run_until([&] { return handler_.established == 1; }));
    uint64_t reliable_sn = 0;
    uint64_t best_effort_sn = 0;
    // 16000 bytes of a message that never ends on the reliable channel ...
    for (int i = 0; i < 8; ++i) {
        peer.send_batch(fragment(true, reliable_sn++, i == 0, true, 2000));
    }
    // ... then best-effort messages that would take the link past 20000 bytes.
    for (int message = 0; message < 3; ++message) {
        for (int i = 0; i < 3; ++i) {
            peer.send_batch(fragment(false, best_effort_sn++, i == 0, true, 2000));
        }
    }
    ASSERT_TRUE(run_until([&] { return transport_->dropped_messages() == 3; }));
    EXPECT_LE(transport_->reassembly_bytes(), 20000u);
    EXPECT_EQ(count_logged(logs_, "dropped a fragmented message"), 1u);
    EXPECT_TRUE(logged("of what a link reassembles at once")) << logs_.size();
    EXPECT_FALSE(handler_.closed.has_value());  // a drop, not a protocol error
    EXPECT_EQ(transport_->state(), Transport::State::kEstablished);
}

TEST_F(RawPeerTest, HandshakeThatNeverFinishesTimesOut) {
    config_.handshake_timeout = 100ms;
    testing::RawPeer peer(listener_->port());
    ASSERT_TRUE(run_until([&] { return transport_ != nullptr; }));
    pass_time(90ms);
    EXPECT_FALSE(handler_.closed.has_value());
    pass_time(20ms);
    ASSERT_TRUE(handler_.closed.has_value());
    EXPECT_NE(handler_.closed->find("handshake not finished"), std::string::npos);
}

}  // namespace
}  // namespace dora::zenoh
