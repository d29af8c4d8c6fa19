// Liveliness tokens and token interests (docs/zenoh-protocol.md section 5.7): a router answers a
// Rust client's token interests with the tokens of its other faces and follows them as they come
// and go (their faces too); our own sessions declare tokens, subscribe to them and list them.
#include <gtest/gtest.h>

#include "zenoh/session_fixture.hpp"

namespace dora::zenoh {
namespace {

using namespace std::chrono_literals;
using testing::framed;
using testing::SessionTest;

// What a Rust client sends for a liveliness get (current) or subscriber (future) on demo/tok/**:
// D_KEYEXPR 1 = demo/tok, then INTEREST with options K|T|R|N|M on scope 1 + "/**".
Interest rust_token_interest(uint64_t id, bool current, bool future) {
    Interest interest;
    interest.id = id;
    interest.current = current;
    interest.future = future;
    interest.options = kInterestKeyExprs | kInterestTokens;
    interest.key = WireExpr{1, "/**", true};
    return interest;
}

Declare keyexpr_decl(uint64_t id, std::string_view key) {
    Declare d;
    d.decl = Declaration{DeclKind::kKeyExpr, id, WireExpr{0, key, false}};
    return d;
}

using LivelinessTest = SessionTest;

TEST_F(LivelinessTest, RouterAnswersATokenInterestWithTheTokensOfOtherFaces) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    auto holder = open(Mode::kClient, {}, {at(*router)});
    auto a = holder->declare_token("demo/tok/a").value();
    auto other = holder->declare_token("demo/other").value();
    ASSERT_TRUE(run_until([&] { return holder->face_count() == 1; }));
    testing::RawPeer peer(router->listen_ports().at(0));
    pico_handshake(peer);
    ASSERT_TRUE(run_until([&] { return router->face_count() == 2; }));
    settle();
    peer.send_batch(framed(0, keyexpr_decl(1, "demo/tok")));
    peer.send_batch(framed(1, rust_token_interest(7, true, false)));
    std::vector<Declare> replies;
    ASSERT_TRUE(run_until([&] {
        collect_declarations(peer, replies);
        return !replies.empty() && replies.back().decl.kind == DeclKind::kFinal;
    }));
    ASSERT_EQ(replies.size(), 2u);
    EXPECT_EQ(replies[0].interest_id, 7u);
    EXPECT_EQ(replies[0].decl.kind, DeclKind::kToken);
    EXPECT_EQ(replies[0].decl.key->suffix, "demo/tok/a");
    EXPECT_EQ(replies[1].interest_id, 7u);
}

TEST_F(LivelinessTest, FutureTokenInterestFollowsTokensAndTheFaceThatHoldsThem) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    testing::RawPeer peer(router->listen_ports().at(0));
    pico_handshake(peer);
    peer.send_batch(framed(0, keyexpr_decl(1, "demo/tok")));
    peer.send_batch(framed(1, rust_token_interest(3, false, true)));
    auto holder = open(Mode::kClient, {}, {at(*router)});
    auto token = holder->declare_token("demo/tok/x").value();
    std::vector<Declare> seen;
    ASSERT_TRUE(run_until([&] {
        collect_declarations(peer, seen);
        return !seen.empty();
    }));
    EXPECT_FALSE(seen[0].interest_id.has_value());
    EXPECT_EQ(seen[0].decl.kind, DeclKind::kToken);
    EXPECT_EQ(seen[0].decl.key->suffix, "demo/tok/x");

    token = Subscription();  // undeclared: U_TOKEN, naming the key as Rust routers do
    ASSERT_TRUE(run_until([&] {
        collect_declarations(peer, seen);
        return seen.size() == 2;
    }));
    EXPECT_EQ(seen[1].decl.kind, DeclKind::kUndeclareToken);
    EXPECT_EQ(seen[1].decl.id, seen[0].decl.id);
    ASSERT_TRUE(seen[1].decl.key.has_value());
    EXPECT_EQ(seen[1].decl.key->suffix, "demo/tok/x");

    token = holder->declare_token("demo/tok/y").value();
    ASSERT_TRUE(run_until([&] {
        collect_declarations(peer, seen);
        return seen.size() == 3;
    }));
    holder.reset();  // the holder's session dies: its token goes with it
    ASSERT_TRUE(run_until([&] {
        collect_declarations(peer, seen);
        return seen.size() == 4;
    }));
    EXPECT_EQ(seen[3].decl.kind, DeclKind::kUndeclareToken);
    EXPECT_EQ(seen[3].decl.id, seen[2].decl.id);
}

TEST_F(LivelinessTest, ClientsSeeEachOthersTokensThroughARouter) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    auto watcher = open(Mode::kClient, {}, {at(*router)});
    auto holder = open(Mode::kClient, {}, {at(*router)});
    std::vector<std::pair<std::string, bool>> events;
    auto sub = watcher
                   ->declare_liveliness_subscriber(
                       "demo/**",
                       [&](std::string_view key, bool alive) { events.emplace_back(key, alive); })
                   .value();
    ASSERT_TRUE(run_until([&] { return router->face_count() == 2; }));
    settle();
    auto token = holder->declare_token("demo/live").value();
    ASSERT_TRUE(run_until([&] { return !events.empty(); }));
    EXPECT_EQ(events[0], std::make_pair(std::string("demo/live"), true));

    std::vector<std::string> listed;
    bool done = false;
    ASSERT_TRUE(watcher
                    ->liveliness_get(
                        "demo/*", 5s, [&](std::string_view key, bool) { listed.emplace_back(key); },
                        [&] { done = true; })
                    .has_value());
    EXPECT_FALSE(done);                                // never inside the call
    ASSERT_TRUE(run_until([&] { return done; }, 3s));  // D_FINAL ends it, not the timeout
    EXPECT_EQ(listed, std::vector<std::string>{"demo/live"});

    token = Subscription();
    ASSERT_TRUE(run_until([&] { return events.size() == 2; }));
    EXPECT_EQ(events[1], std::make_pair(std::string("demo/live"), false));
}

TEST_F(LivelinessTest, PeersSeeEachOthersTokens) {
    auto a = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    auto token = a->declare_token("demo/peer/a").value();
    auto b = open(Mode::kPeer, {}, {at(*a)});
    std::vector<std::pair<std::string, bool>> events;
    auto on_token = [&](std::string_view key, bool alive) { events.emplace_back(key, alive); };
    auto sub = b->declare_liveliness_subscriber("demo/peer/*", on_token, /*history=*/true).value();
    ASSERT_TRUE(run_until([&] { return !events.empty(); }));
    EXPECT_EQ(events[0], std::make_pair(std::string("demo/peer/a"), true));
    a.reset();
    ASSERT_TRUE(run_until([&] { return events.size() == 2; }));
    EXPECT_EQ(events[1], std::make_pair(std::string("demo/peer/a"), false));
}

TEST_F(LivelinessTest, SubscriberWithoutHistoryIsNotToldOfTokensThatExistedBefore) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    auto holder = open(Mode::kClient, {}, {at(*router)});
    auto old = holder->declare_token("demo/old").value();
    auto watcher = open(Mode::kClient, {}, {at(*router)});
    ASSERT_TRUE(run_until([&] { return router->face_count() == 2 && watcher->face_count() == 1; }));
    std::vector<std::string> plain;
    std::vector<std::string> with_history;
    auto a = watcher
                 ->declare_liveliness_subscriber(
                     "demo/*", [&](std::string_view key, bool) { plain.emplace_back(key); })
                 .value();
    settle();
    // The router answers the history subscriber's current interest with D_TOKEN(I): that token
    // existed before, so the subscriber without history is not told (as in Rust).
    auto b = watcher
                 ->declare_liveliness_subscriber(
                     "demo/*", [&](std::string_view key, bool) { with_history.emplace_back(key); },
                     /*history=*/true)
                 .value();
    ASSERT_TRUE(run_until([&] { return !with_history.empty(); }));
    settle();
    EXPECT_EQ(with_history, std::vector<std::string>{"demo/old"});
    EXPECT_TRUE(plain.empty());
    auto fresh = holder->declare_token("demo/new").value();
    ASSERT_TRUE(run_until([&] { return !plain.empty(); }));
    EXPECT_EQ(plain, std::vector<std::string>{"demo/new"});
}

}  // namespace
}  // namespace dora::zenoh
