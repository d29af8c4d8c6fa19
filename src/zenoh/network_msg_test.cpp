#include "zenoh/network_msg.hpp"

#include <gtest/gtest.h>

#include <deque>

namespace dora::zenoh {
namespace {

template <typename T>
std::vector<uint8_t> encoded(const T& m) {
    return encode_to_vector(m);
}

// Decoded messages view their bytes: keep every encoding alive for the test's duration.
std::deque<std::vector<uint8_t>>& storage() {
    static std::deque<std::vector<uint8_t>> s;
    return s;
}

template <typename T>
T round_trip(const T& m) {
    auto& bytes = storage().emplace_back(encoded(m));
    Reader r(bytes);
    auto decoded = decode_network(r);
    EXPECT_TRUE(decoded) << decoded.error().message();
    EXPECT_TRUE(r.empty());
    T out = std::get<T>(*decoded);
    EXPECT_EQ(encoded(out), bytes);
    return out;
}

Zid zid16() { return Zid::from_bytes(std::vector<uint8_t>(16, 0x42)).value(); }

TEST(NetworkRoundTripTest, PushPutWithAllFields) {
    std::vector<uint8_t> payload{1, 2, 3, 4};
    std::vector<uint8_t> attachment{9};
    std::vector<uint8_t> schema{'s'};
    Push m;
    m.key = WireExpr{3, "a/b", true};
    m.ext.qos = 0x0d;
    m.ext.timestamp = Timestamp{123456789, zid16()};
    m.ext.node_id = 4;
    Put put;
    put.timestamp = Timestamp{42, zid16()};
    put.encoding = Encoding{5, schema, true};
    put.source_info = SourceInfo{zid16(), 7, 8};
    put.attachment = attachment;
    put.payload = payload;
    m.body = put;
    auto d = round_trip(m);
    EXPECT_EQ(d.key, m.key);
    EXPECT_EQ(d.ext.qos, 0x0du);
    EXPECT_EQ(d.ext.timestamp->time, 123456789u);
    EXPECT_EQ(d.ext.node_id, 4u);
    const auto& p = std::get<Put>(d.body);
    EXPECT_EQ(p.timestamp->time, 42u);
    EXPECT_EQ(p.encoding->id, 5u);
    EXPECT_EQ(as_string_view(p.encoding->schema), "s");
    EXPECT_EQ(p.source_info->eid, 7u);
    EXPECT_EQ(p.source_info->sn, 8u);
    EXPECT_EQ(p.attachment->size(), 1u);
    EXPECT_EQ(to_hex(p.payload), "01020304");
    EXPECT_EQ(d.raw_body.size(), encoded(m.body).size());
}

TEST(NetworkRoundTripTest, PushDel) {
    Push m;
    m.key = WireExpr{0, "x", false};
    Del del;
    del.timestamp = Timestamp{1, zid16()};
    m.body = del;
    auto d = round_trip(m);
    EXPECT_TRUE(std::get<Del>(d.body).timestamp.has_value());
}

TEST(NetworkRoundTripTest, EveryDeclaration) {
    for (auto kind :
         {DeclKind::kKeyExpr, DeclKind::kSubscriber, DeclKind::kQueryable, DeclKind::kToken}) {
        Declare m;
        m.interest_id = 9;
        m.decl.kind = kind;
        m.decl.id = 77;
        m.decl.key = WireExpr{1, "/**", kind != DeclKind::kKeyExpr};
        if (kind == DeclKind::kQueryable) {
            m.decl.complete = true;
            m.decl.distance = 2;
        }
        auto d = round_trip(m);
        EXPECT_EQ(d.decl.kind, kind);
        EXPECT_EQ(d.decl.id, 77u);
        EXPECT_EQ(d.interest_id, 9u);
        EXPECT_EQ(d.decl.key->suffix, "/**");
        EXPECT_EQ(d.decl.complete, kind == DeclKind::kQueryable);
    }
    for (auto kind : {DeclKind::kUndeclareKeyExpr, DeclKind::kUndeclareSubscriber,
                      DeclKind::kUndeclareQueryable, DeclKind::kUndeclareToken}) {
        Declare m;
        m.decl.kind = kind;
        m.decl.id = 5;
        auto d = round_trip(m);
        EXPECT_EQ(d.decl.kind, kind);
        EXPECT_FALSE(d.decl.key);
    }
    Declare u;
    u.decl.kind = DeclKind::kUndeclareSubscriber;
    u.decl.id = 5;
    u.decl.key = WireExpr{2, "k", true};
    EXPECT_EQ(round_trip(u).decl.key, u.decl.key);

    Declare fin;
    fin.interest_id = 2;
    fin.decl.kind = DeclKind::kFinal;
    EXPECT_EQ(to_hex(encoded(fin)), "3e021a");
    EXPECT_EQ(round_trip(fin).decl.kind, DeclKind::kFinal);
}

TEST(NetworkRoundTripTest, InterestCurrentFutureAndFinal) {
    Interest m;
    m.id = 2;
    m.current = true;
    m.future = true;
    m.options = kInterestKeyExprs | kInterestSubscribers | kInterestAggregate;
    m.key = WireExpr{1, "", true};
    auto bytes = encoded(m);
    EXPECT_EQ(to_hex(bytes), "7902d301");  // the pico publisher's interest
    auto d = round_trip(m);
    EXPECT_EQ(d.options, 0xd3);

    Interest fin;
    fin.id = 2;
    EXPECT_EQ(to_hex(encoded(fin)), "1902");
    auto f = round_trip(fin);
    EXPECT_FALSE(f.current || f.future);
}

TEST(NetworkRoundTripTest, RequestResponseFinal) {
    std::vector<uint8_t> value{0, 'h', 'i'};
    Request q;
    q.id = 1;
    q.key = WireExpr{0, "demo/*", true};
    q.ext.qos = 0x0d;
    q.target = 1;
    q.budget = 3;
    q.timeout = 10000;
    q.query.consolidation = 2;
    q.query.parameters = "a=1";
    q.query.value = value;
    auto dq = round_trip(q);
    EXPECT_EQ(dq.target, 1u);
    EXPECT_EQ(dq.timeout, 10000u);
    EXPECT_EQ(dq.query.parameters, "a=1");
    EXPECT_EQ(dq.query.value->size(), 3u);

    std::vector<uint8_t> payload{'o', 'k'};
    Response r;
    r.id = 1;
    r.key = WireExpr{0, "demo/x", true};
    r.responder = Responder{zid16(), 3};
    Put put;
    put.payload = payload;
    r.body = Reply{std::nullopt, put};
    auto dr = round_trip(r);
    EXPECT_EQ(dr.responder->eid, 3u);
    EXPECT_EQ(to_hex(std::get<Put>(std::get<Reply>(dr.body).body).payload), "6f6b");

    Response e;
    e.id = 4;
    e.key = WireExpr{2, "", false};
    e.body = Err{Encoding{1, {}, false}, std::nullopt, payload};
    auto de = round_trip(e);
    EXPECT_EQ(std::get<Err>(de.body).encoding->id, 1u);

    ResponseFinal f{1, {}};
    EXPECT_EQ(to_hex(encoded(f)), "1a01");
    EXPECT_EQ(round_trip(f).id, 1u);
}

TEST(NetworkRoundTripTest, Oam) {
    NetworkOam m;
    m.id = 0x10;
    m.encoding = kExtEncZint;
    m.value = 99;
    EXPECT_EQ(round_trip(m).value, 99u);
}

TEST(NetworkDecodeTest, UnknownMandatoryExtensionOnPushIsRefused) {
    // PUSH Z scope 0 named "a" | ext 0x3f (zint, mandatory, id 15) = 1 | PUT payload 0
    auto bytes = from_hex("bd 00 01 61 3f 01 01 00").value();
    Reader r(bytes);
    auto d = decode_network(r);
    ASSERT_FALSE(d);
    EXPECT_NE(d.error().message().find("mandatory"), std::string::npos) << d.error().message();
}

TEST(NetworkDecodeTest, EntityIdAboveU32IsRefused) {
    auto bytes = from_hex("1e 02 80 80 80 80 10 00").value();
    Reader r(bytes);
    EXPECT_FALSE(decode_network(r));
}

TEST(NetworkDecodeTest, EveryTruncationOfAValidMessageFails) {
    std::vector<uint8_t> payload(40, 7);
    Push m;
    m.key = WireExpr{0, "some/key", false};
    m.ext.timestamp = Timestamp{1, zid16()};
    Put put;
    put.payload = payload;
    put.source_info = SourceInfo{zid16(), 1, 2};
    m.body = put;
    auto bytes = encoded(m);
    for (size_t n = 0; n < bytes.size(); ++n) {
        Reader r(Bytes(bytes).first(n));
        EXPECT_FALSE(decode_network(r)) << n;
    }
}

}  // namespace
}  // namespace dora::zenoh
