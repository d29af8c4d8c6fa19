#include "core/uuid.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>
#include <unordered_set>
#include <vector>

namespace dora {
namespace {

uint64_t now_ms() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
}

TEST(Uuid, NewV7HasVersion7AndRfcVariant) {
    Uuid id = Uuid::new_v7();
    EXPECT_EQ(id.version(), 7);
    EXPECT_EQ(id.bytes()[8] & 0xc0, 0x80);
}

TEST(Uuid, NewV7CarriesTheCurrentMillisecond) {
    uint64_t before = now_ms();
    Uuid id = Uuid::new_v7();
    uint64_t after = now_ms();
    EXPECT_GE(id.timestamp_ms(), before);
    EXPECT_LE(id.timestamp_ms(), after + 1);
}

TEST(Uuid, IdsMadeInARowAreStrictlyIncreasing) {
    Uuid previous = Uuid::new_v7();
    for (int i = 0; i < 10000; ++i) {
        Uuid next = Uuid::new_v7();
        ASSERT_LT(previous, next);
        previous = next;
    }
}

TEST(Uuid, IdsFromManyThreadsAreUnique) {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 2000;
    std::vector<std::vector<Uuid>> made(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&made, t] {
            for (int i = 0; i < kPerThread; ++i)
                made[static_cast<size_t>(t)].push_back(Uuid::new_v7());
        });
    }
    for (auto& thread : threads) thread.join();
    std::unordered_set<Uuid> all;
    for (const auto& list : made) all.insert(list.begin(), list.end());
    EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(Uuid, FormatsAsLowercase8_4_4_4_12) {
    Uuid::Bytes bytes{0x01, 0x89, 0x0A, 0x5D, 0xAC, 0x96, 0x77, 0x4B,
                      0xBC, 0xCE, 0xB3, 0x02, 0x09, 0x9A, 0x80, 0x57};
    EXPECT_EQ(Uuid(bytes).to_string(), "01890a5d-ac96-774b-bcce-b302099a8057");
}

TEST(Uuid, ParseRoundTripsAndAcceptsUppercase) {
    Uuid id = Uuid::new_v7();
    auto parsed = Uuid::parse(id.to_string());
    ASSERT_TRUE(parsed) << parsed.error().message();
    EXPECT_EQ(*parsed, id);

    auto upper = Uuid::parse("01890A5D-AC96-774B-BCCE-B302099A8057");
    ASSERT_TRUE(upper);
    EXPECT_EQ(upper->to_string(), "01890a5d-ac96-774b-bcce-b302099a8057");
    EXPECT_EQ(upper->timestamp_ms(), 0x01890a5dac96u);
}

TEST(Uuid, ParseRejectsWrongLengthNonHexAndMisplacedDashes) {
    auto short_text = Uuid::parse("01890a5d-ac96");
    ASSERT_FALSE(short_text);
    EXPECT_NE(short_text.error().message().find("36 characters"), std::string::npos);

    auto non_hex = Uuid::parse("01890a5d-ac96-774b-bcce-b302099a805g");
    ASSERT_FALSE(non_hex);
    EXPECT_NE(non_hex.error().message().find("position 36"), std::string::npos);

    auto dashes = Uuid::parse("01890a5dac96-774b-bcce-b302099a8057-");
    ASSERT_FALSE(dashes);
    EXPECT_FALSE(Uuid::parse(""));
}

TEST(Uuid, NilIsDefaultAndSortsFirst) {
    Uuid nil;
    EXPECT_TRUE(nil.is_nil());
    EXPECT_EQ(nil.to_string(), "00000000-0000-0000-0000-000000000000");
    EXPECT_LT(nil, Uuid::new_v7());
    EXPECT_FALSE(Uuid::new_v7().is_nil());
}

}  // namespace
}  // namespace dora
