#include "zenoh/codec.hpp"

#include <gtest/gtest.h>

#include "zenoh/transport_msg.hpp"

namespace dora::zenoh {
namespace {

std::vector<uint8_t> hex(std::string_view h) { return from_hex(h).value(); }

template <typename T>
std::vector<uint8_t> encoded(const T& m) {
    return encode_to_vector(m);
}

TEST(ZintTest, EncodesTheDocumentedExamples) {
    for (auto [value, bytes] : std::vector<std::pair<uint64_t, std::string>>{{0, "00"},
                                                                             {127, "7f"},
                                                                             {128, "8001"},
                                                                             {3000, "b817"},
                                                                             {10000, "904e"},
                                                                             {100000, "a08d06"}}) {
        std::vector<uint8_t> out;
        Writer w(out);
        w.zint(value);
        EXPECT_EQ(to_hex(out), bytes) << value;
        EXPECT_EQ(zint_size(value), out.size());
        Reader r(out);
        EXPECT_EQ(r.zint("v").value(), value);
        EXPECT_TRUE(r.empty());
    }
}

TEST(ZintTest, RoundTripsTheFullRangeInAtMostNineBytes) {
    for (uint64_t v : {uint64_t{1} << 56, (uint64_t{1} << 63) + 5, UINT64_MAX, uint64_t{1} << 49}) {
        std::vector<uint8_t> out;
        Writer w(out);
        w.zint(v);
        EXPECT_LE(out.size(), kMaxZintBytes);
        EXPECT_EQ(zint_size(v), out.size());
        Reader r(out);
        EXPECT_EQ(r.zint("v").value(), v);
    }
}

TEST(ZintTest, TruncatedZintIsAnErrorWithOffset) {
    auto bytes = hex("00 80 80");
    Reader r(bytes, 100);
    ASSERT_TRUE(r.u8("x"));
    auto v = r.zint("sn");
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().message().find("sn at offset 101"), std::string::npos)
        << v.error().message();
}

TEST(ZbytesTest, LengthBeyondTheBufferIsRefusedBeforeUse) {
    auto bytes = hex("ff ff ff ff 0f 01 02");
    Reader r(bytes);
    auto b = r.zbytes("payload");
    ASSERT_FALSE(b);
    EXPECT_NE(b.error().message().find("exceeds"), std::string::npos);
}

TEST(ZidTest, RefusesEmptyAndOversized) {
    std::vector<uint8_t> seventeen(17, 1);
    EXPECT_FALSE(Zid::from_bytes({}));
    EXPECT_FALSE(Zid::from_bytes(seventeen));
    EXPECT_EQ(Zid::random().size(), 16u);
}

TEST(ZidTest, PrintsAsRustDoesTheLittleEndianNumberWithoutLeadingZeros) {
    // The ZID eclipse-zenoh 1.10.2 shows as a0b0c0d0e0f10111213141516171819 (its config `id`)
    // arrives as these bytes; zenohd and the admin space name it that way, so we do too.
    auto rust = Zid::from_bytes(hex("19 18 17 16 15 14 13 12 11 10 0f 0e 0d 0c 0b 0a")).value();
    EXPECT_EQ(rust.to_string(), "a0b0c0d0e0f10111213141516171819");
    EXPECT_EQ(to_hex(rust.bytes()), "191817161514131211100f0e0d0c0b0a");
    EXPECT_EQ(Zid::from_bytes(hex("00 01")).value().to_string(), "100");
    EXPECT_EQ(Zid::from_bytes(hex("05")).value().to_string(), "5");
}

TEST(ExtensionTest, SkipsUnknownAndRefusesUnknownMandatory) {
    // unit 0x05 (more) , zint 0x27 = 1 (more), zbuf 0x48 "ab"
    auto ok = hex("85 a7 01 48 02 61 62");
    Reader r(ok);
    EXPECT_TRUE(skip_extensions(r, "ext"));
    EXPECT_TRUE(r.empty());

    auto bad = hex("85 31 07");  // second one is a mandatory zint id 1
    Reader r2(bad);
    auto res = skip_extensions(r2, "ext");
    ASSERT_FALSE(res);
    EXPECT_NE(res.error().message().find("unknown mandatory extension 0x31"), std::string::npos)
        << res.error().message();
}

TEST(ExtensionTest, ReservedEncodingIsAnError) {
    auto bytes = hex("61 00");
    Reader r(bytes);
    EXPECT_FALSE(skip_extensions(r, "ext"));
}

TEST(TransportRoundTripTest, InitWithEverything) {
    Init m;
    m.ack = true;
    m.whatami = WhatAmI::kRouter;
    m.zid = Zid::random();
    m.resolution = 0x0a;
    m.batch_size = 2048;
    std::vector<uint8_t> cookie{1, 2, 3};
    m.cookie = cookie;
    m.qos = true;
    m.patch = 1;
    auto bytes = encoded(m);
    auto item = decode_single(bytes).value();
    const auto& d = std::get<Init>(item);
    EXPECT_TRUE(d.ack);
    EXPECT_EQ(d.whatami, WhatAmI::kRouter);
    EXPECT_EQ(d.zid, m.zid);
    EXPECT_EQ(d.batch_size, 2048);
    EXPECT_EQ(to_hex(d.cookie), "010203");
    EXPECT_TRUE(d.qos);
    EXPECT_EQ(d.patch, 1u);
    EXPECT_EQ(encoded(d), bytes);
}

TEST(TransportRoundTripTest, InitWithDefaultsHasNoSizeFlag) {
    Init m;
    m.zid = Zid::from_bytes(std::vector<uint8_t>{7}).value();
    auto bytes = encoded(m);
    EXPECT_EQ(to_hex(bytes),
              "010901"
              "07");
    auto d = std::get<Init>(decode_single(bytes).value());
    EXPECT_EQ(d.batch_size, kDefaultBatchSize);
    EXPECT_EQ(d.resolution, kDefaultResolution);
}

TEST(TransportRoundTripTest, OpenLeaseInSecondsOrMilliseconds) {
    Open syn;
    syn.lease_ms = 10000;
    syn.initial_sn = 12345;
    std::vector<uint8_t> cookie{9, 9};
    syn.cookie = cookie;
    auto bytes = encoded(syn);
    auto d = std::get<Open>(decode_single(bytes).value());
    EXPECT_EQ(d.lease_ms, 10000u);
    EXPECT_EQ(d.initial_sn, 12345u);
    EXPECT_EQ(to_hex(d.cookie), "0909");
    EXPECT_EQ(encoded(d), bytes);

    Open ack;
    ack.ack = true;
    ack.lease_ms = 1500;
    auto d2 = std::get<Open>(decode_single(encoded(ack)).value());
    EXPECT_TRUE(d2.ack);
    EXPECT_EQ(d2.lease_ms, 1500u);
}

TEST(TransportRoundTripTest, CloseKeepAliveJoinOam) {
    EXPECT_EQ(to_hex(encoded(Close{kCloseGeneric, true})), "2300");
    auto c = std::get<Close>(decode_single(hex("03 05")).value());
    EXPECT_FALSE(c.session);
    EXPECT_EQ(c.reason, kCloseExpired);
    EXPECT_EQ(to_hex(encoded(KeepAlive{})), "04");

    Join j;
    j.zid = Zid::random();
    j.batch_size = 2048;
    j.next_sn_reliable = 7;
    j.patch = 1;
    auto jb = encoded(j);
    auto jd = std::get<Join>(decode_single(jb).value());
    EXPECT_EQ(jd.zid, j.zid);
    EXPECT_EQ(jd.next_sn_reliable, 7u);
    EXPECT_EQ(encoded(jd), jb);

    TransportOam oam{3, kExtEncZbuf, 0, {}};
    std::vector<uint8_t> body{1, 2};
    oam.body = body;
    auto ob = encoded(oam);
    auto od = std::get<TransportOam>(decode_single(ob).value());
    EXPECT_EQ(od.id, 3u);
    EXPECT_EQ(to_hex(od.body), "0102");
}

TEST(TransportRoundTripTest, FragmentCarriesItsPayloadToTheBatchEnd) {
    Fragment f;
    f.more = true;
    f.sn = 300;
    f.first = true;
    f.qos = 5;
    std::vector<uint8_t> payload(100, 0xab);
    f.payload = payload;
    auto bytes = encoded(f);
    EXPECT_EQ(bytes.size(), fragment_header_size(f) + payload.size());
    auto d = std::get<Fragment>(decode_single(bytes).value());
    EXPECT_TRUE(d.more);
    EXPECT_TRUE(d.first);
    EXPECT_EQ(d.qos, 5u);
    EXPECT_EQ(d.sn, 300u);
    EXPECT_EQ(d.payload.size(), 100u);
    EXPECT_EQ(encoded(d), bytes);
}

TEST(BatchDecoderTest, UnknownTransportIdIsAnErrorWithOffset) {
    auto bytes = hex("04 0e");
    BatchDecoder d(bytes);
    ASSERT_TRUE(d.next().value().has_value());
    auto e = d.next();
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("offset 1"), std::string::npos) << e.error().message();
}

TEST(BatchDecoderTest, FrameEndsAtATransportIdLikeRust) {
    // FRAME sn 1 | RESPONSE_FINAL 1 | KEEP_ALIVE | FRAME sn 2 (empty)
    auto bytes = hex("25 01 1a 01 04 25 02");
    BatchDecoder d(bytes);
    std::vector<size_t> kinds;
    for (int i = 0; i < 10; ++i) {
        auto item = d.next().value();
        if (!item) {
            break;
        }
        kinds.push_back(item->index());
    }
    EXPECT_EQ(kinds, (std::vector<size_t>{4, 5, 3, 4}));
}

}  // namespace
}  // namespace dora::zenoh
