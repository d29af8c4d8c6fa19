#include "core/hlc.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace dora {
namespace {

constexpr uint64_t kStart = 1'700'000'000'000'000'000ULL;  // a plausible "now" in ns
constexpr uint64_t kMs = 1'000'000;

// A physical clock the test moves by hand.
struct FakeClock {
    std::shared_ptr<std::atomic<uint64_t>> ns = std::make_shared<std::atomic<uint64_t>>(kStart);
    HlcClock::PhysicalClock function() const {
        return [ns = ns] { return ns->load(); };
    }
    void advance(uint64_t delta) { ns->fetch_add(delta); }
    void set(uint64_t value) { ns->store(value); }
};

HlcId id_of(uint8_t first) {
    HlcId id{};
    id[0] = first;
    return id;
}

TEST(HlcClock, NowFollowsThePhysicalClockWhenItMovesForward) {
    FakeClock fake;
    HlcClock clock(id_of(1), fake.function());

    EXPECT_EQ(clock.now().time_ns, kStart);
    fake.advance(5 * kMs);
    EXPECT_EQ(clock.now().time_ns, kStart + 5 * kMs);
}

TEST(HlcClock, NowIsStrictlyIncreasingWhenThePhysicalClockStands) {
    FakeClock fake;
    HlcClock clock(id_of(1), fake.function());

    const Timestamp a = clock.now();
    const Timestamp b = clock.now();
    const Timestamp c = clock.now();

    EXPECT_LT(a, b);
    EXPECT_LT(b, c);
    EXPECT_EQ(c.time_ns, kStart + 2);
}

TEST(HlcClock, NowNeverGoesBackWhenThePhysicalClockDoes) {
    FakeClock fake;
    HlcClock clock(id_of(1), fake.function());
    const Timestamp before = clock.now();

    fake.set(kStart - 1000 * kMs);
    const Timestamp after = clock.now();

    EXPECT_GT(after, before);
}

TEST(HlcClock, TimestampsCarryTheClockId) {
    FakeClock fake;
    HlcClock clock(id_of(42), fake.function());

    EXPECT_EQ(clock.now().id, id_of(42));
    EXPECT_EQ(clock.id(), id_of(42));
}

TEST(HlcClock, UpdateWithATimestampAheadMovesTheClockPastIt) {
    FakeClock fake;
    HlcClock clock(id_of(1), fake.function());
    const Timestamp remote{kStart + 100 * kMs, id_of(2)};

    ASSERT_TRUE(clock.update(remote).has_value());
    const Timestamp next = clock.now();

    EXPECT_GT(next.time_ns, remote.time_ns);
}

TEST(HlcClock, UpdateWithATimestampBehindChangesNothing) {
    FakeClock fake;
    HlcClock clock(id_of(1), fake.function());
    fake.advance(10 * kMs);

    ASSERT_TRUE(clock.update(Timestamp{kStart, id_of(2)}).has_value());

    EXPECT_EQ(clock.now().time_ns, kStart + 10 * kMs);
}

TEST(HlcClock, UpdateAcceptsATimestampExactlyAtTheMaxDrift) {
    FakeClock fake;
    HlcClock clock(id_of(1), fake.function());

    EXPECT_TRUE(clock.update(Timestamp{kStart + 500 * kMs, id_of(2)}).has_value());
}

TEST(HlcClock, UpdateRejectsATimestampTooFarInTheFutureAndKeepsTheClock) {
    FakeClock fake;
    HlcClock clock(id_of(1), fake.function());

    const Result<> result = clock.update(Timestamp{kStart + 500 * kMs + 1, id_of(2)});

    ASSERT_FALSE(result.has_value());
    EXPECT_NE(result.error().message().find("ahead of the local clock"), std::string::npos);
    EXPECT_EQ(clock.now().time_ns, kStart);
}

TEST(HlcClock, MaxDriftIsConfigurable) {
    FakeClock fake;
    HlcClock clock(id_of(1), fake.function(), std::chrono::milliseconds(10));

    EXPECT_FALSE(clock.update(Timestamp{kStart + 11 * kMs, id_of(2)}).has_value());
    EXPECT_TRUE(clock.update(Timestamp{kStart + 9 * kMs, id_of(2)}).has_value());
}

TEST(HlcClock, ConcurrentCallersNeverGetTheSameTimestamp) {
    FakeClock fake;  // standing still: every timestamp comes from the logical part
    HlcClock clock(id_of(1), fake.function());
    constexpr int kThreads = 4;
    constexpr int kPerThread = 10'000;
    std::vector<std::vector<uint64_t>> seen(kThreads);

    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            uint64_t previous = 0;
            for (int i = 0; i < kPerThread; ++i) {
                const uint64_t time = clock.now().time_ns;
                EXPECT_GT(time, previous);
                previous = time;
                seen[static_cast<size_t>(t)].push_back(time);
            }
        });
    }
    for (auto& thread : threads) {
        thread.join();
    }

    std::vector<uint64_t> all;
    for (const auto& times : seen) {
        all.insert(all.end(), times.begin(), times.end());
    }
    std::sort(all.begin(), all.end());
    EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
    EXPECT_EQ(all.back(), kStart + kThreads * kPerThread - 1);
}

TEST(HlcClock, DefaultClockReadsTheSystemClockAndHasARandomId) {
    HlcClock a;
    HlcClock b;
    const uint64_t system = HlcClock::system_time_ns();

    const Timestamp t = a.now();

    EXPECT_NE(a.id(), b.id());
    EXPECT_GE(t.time_ns + 1'000 * kMs, system);
    EXPECT_LE(t.time_ns, system + 1'000 * kMs);
}

TEST(Timestamp, ToStringShowsSecondsNanosecondsAndId) {
    const Timestamp t{1'000'000'000ULL * 12 + 345, id_of(0xab)};

    EXPECT_EQ(to_string(t), "12.000000345/ab000000000000000000000000000000");
}

}  // namespace
}  // namespace dora
