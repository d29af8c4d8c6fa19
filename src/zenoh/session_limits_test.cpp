// What a peer can make a session hold (session.hpp, "Bounds"): accepted links before INIT/OPEN,
// declarations per link, key-expression length; each refusal logged once, the rest undisturbed.
#include <algorithm>

#include "zenoh/session_fixture.hpp"

namespace dora::zenoh {
namespace {

using testing::RawPeer;

class SessionLimitsTest : public testing::SessionTest {
  protected:
    std::unique_ptr<Session> router(const std::function<void(ZenohConfig&)>& tune) {
        SessionOptions options;
        options.config.mode = Mode::kRouter;
        options.config.listen.push_back(parse_endpoint("tcp/127.0.0.1:0").value());
        tune(options.config);
        options.transport.log = log_sink();
        auto session = Session::open(*loop_, std::move(options));
        EXPECT_TRUE(session) << session.error().message();
        return session ? std::move(*session) : nullptr;
    }

    size_t count_logged(std::string_view needle) const {
        return static_cast<size_t>(std::count_if(logs_.begin(), logs_.end(), [&](const auto& l) {
            return l.find(needle) != std::string::npos;
        }));
    }

    // A client that subscribes `key` through `r` and one that publishes there: the traffic that
    // must stay undisturbed while a raw peer misbehaves.
    struct Bystanders {
        std::unique_ptr<Session> sub;
        std::unique_ptr<Session> pub;
        testing::Received got;
        Subscription subscription;
    };
    void bystanders(Session& r, Bystanders& b) {
        b.sub = open(Mode::kClient, {}, {at(r)});
        b.pub = open(Mode::kClient, {}, {at(r)});
        b.subscription = b.sub->declare_subscriber("calm/key", b.got.callback()).value();
        ASSERT_TRUE(
            run_until([&] { return b.sub->face_count() == 1 && b.pub->face_count() == 1; }));
    }
    bool still_delivered(Bystanders& b, std::string_view payload) {
        return run_until([&] {
            (void)b.pub->put("calm/key", as_bytes(payload));
            return b.got.has("calm/key", payload);
        });
    }
};

TEST_F(SessionLimitsTest, DeclarationsBeyondTheLinkLimitAreRefusedAndLoggedOnce) {
    auto r = router([](ZenohConfig& c) { c.limits.declarations = 50; });
    Bystanders calm;
    bystanders(*r, calm);
    RawPeer flood(r->listen_ports().at(0));
    pico_handshake(flood);
    std::vector<std::string> keys;
    for (int i = 0; i < 300; ++i) {
        keys.push_back(fmt::format("flood/{}", i));
    }
    for (uint64_t i = 0; i < keys.size(); ++i) {
        Declare d;
        d.decl.kind = DeclKind::kSubscriber;
        d.decl.id = i + 1;
        d.decl.key = WireExpr{0, keys[i], false};
        flood.send_batch(testing::framed(i, d));
    }
    // The 50 first are routed to the flooding link; the rest were refused.
    std::vector<std::string> pushed;
    ASSERT_TRUE(run_until([&] {
        (void)calm.pub->put("flood/49", as_bytes("in"));
        append_push_keys(flood, pushed);
        return !pushed.empty();
    }));
    (void)calm.pub->put("flood/50", as_bytes("refused"));
    (void)calm.pub->put("flood/299", as_bytes("refused"));
    settle();
    append_push_keys(flood, pushed);
    EXPECT_EQ(std::count(pushed.begin(), pushed.end(), "flood/50"), 0);
    EXPECT_EQ(std::count(pushed.begin(), pushed.end(), "flood/299"), 0);
    EXPECT_EQ(count_logged("refused a subscriber from"), 1u);
    EXPECT_EQ(count_logged("dora.limits.declarations_per_link"), 1u);
    EXPECT_FALSE(flood.eof());  // refused, not disconnected
    EXPECT_TRUE(still_delivered(calm, "after the flood"));
}

TEST_F(SessionLimitsTest, A64KiBKeyExpressionClosesItsLinkAndIsLoggedOnceEscaped) {
    auto r = router([](ZenohConfig&) {});
    Bystanders calm;
    bystanders(*r, calm);
    RawPeer attacker(r->listen_ports().at(0));
    pico_handshake(attacker);
    // A PUSH whose key is 64 KiB of '\n' and 'k', cut into FRAGMENTs (a batch is 2048 bytes).
    std::string key(65536, 'k');
    for (size_t i = 0; i < key.size(); i += 7) key[i] = '\n';
    Push push;
    push.key = WireExpr{0, key, false};
    std::string payload = "x";
    push.body = Put{{}, {}, {}, {}, as_bytes(payload)};
    std::vector<uint8_t> message;
    Writer mw(message);
    encode(mw, NetworkMessage(push));
    uint64_t sn = 0;
    for (size_t offset = 0; offset < message.size(); offset += 2000) {
        const size_t n = std::min<size_t>(2000, message.size() - offset);
        std::vector<uint8_t> batch;
        Writer w(batch);
        Fragment f;
        f.sn = sn++;
        f.first = offset == 0;
        f.more = offset + n < message.size();
        encode(w, f);
        batch.insert(batch.end(), message.begin() + static_cast<long>(offset),
                     message.begin() + static_cast<long>(offset + n));
        attacker.send_batch(batch);
    }
    ASSERT_TRUE(run_until([&] {
        while (attacker.try_batch()) {
        }
        return attacker.eof();
    }));
    ASSERT_EQ(count_logged("a key expression of 65536 bytes is over the limit of 4096"), 1u);
    for (const auto& line : logs_) {
        EXPECT_EQ(line.find('\n'), std::string::npos) << "a raw newline reached the log";
        EXPECT_LT(line.size(), 1000u) << line;
    }
    EXPECT_TRUE(still_delivered(calm, "after the long key"));
}

TEST_F(SessionLimitsTest, LinksThatHaveNotOpenedAreCappedPerAddressAndTheNewestIsClosed) {
    auto r = router([](ZenohConfig& c) {
        c.accept_pending = 10;
        c.limits.pending_per_address = 2;
    });
    std::vector<std::unique_ptr<RawPeer>> idle;
    for (int i = 0; i < 5; ++i) {
        idle.push_back(std::make_unique<RawPeer>(r->listen_ports().at(0)));
    }
    auto closed = [&](size_t i) {
        (void)idle[i]->try_batch();
        return idle[i]->eof();
    };
    ASSERT_TRUE(run_until([&] { return closed(2) && closed(3) && closed(4); }));
    EXPECT_FALSE(closed(0));
    EXPECT_FALSE(closed(1));
    EXPECT_EQ(count_logged("have not authenticated yet (the limit per address)"), 1u);
    // One of the first two opens: its place is free again.
    pico_handshake(*idle[0]);
    ASSERT_TRUE(run_until([&] { return r->face_count() == 1; }));
    RawPeer late(r->listen_ports().at(0));
    pico_handshake(late);
    ASSERT_TRUE(run_until([&] { return r->face_count() == 2; }));
}

TEST_F(SessionLimitsTest, EstablishedLinksBeyondMaxSessionsAreClosed) {
    auto r = router([](ZenohConfig& c) { c.max_sessions = 1; });
    RawPeer first(r->listen_ports().at(0));
    pico_handshake(first);
    RawPeer second(r->listen_ports().at(0));
    pico_handshake(second);
    ASSERT_TRUE(run_until([&] {
        while (second.try_batch()) {
        }
        return second.eof();
    }));
    EXPECT_EQ(r->face_count(), 1u);
    EXPECT_EQ(count_logged("transport.unicast.max_sessions"), 1u);
}

}  // namespace
}  // namespace dora::zenoh
