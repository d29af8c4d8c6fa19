// Decodes every batch captured from real zenoh-pico sessions (testdata/*.jsonl, one TCP read a
// record, hex) and checks the fields annotated in /work/shared/zenoh/captures/*.decoded.txt.
// Every decoded message is re-encoded and must give back the captured bytes.
#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <map>

#include "zenoh/transport_msg.hpp"

namespace dora::zenoh {
namespace {

struct Batch {
    int conn = 0;
    std::string dir;
    std::vector<uint8_t> bytes;  // without the TCP length prefix
};

std::string field(const std::string& line, const std::string& name) {
    auto key = "\"" + name + "\": ";
    auto at = line.find(key);
    if (at == std::string::npos) {
        return {};
    }
    at += key.size();
    if (line[at] == '"') {
        return line.substr(at + 1, line.find('"', at + 1) - at - 1);
    }
    return line.substr(at, line.find_first_of(",}", at) - at);
}

// Splits each direction's byte stream into batches; `udp`: one record is one batch.
std::vector<Batch> load(const std::string& name, bool udp = false) {
    std::ifstream in(std::string(DORA_ZENOH_TESTDATA) + "/" + name + ".jsonl");
    EXPECT_TRUE(in) << name;
    std::map<std::pair<int, std::string>, std::vector<uint8_t>> streams;
    std::vector<Batch> out;
    std::string line;
    while (std::getline(in, line)) {
        int conn = std::stoi(field(line, "conn"));
        std::string dir = field(line, "dir");
        if (dir.find('!') != std::string::npos) {
            continue;
        }
        auto bytes = from_hex(field(line, "hex")).value();
        if (udp) {
            out.push_back({conn, dir, bytes});
            continue;
        }
        auto& buf = streams[{conn, dir}];
        buf.insert(buf.end(), bytes.begin(), bytes.end());
        while (buf.size() >= 2) {
            size_t n = buf[0] | static_cast<size_t>(buf[1]) << 8;
            if (buf.size() < 2 + n) {
                break;
            }
            out.push_back({conn, dir, std::vector<uint8_t>(buf.begin() + 2, buf.begin() + 2 + n)});
            buf.erase(buf.begin(), buf.begin() + 2 + static_cast<std::ptrdiff_t>(n));
        }
    }
    return out;
}

template <typename T>
std::vector<uint8_t> encoded(const T& m) {
    return encode_to_vector(m);
}

// Everything decoded from one capture, in order; views point into `batches` and `reassembled`.
struct Decoded {
    std::vector<Batch> batches;
    std::deque<std::vector<uint8_t>> reassembled;
    std::vector<std::pair<std::string, BatchItem>> items;  // dir, item
    std::vector<NetworkMessage> fragmented;                // messages rebuilt from FRAGMENTs
    size_t batch_count = 0;
};

Decoded decode_all(const std::string& name, bool udp = false) {
    Decoded d;
    d.batches = load(name, udp);
    std::map<std::pair<int, std::string>, std::vector<uint8_t>> frags;
    for (const auto& b : d.batches) {
        ++d.batch_count;
        BatchDecoder dec(b.bytes);
        std::vector<uint8_t> again;
        Writer w(again);
        for (int guard = 0; guard < 10000; ++guard) {
            auto item = dec.next();
            EXPECT_TRUE(item) << name << ": " << item.error().message();
            if (!item || !*item) {
                break;
            }
            std::visit(
                [&](const auto& m) {
                    using T = std::decay_t<decltype(m)>;
                    if constexpr (std::is_same_v<T, FramedNetwork>) {
                        encode(w, m.message);
                    } else {
                        encode(w, m);
                    }
                },
                **item);
            if (const auto* f = std::get_if<Fragment>(&**item)) {
                auto& acc = frags[{b.conn, b.dir}];
                acc.insert(acc.end(), f->payload.begin(), f->payload.end());
                if (!f->more) {
                    d.reassembled.push_back(std::move(acc));
                    acc.clear();
                    Reader r(d.reassembled.back());
                    auto msg = decode_network(r);
                    EXPECT_TRUE(msg) << name << ": " << msg.error().message();
                    EXPECT_TRUE(r.empty());
                    if (msg) {
                        d.fragmented.push_back(*msg);
                    }
                }
            }
            d.items.emplace_back(b.dir, std::move(**item));
        }
        EXPECT_EQ(to_hex(again), to_hex(b.bytes)) << name << ": re-encoding differs";
    }
    return d;
}

template <typename T>
std::vector<T> all_of(const Decoded& d) {
    std::vector<T> out;
    for (const auto& [dir, item] : d.items) {
        if constexpr (std::is_constructible_v<NetworkMessage, T>) {
            if (const auto* f = std::get_if<FramedNetwork>(&item)) {
                if (const auto* m = std::get_if<T>(&f->message)) {
                    out.push_back(*m);
                }
            }
        } else if (const auto* m = std::get_if<T>(&item)) {
            out.push_back(*m);
        }
    }
    return out;
}

TEST(CaptureTest, EveryCapturedBatchDecodesAndReencodesIdentically) {
    for (const char* name : {"big_client_sub", "client_get", "client_pub", "client_sub", "close",
                             "frag_ping", "frag_ping3000", "peer_pubsub", "router_pub"}) {
        auto d = decode_all(name);
        EXPECT_GT(d.batch_count, 3u) << name;
    }
    auto mc = decode_all("mcast_peer", true);
    EXPECT_GT(mc.batch_count, 3u);
}

TEST(CaptureTest, ClientPubHandshakeFields) {
    auto d = decode_all("client_pub");
    auto inits = all_of<Init>(d);
    ASSERT_EQ(inits.size(), 2u);
    EXPECT_FALSE(inits[0].ack);
    EXPECT_EQ(inits[0].whatami, WhatAmI::kClient);
    EXPECT_EQ(to_hex(inits[0].zid.bytes()), "a85d4c129ffc4318f57e46aabc6ed1e5");
    EXPECT_EQ(inits[0].resolution, 0x0a);
    EXPECT_EQ(inits[0].batch_size, 2048);
    EXPECT_EQ(inits[0].patch, 1u);
    EXPECT_TRUE(inits[1].ack);
    EXPECT_EQ(inits[1].whatami, WhatAmI::kPeer);
    EXPECT_TRUE(inits[1].cookie.empty());
    auto opens = all_of<Open>(d);
    ASSERT_EQ(opens.size(), 2u);
    EXPECT_EQ(opens[0].lease_ms, 10000u);
    EXPECT_EQ(opens[0].initial_sn, 0u);
    EXPECT_TRUE(opens[1].ack);
}

TEST(CaptureTest, ClientPubDeclarationsAndInterest) {
    auto d = decode_all("client_pub");
    auto declares = all_of<Declare>(d);
    ASSERT_GE(declares.size(), 4u);
    EXPECT_EQ(declares[0].interest_id, 0u);
    EXPECT_EQ(declares[0].decl.kind, DeclKind::kKeyExpr);
    EXPECT_EQ(declares[0].decl.id, 1u);
    EXPECT_EQ(declares[0].decl.key->suffix, "demo");
    EXPECT_EQ(declares[1].decl.kind, DeclKind::kSubscriber);
    EXPECT_EQ(declares[1].decl.key->scope, 1u);
    EXPECT_EQ(declares[1].decl.key->suffix, "/**");
    EXPECT_TRUE(declares[1].decl.key->sender_mapping);
    EXPECT_EQ(declares[2].decl.kind, DeclKind::kFinal);
    EXPECT_EQ(declares[3].decl.key->suffix, "demo/example/a");
    auto interests = all_of<Interest>(d);
    ASSERT_EQ(interests.size(), 2u);
    EXPECT_EQ(interests[0].id, 2u);
    EXPECT_EQ(interests[0].options, 0xd3);
    EXPECT_TRUE(interests[0].current && interests[0].future);
    EXPECT_EQ(interests[0].key->scope, 1u);
    EXPECT_FALSE(interests[1].current || interests[1].future);
}

TEST(CaptureTest, ClientGetRequestAndResponse) {
    auto d = decode_all("client_get");
    auto requests = all_of<Request>(d);
    ASSERT_EQ(requests.size(), 1u);
    const auto& q = requests[0];
    EXPECT_EQ(q.id, 1u);
    EXPECT_EQ(q.key.suffix, "demo/example/*");
    EXPECT_EQ(q.ext.qos, 0x0du);
    EXPECT_EQ(q.timeout, 10000u);
    EXPECT_EQ(q.query.consolidation, 2);
    ASSERT_TRUE(q.query.value);
    EXPECT_EQ(to_hex(*q.query.value), "0068656c6c6f");
    auto responses = all_of<Response>(d);
    ASSERT_EQ(responses.size(), 1u);
    EXPECT_EQ(to_hex(responses[0].responder->zid.bytes()), "131414d01776ac8e2136cf5967f4556d");
    const auto& put = std::get<Put>(std::get<Reply>(responses[0].body).body);
    EXPECT_EQ(as_string_view(put.payload), "Queryable from Pico!");
    auto finals = all_of<ResponseFinal>(d);
    ASSERT_EQ(finals.size(), 1u);
    EXPECT_EQ(finals[0].id, 1u);
    auto queryables = all_of<Declare>(d);
    bool found = false;
    for (const auto& decl : queryables) {
        found |= decl.decl.kind == DeclKind::kQueryable;
    }
    EXPECT_TRUE(found);
}

TEST(CaptureTest, FragmentedPingIsReassembledToA3000BytePush) {
    auto d = decode_all("frag_ping3000");
    auto frags = all_of<Fragment>(d);
    ASSERT_GE(frags.size(), 2u);
    EXPECT_TRUE(frags[0].more);
    EXPECT_TRUE(frags[0].first);
    EXPECT_FALSE(frags[0].reliable);  // pico's inverted R flag (docs/zenoh-protocol.md section 9.2)
    EXPECT_EQ(frags[0].sn, 3u);
    EXPECT_EQ(frags[0].payload.size(), 2043u);
    EXPECT_FALSE(frags[1].more);
    EXPECT_EQ(frags[1].payload.size(), 962u);
    ASSERT_FALSE(d.fragmented.empty());
    const auto& push = std::get<Push>(d.fragmented[0]);
    EXPECT_EQ(push.key.scope, 1u);
    EXPECT_EQ(std::get<Put>(push.body).payload.size(), 3000u);
}

TEST(CaptureTest, BigClientSubGets100kBThroughFragments) {
    auto d = decode_all("big_client_sub");
    ASSERT_EQ(d.fragmented.size(), 1u);
    const auto& put = std::get<Put>(std::get<Push>(d.fragmented[0]).body);
    EXPECT_EQ(put.payload.size(), 100000u);
}

TEST(CaptureTest, CloseFromTheRouterIsASessionClose) {
    auto d = decode_all("close");
    auto closes = all_of<Close>(d);
    ASSERT_EQ(closes.size(), 2u);
    EXPECT_TRUE(closes[0].session);
    EXPECT_EQ(closes[0].reason, kCloseGeneric);
}

TEST(CaptureTest, MulticastPeerJoin) {
    auto d = decode_all("mcast_peer", true);
    auto joins = all_of<Join>(d);
    ASSERT_FALSE(joins.empty());
    EXPECT_EQ(to_hex(joins[0].zid.bytes()), "c121b00f4edb3cb065b1004c29231e69");
    EXPECT_EQ(joins[0].lease_ms, 10000u);
    EXPECT_EQ(joins[0].batch_size, 2048);
    EXPECT_EQ(joins[0].patch, 1u);
    auto pushes = all_of<Push>(d);
    ASSERT_FALSE(pushes.empty());
    EXPECT_EQ(pushes[0].key.suffix, "demo/mc");
}

TEST(CaptureTest, RouterPubPushesCarryThePayload) {
    auto d = decode_all("router_pub");
    auto pushes = all_of<Push>(d);
    ASSERT_FALSE(pushes.empty());
    EXPECT_FALSE(std::get<Put>(pushes[0].body).payload.empty());
}

}  // namespace
}  // namespace dora::zenoh
