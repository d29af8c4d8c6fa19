// Sessions over loopback: peer to peer, clients through a router, and a raw socket playing the
// zenoh-pico publisher whose INTEREST a router must answer (docs/zenoh-protocol.md section 5.3).
#include "zenoh/session.hpp"

#include <gtest/gtest.h>

#include "zenoh/session_fixture.hpp"

namespace dora::zenoh {
namespace {

using namespace std::chrono_literals;
using testing::framed;
using testing::hex;
using testing::Received;
using testing::SessionTest;

template <typename T>
bool contains(const std::vector<NetworkMessage>& messages) {
    return std::any_of(messages.begin(), messages.end(),
                       [](const NetworkMessage& m) { return std::holds_alternative<T>(m); });
}

TEST_F(SessionTest, PeerReceivesOnlyWhatItSubscribed) {
    auto a = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    auto b = open(Mode::kPeer, {}, {at(*a)});
    Received got;
    auto subscription = b->declare_subscriber("demo/**", got.callback()).value();
    ASSERT_TRUE(run_until([&] { return a->face_count() == 1 && b->face_count() == 1; }));
    // Wait until A has learnt B's subscriber, then publish.
    ASSERT_TRUE(run_until([&] {
        (void)a->put("demo/probe", as_bytes("p"));
        return !got.samples.empty();
    }));
    // One link keeps order: had other/y been sent, it would arrive before demo/x.
    ASSERT_TRUE(a->put("other/y", as_bytes("no")));
    ASSERT_TRUE(a->put("demo/x", as_bytes("yes")));
    ASSERT_TRUE(run_until([&] { return got.has("demo/x", "yes"); }));
    EXPECT_FALSE(got.has_key("other/y"));
}

TEST_F(SessionTest, ReassemblyFollowsTheConfiguredMaximumMessageSize) {
    auto a = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    auto b = open(Mode::kPeer, {}, {at(*a)}, 1 << 20);
    std::vector<std::pair<std::string, size_t>> got;  // key, payload size
    auto subscription = b->declare_subscriber("big/**", [&](const Sample& s) {
                             got.emplace_back(std::string(s.key), s.put.payload.size());
                         }).value();
    ASSERT_TRUE(run_until([&] { return a->face_count() == 1 && b->face_count() == 1; }));
    ASSERT_TRUE(run_until([&] {
        (void)a->put("big/probe", as_bytes("p"));
        return !got.empty();
    }));
    std::vector<uint8_t> over(2 << 20, 1);
    std::vector<uint8_t> under(900 << 10, 2);
    ASSERT_TRUE(a->put("big/over", over));
    ASSERT_TRUE(a->put("big/under", under));
    auto has = [&](const std::string& key) {
        return std::any_of(got.begin(), got.end(), [&](const auto& g) { return g.first == key; });
    };
    ASSERT_TRUE(run_until([&] { return has("big/under"); }));
    EXPECT_FALSE(has("big/over"));
    EXPECT_EQ(got.back(), (std::pair<std::string, size_t>{"big/under", under.size()}));
    EXPECT_TRUE(
        logged("over the 1048576 byte limit (transport.link.rx.max_message_size in "
               "ZENOH_CONFIG)"));
}

// A receiver's backpressure (daemon/ingress.hpp): while reading is held nothing arrives; once
// released, everything sent meanwhile arrives, in order.
TEST_F(SessionTest, HeldReadingDeliversNothingUntilReleasedThenEverythingInOrder) {
    auto a = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    auto b = open(Mode::kPeer, {}, {at(*a)});
    Received got;
    auto subscription = b->declare_subscriber("demo/**", got.callback()).value();
    ASSERT_TRUE(run_until([&] { return a->face_count() == 1 && b->face_count() == 1; }));
    ASSERT_TRUE(run_until([&] {
        (void)a->put("demo/probe", as_bytes("p"));
        return !got.samples.empty();
    }));
    auto sent = [&] {
        std::vector<std::string> out;
        for (const auto& [key, payload] : got.samples) {
            if (key == "demo/x") {
                out.push_back(payload);
            }
        }
        return out;
    };
    b->hold_reading();
    b->hold_reading();  // two holders: both must release
    std::vector<std::string> expected;
    for (int i = 0; i < 200; ++i) {
        expected.push_back(std::to_string(i));
        ASSERT_TRUE(a->put("demo/x", as_bytes(expected.back())));
    }
    EXPECT_FALSE(run_until([&] { return !sent().empty(); }, 300ms));
    b->release_reading();
    EXPECT_FALSE(run_until([&] { return !sent().empty(); }, 300ms));
    b->release_reading();
    ASSERT_TRUE(run_until([&] { return sent().size() == expected.size(); }));
    EXPECT_EQ(sent(), expected);
}

// The publishing side of backpressure: a `wait` sample is not queued on a link that has more
// than kPublishHoldBytes unwritten (here: its receiver does not read); it and the samples after
// it stay with the Publisher, unreleased, and go once the link drains.
TEST_F(SessionTest, WaitingSamplesStayWithThePublisherWhileTheLinkIsCongested) {
    auto a = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    auto b = open(Mode::kPeer, {}, {at(*a)});
    std::vector<size_t> got;  // payload sizes of demo/big, in arrival order
    auto subscription = b->declare_subscriber("demo/**", [&](const Sample& s) {
                             if (s.key == "demo/big") {
                                 got.push_back(s.put.payload.size());
                             }
                         }).value();
    ASSERT_TRUE(run_until([&] { return a->face_count() == 1 && b->face_count() == 1; }));
    ASSERT_TRUE(run_until([&] { return a->has_remote_subscriber("demo/big"); }));
    b->hold_reading();
    Publisher publisher = a->publisher();
    constexpr size_t kSamples = 40;
    std::vector<uint8_t> payload(1 << 20, 7);  // 40 MiB in all: more than sockets take
    size_t released = 0;
    std::vector<OutgoingSample> batch;
    for (size_t i = 0; i < kSamples; ++i) {
        batch.push_back(
            OutgoingSample{"demo/big", payload, std::nullopt, [&] { ++released; }, true, true});
    }
    ASSERT_TRUE(publisher.publish(std::move(batch)));
    // A has queued what its link takes past the hold mark and keeps the rest.
    ASSERT_TRUE(run_until([&] { return released > 0 && a->pending_bytes() > kPublishHoldBytes; }));
    (void)run_until([] { return false; }, 200ms);
    EXPECT_LT(released, kSamples);
    EXPECT_EQ(publisher.queued(), kSamples - released);
    EXPECT_LT(a->pending_bytes(), kPublishHoldBytes + 2 * payload.size());
    b->release_reading();
    ASSERT_TRUE(run_until([&] { return got.size() == kSamples; }, 30s));
    EXPECT_EQ(released, kSamples);
    EXPECT_EQ(publisher.queued(), 0u);
    EXPECT_EQ(got, std::vector<size_t>(kSamples, payload.size()));
}

TEST_F(SessionTest, LocalSubscribersGetLocalPuts) {
    auto a = open(Mode::kPeer, {}, {});
    Received got;
    auto subscription = a->declare_subscriber("a/*", got.callback()).value();
    ASSERT_TRUE(a->put("a/b", as_bytes("1")));
    ASSERT_TRUE(a->put("a/b/c", as_bytes("2")));
    subscription.undeclare();
    ASSERT_TRUE(a->put("a/b", as_bytes("3")));
    ASSERT_EQ(got.samples.size(), 1u);
    EXPECT_EQ(got.samples[0].second, "1");
    EXPECT_FALSE(a->put("a//b", as_bytes("bad")));
}

TEST_F(SessionTest, DestroyingASubscriptionUndeclaresItToThePeer) {
    auto a = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    auto b = open(Mode::kPeer, {}, {at(*a)});
    Received got;
    std::optional<Subscription> subscription =
        b->declare_subscriber("demo/**", got.callback()).value();
    EXPECT_TRUE(subscription->active());
    ASSERT_TRUE(run_until([&] { return a->has_remote_subscriber("demo/x"); }));
    subscription.reset();
    ASSERT_TRUE(run_until([&] { return !a->has_remote_subscriber("demo/x"); }));
    ASSERT_TRUE(b->put("demo/x", as_bytes("local")));
    EXPECT_TRUE(got.samples.empty());
}

TEST_F(SessionTest, TrackedKeyCountsPutsThatReachNoSubscriber) {
    auto a = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    auto b = open(Mode::kPeer, {}, {at(*a)});
    a->track_undelivered("demo/x");
    ASSERT_TRUE(a->put("demo/x", as_bytes("nobody")));
    ASSERT_TRUE(a->put("demo/untracked", as_bytes("nobody")));
    EXPECT_EQ(a->undelivered("demo/x"), 1u);
    EXPECT_EQ(a->undelivered("demo/untracked"), 0u);

    Received got;
    auto subscription = b->declare_subscriber("demo/**", got.callback()).value();
    ASSERT_TRUE(run_until([&] { return a->has_remote_subscriber("demo/x"); }));
    ASSERT_TRUE(a->put("demo/x", as_bytes("delivered")));
    ASSERT_TRUE(run_until([&] { return got.has("demo/x", "delivered"); }));
    EXPECT_EQ(a->undelivered("demo/x"), 1u);

    // The subscriber's machine goes away: what is put meanwhile is counted, not lost silently.
    b.reset();
    ASSERT_TRUE(run_until([&] { return !a->has_remote_subscriber("demo/x"); }));
    ASSERT_TRUE(a->put("demo/x", as_bytes("lost")));
    EXPECT_EQ(a->undelivered("demo/x"), 2u);

    a->untrack_undelivered("demo/x");
    ASSERT_TRUE(a->put("demo/x", as_bytes("not counted")));
    EXPECT_EQ(a->undelivered("demo/x"), 0u);
}

// The source info of every Put a raw peer received on `key`, in order.
std::vector<std::optional<SourceInfo>> source_infos(const std::vector<NetworkMessage>& messages,
                                                    std::string_view key) {
    std::vector<std::optional<SourceInfo>> out;
    for (const auto& m : messages) {
        const auto* push = std::get_if<Push>(&m);
        if (push != nullptr && push->key.suffix == key) {
            out.push_back(std::get<Put>(push->body).source_info);
        }
    }
    return out;
}

TEST_F(SessionTest, TrackedKeyNumbersTheCopiesPerReceiverAcrossReconnections) {
    auto a = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    a->track_undelivered("demo/x");
    std::vector<std::optional<SourceInfo>> seen;
    for (int link = 0; link < 2; ++link) {
        // The same receiving session (the raw peer's zid is fixed) on a new link each time.
        std::optional<testing::RawPeer> sub(std::in_place, a->listen_ports().at(0));
        pico_handshake(*sub);
        sub->send_batch(hex("25011e6201000764656d6f2f2a2a"));  // D_SUBSCRIBER demo/**
        ASSERT_TRUE(run_until([&] { return a->has_remote_subscriber("demo/x"); }));
        ASSERT_TRUE(a->put("demo/x", as_bytes("one")));
        ASSERT_TRUE(a->put("demo/untracked", as_bytes("not numbered")));
        ASSERT_TRUE(a->put("demo/x", as_bytes("two")));
        std::vector<NetworkMessage> got;
        ASSERT_TRUE(run_until([&] {
            auto more = drain(*sub);
            got.insert(got.end(), more.begin(), more.end());
            return source_infos(got, "demo/x").size() == 2;
        }));
        auto numbered = source_infos(got, "demo/x");
        seen.insert(seen.end(), numbered.begin(), numbered.end());
        auto untracked = source_infos(got, "demo/untracked");
        ASSERT_EQ(untracked.size(), 1u);
        EXPECT_FALSE(untracked[0].has_value());
        sub.reset();  // the link drops
        ASSERT_TRUE(run_until([&] { return a->face_count() == 0; }));
    }
    ASSERT_EQ(seen.size(), 4u);
    for (size_t i = 0; i < seen.size(); ++i) {
        ASSERT_TRUE(seen[i].has_value());
        EXPECT_EQ(seen[i]->zid, a->zid());
        EXPECT_EQ(seen[i]->eid, kCopiesFromOne);
        EXPECT_EQ(seen[i]->sn, i + 1) << "numbered from 1 and on over the second link";
    }
    EXPECT_EQ(a->undelivered("demo/x"), 0u);
}

TEST_F(SessionTest, MovedSubscriptionStaysDeclared) {
    auto a = open(Mode::kPeer, {}, {});
    Received got;
    std::vector<Subscription> held;
    {
        auto subscription = a->declare_subscriber("m/*", got.callback()).value();
        held.push_back(std::move(subscription));
        EXPECT_FALSE(subscription.active());  // the moved-from handle is inert
    }
    ASSERT_TRUE(a->put("m/x", as_bytes("1")));
    EXPECT_TRUE(held[0].active());
    EXPECT_EQ(got.samples.size(), 1u);
}

TEST_F(SessionTest, SubscriptionThatOutlivesItsSessionIsInert) {
    auto a = open(Mode::kPeer, {}, {});
    Received got;
    auto subscription = a->declare_subscriber("gone/**", got.callback()).value();
    a.reset();
    EXPECT_FALSE(subscription.active());
    subscription.undeclare();  // nothing to undeclare on: must not touch the freed session
    EXPECT_EQ(subscription.id(), 0u);
}

TEST_F(SessionTest, SubscriptionMayDestroyItselfFromItsOwnCallback) {
    auto a = open(Mode::kPeer, {}, {});
    int calls = 0;
    std::optional<Subscription> once;
    std::string seen;
    once = a->declare_subscriber("s/*", [&, tag = std::string(64, 'x')](const Sample& s) {
                ++calls;
                once.reset();  // destroys this callback's own subscription
                seen = tag;    // the callback's captures are still alive here
                (void)s;
            }).value();
    Received others;  // declared after: delivered to after `once` in the same route
    auto other = a->declare_subscriber("s/*", others.callback()).value();
    ASSERT_TRUE(a->put("s/a", as_bytes("1")));
    ASSERT_TRUE(a->put("s/a", as_bytes("2")));
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(seen, std::string(64, 'x'));
    EXPECT_EQ(others.samples.size(), 2u);  // the other subscriber on the key is unaffected
}

TEST_F(SessionTest, PicoPeerSubscriberGetsOnlyMatchingPushes) {
    auto a = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    testing::RawPeer peer(a->listen_ports().at(0));
    pico_handshake(peer);
    // pico peer z_sub declares at once, without waiting for an interest: D_SUBSCRIBER demo/**.
    peer.send_batch(hex("25001e6201000764656d6f2f2a2a"));
    std::vector<std::string> keys;
    ASSERT_TRUE(run_until([&] {
        (void)a->put("other/x", as_bytes("no"));
        (void)a->put("demo/y", as_bytes("yes"));
        append_push_keys(peer, keys);
        return !keys.empty();
    }));
    for (const auto& k : keys) {
        EXPECT_EQ(k, "demo/y");
    }
}

TEST_F(SessionTest, PeerAsksLinkedPeersForSubscribersButNeverClients) {
    // A Rust client panics on an INTEREST from the node it is linked to (docs section 9.6); it
    // declares its subscribers unasked, so it needs none.
    auto a = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    testing::RawPeer client(a->listen_ports().at(0));
    pico_handshake(client, "f2");
    testing::RawPeer peer(a->listen_ports().at(0));
    pico_handshake(peer, "f1");
    // Both declare demo/** (D_SUBSCRIBER id 1, N+M, scope 0), so both get PUSHes.
    client.send_batch(hex("25011e6201000764656d6f2f2a2a"));
    peer.send_batch(hex("25011e6201000764656d6f2f2a2a"));
    std::vector<NetworkMessage> to_client;
    std::vector<NetworkMessage> to_peer;
    ASSERT_TRUE(run_until([&] {
        (void)a->put("demo/y", as_bytes("yes"));
        for (auto& m : drain(client)) {
            to_client.push_back(std::move(m));
        }
        for (auto& m : drain(peer)) {
            to_peer.push_back(std::move(m));
        }
        return contains<Push>(to_client) && contains<Push>(to_peer);
    }));
    // One link keeps order: an INTEREST sent when the link opened came before the first PUSH.
    EXPECT_FALSE(contains<Interest>(to_client));
    EXPECT_TRUE(contains<Interest>(to_peer));
}

TEST_F(SessionTest, OwnSamplesAskToBlockWhenCongested) {
    // A Rust router drops "drop" samples it cannot queue at once: 64 MiB dora outputs were lost
    // between daemons that were its clients (docs section 9.6).
    auto a = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    testing::RawPeer sub(a->listen_ports().at(0));
    pico_handshake(sub);
    sub.send_batch(hex("25011e6201000764656d6f2f2a2a"));  // D_SUBSCRIBER demo/**
    std::vector<Push> pushes;
    ASSERT_TRUE(run_until([&] {
        (void)a->put("demo/y", as_bytes("yes"));
        for (const auto& m : drain(sub)) {
            if (const auto* push = std::get_if<Push>(&m)) {
                pushes.push_back(*push);
            }
        }
        return !pushes.empty();
    }));
    EXPECT_EQ(pushes.front().ext.qos, kDataBlockQos);
}

TEST_F(SessionTest, ClientsTalkThroughARouterThatFilters) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    auto sub = open(Mode::kClient, {}, {at(*router)});
    auto pub = open(Mode::kClient, {}, {at(*router)});
    Received got;
    auto subscription = sub->declare_subscriber("demo/**", got.callback()).value();
    ASSERT_TRUE(run_until([&] { return router->face_count() == 2 && pub->face_count() == 1; }));
    ASSERT_TRUE(run_until([&] {
        (void)pub->put("demo/probe", as_bytes("p"));
        return !got.samples.empty();
    }));
    ASSERT_TRUE(pub->put("x/b", as_bytes("no")));
    ASSERT_TRUE(pub->put("demo/a", as_bytes("yes")));
    ASSERT_TRUE(run_until([&] { return got.has("demo/a", "yes"); }));
    EXPECT_FALSE(got.has_key("x/b"));
}

TEST_F(SessionTest, RouterForwardsToARawSubscriberOnlyMatchingPushes) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    auto pub = open(Mode::kClient, {}, {at(*router)});
    testing::RawPeer peer(router->listen_ports().at(0));
    pico_handshake(peer);
    // pico z_sub: D_SUBSCRIBER id 1, N+M, scope 0, "demo/**" (client_sub capture).
    peer.send_batch(hex("25011e6201000764656d6f2f2a2a"));
    ASSERT_TRUE(run_until([&] { return router->face_count() == 2 && pub->face_count() == 1; }));
    std::vector<std::string> keys;
    ASSERT_TRUE(run_until([&] {
        (void)pub->put("x/other", as_bytes("no"));
        (void)pub->put("demo/a", as_bytes("yes"));
        append_push_keys(peer, keys);
        return !keys.empty();
    }));
    for (const auto& k : keys) {
        EXPECT_EQ(k, "demo/a");
    }
}

TEST_F(SessionTest, PicoPublisherInterestGetsTheAggregatedReplyWithItsOwnKey) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    auto sub = open(Mode::kClient, {}, {at(*router)});
    Received got;
    auto subscription = sub->declare_subscriber("demo/**", got.callback()).value();
    testing::RawPeer peer(router->listen_ports().at(0));
    pico_handshake(peer);
    ASSERT_TRUE(run_until([&] { return router->face_count() == 2; }));
    // Let the subscriber's declaration reach the router before the interest.
    ASSERT_TRUE(run_until([&] { return sub->face_count() == 1; }));
    for (int i = 0; i < 20; ++i) {
        loop_->run_once(1ms);
    }
    // Captured pico publisher: D_KEYEXPR 1 = demo/example/a, INTEREST 2 C+F opts 0xd3 scope 1.
    peer.send_batch(hex("25001e2001000e64656d6f2f6578616d706c652f61"));
    peer.send_batch(hex("25017902d301"));
    std::vector<Declare> replies;
    ASSERT_TRUE(run_until([&] {
        for (const auto& m : drain(peer)) {
            if (const auto* d = std::get_if<Declare>(&m)) {
                replies.push_back(*d);
            }
        }
        return !replies.empty() && replies.back().decl.kind == DeclKind::kFinal;
    }));
    ASSERT_EQ(replies.size(), 2u);
    EXPECT_EQ(replies[0].interest_id, 2u);
    EXPECT_EQ(replies[0].decl.kind, DeclKind::kSubscriber);
    EXPECT_EQ(replies[0].decl.key->suffix, "demo/example/a");
    EXPECT_EQ(replies[1].interest_id, 2u);
    // Then the publisher's PUSH (scope 1, sender mapping) reaches the subscriber.
    auto push = hex("25025d010115");
    std::string text = "[   0] Pub from Pico!";
    push.insert(push.end(), text.begin(), text.end());
    peer.send_batch(push);
    ASSERT_TRUE(run_until([&] { return !got.samples.empty(); }));
    EXPECT_EQ(got.samples[0].first, "demo/example/a");
    EXPECT_EQ(got.samples[0].second, text);
}

TEST_F(SessionTest, FutureInterestFollowsSubscribersComingAndGoing) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    testing::RawPeer peer(router->listen_ports().at(0));
    pico_handshake(peer);
    peer.send_batch(hex("25001e2001000e64656d6f2f6578616d706c652f61"));
    peer.send_batch(hex("25017902d301"));
    std::vector<Declare> replies;
    auto collect = [&] {
        for (const auto& m : drain(peer)) {
            if (const auto* d = std::get_if<Declare>(&m)) {
                replies.push_back(*d);
            }
        }
    };
    ASSERT_TRUE(run_until([&] {
        collect();
        return !replies.empty();
    }));
    ASSERT_EQ(replies.size(), 1u);  // nothing matches yet: only D_FINAL
    EXPECT_EQ(replies[0].decl.kind, DeclKind::kFinal);

    auto sub = open(Mode::kClient, {}, {at(*router)});
    Received got;
    auto subscription = sub->declare_subscriber("demo/*/a", got.callback()).value();
    ASSERT_TRUE(run_until([&] {
        collect();
        return replies.size() == 2;
    }));
    EXPECT_FALSE(replies[1].interest_id.has_value());
    EXPECT_EQ(replies[1].decl.kind, DeclKind::kSubscriber);
    EXPECT_EQ(replies[1].decl.key->suffix, "demo/example/a");

    subscription = Subscription();  // undeclared by being replaced
    ASSERT_TRUE(run_until([&] {
        collect();
        return replies.size() == 3;
    }));
    EXPECT_EQ(replies[2].decl.kind, DeclKind::kUndeclareSubscriber);
    EXPECT_EQ(replies[2].decl.id, replies[1].decl.id);
}

TEST_F(SessionTest, QueriesGetAFinalResponse) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    testing::RawPeer peer(router->listen_ports().at(0));
    pico_handshake(peer);
    // Captured z_get REQUEST rid 1 on demo/example/*.
    peer.send_batch(
        hex("2500fc01000e64656d6f2f6578616d706c652f2aa10d26904ea302430600"
            "68656c6c6f"));
    std::optional<ResponseFinal> final;
    ASSERT_TRUE(run_until([&] {
        for (const auto& m : drain(peer)) {
            if (const auto* f = std::get_if<ResponseFinal>(&m)) {
                final = *f;
            }
        }
        return final.has_value();
    }));
    EXPECT_EQ(final->id, 1u);
}

TEST_F(SessionTest, RouterForwardsAQueryAndMapsTheRepliesBack) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    testing::RawPeer queryable(router->listen_ports().at(0));
    pico_handshake(queryable);
    Declare key;
    key.decl = Declaration{DeclKind::kKeyExpr, 1, WireExpr{0, "demo/example/q", false}};
    queryable.send_batch(framed(0, key));
    Declare decl;
    decl.decl = Declaration{DeclKind::kQueryable, 1, WireExpr{1, "", true}};
    queryable.send_batch(framed(1, decl));
    testing::RawPeer getter(router->listen_ports().at(0));
    pico_handshake(getter);
    ASSERT_TRUE(run_until([&] { return router->face_count() == 2; }));
    for (int i = 0; i < 20; ++i) {
        loop_->run_once(1ms);
    }
    // Captured z_get REQUEST rid 1 on demo/example/*.
    getter.send_batch(
        hex("2500fc01000e64656d6f2f6578616d706c652f2aa10d26904ea302430600"
            "68656c6c6f"));
    std::optional<Request> forwarded;
    ASSERT_TRUE(run_until([&] {
        for (const auto& m : drain(queryable)) {
            if (const auto* r = std::get_if<Request>(&m)) {
                forwarded = *r;
            }
        }
        return forwarded.has_value();
    }));
    EXPECT_EQ(forwarded->key.suffix, "demo/example/*");
    EXPECT_EQ(forwarded->timeout, 10000u);
    EXPECT_EQ(forwarded->query.consolidation, 2);

    std::string text = "Queryable from Pico!";
    Put put;
    put.payload = as_bytes(text);
    Response reply;
    reply.id = forwarded->id;
    reply.key = WireExpr{1, "", true};
    reply.body = Reply{std::nullopt, put};
    queryable.send_batch(framed(2, reply));
    queryable.send_batch(framed(3, ResponseFinal{forwarded->id, {}}));

    std::vector<NetworkMessage> back;
    ASSERT_TRUE(run_until([&] {
        for (auto& m : drain(getter)) {
            back.push_back(std::move(m));
        }
        return !back.empty() && std::holds_alternative<ResponseFinal>(back.back());
    }));
    ASSERT_EQ(back.size(), 2u);
    const auto& response = std::get<Response>(back[0]);
    EXPECT_EQ(response.id, 1u);
    EXPECT_EQ(response.key.suffix, "demo/example/q");
    EXPECT_EQ(as_string_view(std::get<Put>(std::get<Reply>(response.body).body).payload), text);
    EXPECT_EQ(std::get<ResponseFinal>(back[1]).id, 1u);
}

TEST_F(SessionTest, ClientReconnectsAndRedeclaresAfterTheRouterRestarts) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    std::string endpoint = at(*router);
    auto sub = open(Mode::kClient, {}, {endpoint});
    Received got;
    auto subscription = sub->declare_subscriber("r/**", got.callback()).value();
    ASSERT_TRUE(run_until([&] { return sub->face_count() == 1; }));
    router.reset();
    ASSERT_TRUE(run_until([&] { return sub->face_count() == 0; }));
    router = open(Mode::kRouter, {endpoint}, {});
    auto pub = open(Mode::kClient, {}, {endpoint});
    ASSERT_TRUE(run_until([&] {
        (void)pub->put("r/x", as_bytes("back"));
        return !got.samples.empty();
    }));
    EXPECT_EQ(got.samples[0].second, "back");
}

// A session whose dials back off from `delay`, doubling up to `cap`.
std::unique_ptr<Session> open_dialler(EventLoop& loop, std::chrono::milliseconds delay,
                                      std::chrono::milliseconds cap) {
    SessionOptions options;
    options.config.mode = Mode::kPeer;
    options.transport.log = [](std::string_view) {};
    options.reconnect_delay = delay;
    options.reconnect_max_delay = cap;
    return Session::open(loop, std::move(options)).value();
}

// A session listening at `endpoint` (a port freed a moment ago; nullptr if taken meanwhile).
std::unique_ptr<Session> listen_at(EventLoop& loop, const Endpoint& endpoint) {
    SessionOptions options;
    options.config.mode = Mode::kPeer;
    options.config.listen.push_back(endpoint);
    auto session = Session::open(loop, std::move(options));
    return session ? std::move(*session) : nullptr;
}

// A loopback endpoint nobody listens on (a listener's port, closed again).
Endpoint refusing_endpoint(EventLoop& loop) {
    SessionOptions options;
    options.config.mode = Mode::kPeer;
    options.config.listen.push_back(parse_endpoint("tcp/127.0.0.1:0").value());
    auto listener = Session::open(loop, std::move(options)).value();
    return parse_endpoint("tcp/127.0.0.1:" + std::to_string(listener->listen_ports().at(0)))
        .value();
}

TEST_F(SessionTest, FailingDialBacksOffExponentiallyUpToTheCap) {
    auto a = open_dialler(*loop_, 40ms, 160ms);
    const Endpoint dead = refusing_endpoint(*loop_);
    a->connect_to(dead);
    a->connect_to(dead);  // again: still one dial
    EXPECT_EQ(a->dialled(), std::vector<std::string>{dead.to_string()});
    std::vector<int64_t> delays;  // the delay set after each failure in a row
    ASSERT_TRUE(run_until(
        [&] {
            auto state = a->dial_state(dead);
            if (state && state->failures > delays.size() && state->delay) {
                delays.push_back(state->delay->count());
            }
            return delays.size() >= 4;
        },
        5s))
        << fmt::format("{}", fmt::join(delays, ", "));
    EXPECT_EQ(delays, (std::vector<int64_t>{40, 80, 160, 160}));
}

TEST_F(SessionTest, ForgottenEndpointIsNotDialledAgain) {
    auto a = open_dialler(*loop_, 20ms, 20ms);
    const Endpoint dead = refusing_endpoint(*loop_);
    a->connect_to(dead);
    ASSERT_TRUE(run_until([&] {
        auto state = a->dial_state(dead);
        return state && state->failures >= 2;
    }));
    a->forget(dead);
    EXPECT_FALSE(a->dial_state(dead).has_value());
    EXPECT_TRUE(a->dialled().empty());
    // A listener on that port now would be found by a dial; none comes.
    auto b = listen_at(*loop_, dead);
    if (!b) {
        GTEST_SKIP() << "the port was taken meanwhile";
    }
    auto until = SteadyClock::now() + 200ms;
    run_until([&] { return SteadyClock::now() > until; });
    EXPECT_EQ(a->face_count(), 0u);
    EXPECT_EQ(b->face_count(), 0u);
}

TEST_F(SessionTest, DialledPeerIsFoundAgainAfterItComesBack) {
    auto b = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    const Endpoint where = parse_endpoint(at(*b)).value();
    auto a = open_dialler(*loop_, 20ms, 100ms);
    a->connect_to(where);
    ASSERT_TRUE(run_until([&] { return a->face_count() == 1; }));
    EXPECT_EQ(a->dial_state(where)->failures, 0u);
    b.reset();
    ASSERT_TRUE(run_until([&] {
        auto state = a->dial_state(where);
        return state && state->failures >= 2;
    }));
    auto again = listen_at(*loop_, where);
    if (!again) {
        GTEST_SKIP() << "the port was taken meanwhile";
    }
    ASSERT_TRUE(run_until([&] { return a->face_count() == 1; }));
    EXPECT_EQ(a->dial_state(where)->failures, 0u) << "an established link resets the backoff";
}

}  // namespace
}  // namespace dora::zenoh
