// Queries and queryable interests (docs/zenoh-protocol.md sections 5.3 and 5.5): a router
// declares queryables to a Rust querier's interest (and follows them), aggregated for pico; our
// own queryables answer gets from peers and through a router, with replies, errors and one final.
#include <gtest/gtest.h>

#include "zenoh/session_fixture.hpp"

namespace dora::zenoh {
namespace {

using namespace std::chrono_literals;
using testing::framed;
using testing::SessionTest;

class QueryTest : public SessionTest {
  protected:
    static Interest queryable_interest(uint64_t id, bool aggregate, std::string_view key) {
        Interest interest;
        interest.id = id;
        interest.current = true;
        interest.future = true;
        interest.options = static_cast<uint8_t>(kInterestKeyExprs | kInterestQueryables |
                                                (aggregate ? kInterestAggregate : 0));
        interest.key = WireExpr{0, key, false};
        return interest;
    }
};

TEST_F(QueryTest, QueryableInterestGetsDeclarationsAndLaterUpdates) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    auto server = open(Mode::kClient, {}, {at(*router)});
    auto q = server
                 ->declare_queryable(
                     "demo/q/a", [](QueryRequest&) {}, true)
                 .value();
    ASSERT_TRUE(run_until([&] { return server->face_count() == 1; }));
    testing::RawPeer peer(router->listen_ports().at(0));
    pico_handshake(peer);
    ASSERT_TRUE(run_until([&] { return router->face_count() == 2; }));
    settle();
    peer.send_batch(framed(0, queryable_interest(4, false, "demo/q/**")));
    std::vector<Declare> seen;
    ASSERT_TRUE(run_until([&] {
        collect_declarations(peer, seen);
        return !seen.empty() && seen.back().decl.kind == DeclKind::kFinal;
    }));
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].interest_id, 4u);
    EXPECT_EQ(seen[0].decl.kind, DeclKind::kQueryable);
    EXPECT_EQ(seen[0].decl.key->suffix, "demo/q/a");
    EXPECT_TRUE(seen[0].decl.complete);

    q = Subscription();
    ASSERT_TRUE(run_until([&] {
        collect_declarations(peer, seen);
        return seen.size() == 3;
    }));
    EXPECT_EQ(seen[2].decl.kind, DeclKind::kUndeclareQueryable);
    EXPECT_EQ(seen[2].decl.id, seen[0].decl.id);
}

TEST_F(QueryTest, AggregatedQueryableInterestIsAnsweredWithItsOwnKey) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    auto server = open(Mode::kClient, {}, {at(*router)});
    auto q = server->declare_queryable("demo/**", [](QueryRequest&) {}).value();
    ASSERT_TRUE(run_until([&] { return server->face_count() == 1; }));
    testing::RawPeer peer(router->listen_ports().at(0));
    pico_handshake(peer);
    ASSERT_TRUE(run_until([&] { return router->face_count() == 2; }));
    settle();
    peer.send_batch(framed(0, queryable_interest(2, true, "demo/example/q")));
    std::vector<Declare> seen;
    ASSERT_TRUE(run_until([&] {
        collect_declarations(peer, seen);
        return !seen.empty() && seen.back().decl.kind == DeclKind::kFinal;
    }));
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].decl.kind, DeclKind::kQueryable);
    EXPECT_EQ(seen[0].decl.key->suffix, "demo/example/q");
}

struct Replies {
    std::vector<std::string> lines;  // "key=payload" or "ERR payload"
    bool done = false;
    ReplyCallback on_reply() {
        return [this](const GetReply& r) {
            lines.push_back(r.put != nullptr
                                ? std::string(r.key) + "=" +
                                      std::string(as_string_view(r.put->payload))
                                : "ERR " + std::string(as_string_view(r.err->payload)));
        };
    }
    std::function<void()> on_done() {
        return [this] { done = true; };
    }
};

QueryCallback echo_queryable() {
    return [](QueryRequest& q) {
        std::string value = "echo:" + std::string(q.parameters) + ":" +
                            (q.payload ? std::string(as_string_view(*q.payload)) : "") + ":" +
                            (q.attachment ? std::string(as_string_view(*q.attachment)) : "");
        EXPECT_TRUE(q.reply("demo/q/x", as_bytes(value)));
    };
}

TEST_F(QueryTest, ClientGetThroughARouterReachesAnotherClientsQueryable) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    auto server = open(Mode::kClient, {}, {at(*router)});
    auto client = open(Mode::kClient, {}, {at(*router)});
    auto q = server->declare_queryable("demo/q/*", echo_queryable()).value();
    ASSERT_TRUE(run_until([&] { return router->face_count() == 2 && client->face_count() == 1; }));
    settle();
    Replies got;
    GetOptions options;
    options.parameters = "a=1";
    options.payload = as_bytes("hi");
    options.attachment = as_bytes("att");
    ASSERT_TRUE(client->get("demo/q/x", options, got.on_reply(), got.on_done()));
    ASSERT_TRUE(run_until([&] { return got.done; }, 3s));  // the final ends it, not the timeout
    EXPECT_EQ(got.lines, std::vector<std::string>{"demo/q/x=echo:a=1:hi:att"});
}

TEST_F(QueryTest, PeerGetReachesThePeersQueryableAndItsErrors) {
    auto a = open(Mode::kPeer, {"tcp/127.0.0.1:0"}, {});
    auto ok = a->declare_queryable("demo/q/x", echo_queryable()).value();
    auto bad = a->declare_queryable("demo/q/*", [](QueryRequest& q) {
                    EXPECT_TRUE(q.reply_err(as_bytes("no")));
                }).value();
    auto b = open(Mode::kPeer, {}, {at(*a)});
    ASSERT_TRUE(run_until([&] { return b->has_remote_queryable("demo/q/x"); }));
    Replies got;
    ASSERT_TRUE(b->get("demo/q/x", GetOptions{}, got.on_reply(), got.on_done()));
    ASSERT_TRUE(run_until([&] { return got.done; }, 3s));
    std::sort(got.lines.begin(), got.lines.end());
    EXPECT_EQ(got.lines, (std::vector<std::string>{"ERR no", "demo/q/x=echo:::"}));
}

TEST_F(QueryTest, LocalGetReachesLocalQueryablesOutsideTheCall) {
    auto a = open(Mode::kPeer, {}, {});
    auto q = a->declare_queryable("demo/q/*", echo_queryable()).value();
    Replies got;
    ASSERT_TRUE(a->get("demo/q/x", GetOptions{}, got.on_reply(), got.on_done()));
    EXPECT_TRUE(got.lines.empty());
    ASSERT_TRUE(run_until([&] { return got.done; }, 3s));
    EXPECT_EQ(got.lines, std::vector<std::string>{"demo/q/x=echo:::"});
}

TEST_F(QueryTest, GetEndsAtItsTimeoutWhenATargetNeverFinishes) {
    auto router = open(Mode::kRouter, {"tcp/127.0.0.1:0"}, {});
    testing::RawPeer silent(router->listen_ports().at(0));
    pico_handshake(silent);
    Declare decl;
    decl.decl = Declaration{DeclKind::kQueryable, 1, WireExpr{0, "demo/silent", false}};
    silent.send_batch(framed(0, decl));
    auto client = open(Mode::kClient, {}, {at(*router)});
    ASSERT_TRUE(run_until([&] { return router->face_count() == 2; }));
    settle();
    Replies got;
    GetOptions options;
    options.timeout = 200ms;
    auto start = SteadyClock::now();
    ASSERT_TRUE(client->get("demo/silent", options, got.on_reply(), got.on_done()));
    ASSERT_TRUE(run_until([&] { return got.done; }, 3s));
    EXPECT_GE(SteadyClock::now() - start, 190ms);
}

}  // namespace
}  // namespace dora::zenoh
