#include "shm/ring.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace dora::shm {
namespace {

struct LocalRing {
    explicit LocalRing(uint32_t capacity) : memory(Ring::bytes_for(capacity) / 8 + 8) {
        ring = Ring::init(memory.data(), capacity);
    }
    std::vector<uint64_t> memory;
    Ring ring;
};

Entry sample(uint32_t segment, uint64_t time = 0) {
    Entry e;
    e.kind = EntryKind::kSample;
    e.sender = 3;
    e.generation = 2;
    e.segment = segment;
    e.time_ns = time;
    return e;
}

TEST(Ring, EntryPacksAndUnpacksEveryField) {
    Entry e = sample(0xdeadbeef, 42);
    EXPECT_EQ(Entry::unpack(e.pack(), 42), e);
}

TEST(Ring, DeliversInSendingOrder) {
    LocalRing r(4);
    for (uint32_t i = 0; i < 3; ++i) {
        EXPECT_FALSE(r.ring.push(sample(i)).has_value());
    }
    for (uint32_t i = 0; i < 3; ++i) {
        auto e = r.ring.pop();
        ASSERT_TRUE(e);
        EXPECT_EQ(e->segment, i);
    }
    EXPECT_FALSE(r.ring.pop());
}

TEST(Ring, FullRingDropsOldestAndCountsIt) {
    LocalRing r(2);
    EXPECT_FALSE(r.ring.push(sample(1)));
    EXPECT_FALSE(r.ring.push(sample(2)));
    auto dropped = r.ring.push(sample(3));
    ASSERT_TRUE(dropped);
    EXPECT_EQ(dropped->segment, 1u);
    EXPECT_EQ(r.ring.dropped(), 1u);
    EXPECT_EQ(r.ring.pop()->segment, 2u);
    EXPECT_EQ(r.ring.pop()->segment, 3u);
}

TEST(Ring, CountsWhatWasPushedAndWhatIsQueued) {
    LocalRing r(2);
    EXPECT_EQ(r.ring.queued(), 0u);
    for (uint32_t i = 0; i < 5; ++i) {
        (void)r.ring.push(sample(i));
    }
    EXPECT_EQ(r.ring.pushed(), 5u);  // dropped ones included
    EXPECT_EQ(r.ring.dropped(), 3u);
    EXPECT_EQ(r.ring.queued(), 2u);
    (void)r.ring.pop();
    EXPECT_EQ(r.ring.queued(), 1u);
    EXPECT_EQ(r.ring.pushed(), 5u);
}

TEST(Ring, GoneConsumerGetsNothingAndEntryComesBack) {
    LocalRing r(2);
    r.ring.mark_consumer_gone();
    auto back = r.ring.push(sample(7));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->segment, 7u);
    EXPECT_TRUE(r.ring.empty());
}

TEST(Ring, UnwatchedRingQueuesAndCountsNothingUntilWatchedAgain) {
    LocalRing r(2);
    r.ring.set_unwatched(true);
    EXPECT_TRUE(r.ring.unwatched());
    auto back = r.ring.push(sample(7));
    ASSERT_TRUE(back);
    EXPECT_EQ(back->segment, 7u);
    EXPECT_EQ(r.ring.try_push(sample(8)), PushResult::kConsumerGone);
    EXPECT_TRUE(r.ring.empty());
    EXPECT_EQ(r.ring.pushed(), 0u);
    EXPECT_EQ(r.ring.dropped(), 0u);
    r.ring.set_unwatched(false);
    EXPECT_FALSE(r.ring.push(sample(9)));
    EXPECT_EQ(r.ring.pushed(), 1u);
    EXPECT_EQ(r.ring.pop()->segment, 9u);
}

TEST(Ring, PeekShowsOldestTimeWithoutTakingIt) {
    LocalRing r(4);
    EXPECT_FALSE(r.ring.peek_time());
    EXPECT_FALSE(r.ring.push(sample(1, 100))) << "room for 4: nothing dropped";
    EXPECT_FALSE(r.ring.push(sample(2, 200)));
    EXPECT_EQ(r.ring.peek_time(), 100u);
    EXPECT_EQ(r.ring.pop()->segment, 1u);
    EXPECT_EQ(r.ring.peek_time(), 200u);
}

TEST(Ring, ConcurrentProducerAndConsumerLoseNothingUncounted) {
    LocalRing r(8);
    constexpr uint32_t kCount = 200'000;
    std::atomic<bool> done{false};
    uint64_t received = 0;
    uint64_t dropped_by_producer = 0;
    std::thread consumer([&] {
        uint32_t last = 0;
        bool first = true;
        for (;;) {
            auto e = r.ring.pop();
            if (!e) {
                if (done.load() && r.ring.empty()) {
                    break;
                }
                continue;
            }
            if (!first) {
                ASSERT_GT(e->segment, last) << "entries must stay in order";
            }
            first = false;
            last = e->segment;
            ++received;
        }
    });
    for (uint32_t i = 1; i <= kCount; ++i) {
        if (r.ring.push(sample(i))) {
            ++dropped_by_producer;
        }
    }
    done.store(true);
    consumer.join();
    EXPECT_EQ(received + dropped_by_producer, kCount);
    EXPECT_EQ(r.ring.dropped(), dropped_by_producer);
}

TEST(Ring, TryPushNeverDropsAndWakesAWaitingProducerOnPop) {
    LocalRing r(1);
    r.ring.set_backpressure(true);
    ASSERT_EQ(r.ring.try_push(sample(1, 5)), PushResult::kPushed);
    const uint32_t seen = r.ring.space_seq();
    EXPECT_EQ(r.ring.try_push(sample(2)), PushResult::kFull);
    EXPECT_EQ(r.ring.dropped(), 0u);
    EXPECT_EQ(r.ring.last_push_ns(), 5u);
    std::thread consumer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        EXPECT_EQ(r.ring.pop()->segment, 1u);
    });
    EXPECT_TRUE(
        r.ring.wait_for_space(seen, std::chrono::steady_clock::now() + std::chrono::seconds(10)));
    consumer.join();
    EXPECT_EQ(r.ring.try_push(sample(2)), PushResult::kPushed);
}

TEST(Ring, AGoneConsumerEndsTheProducersWait) {
    LocalRing r(1);
    r.ring.set_backpressure(true);
    ASSERT_EQ(r.ring.try_push(sample(1)), PushResult::kPushed);
    const uint32_t seen = r.ring.space_seq();
    std::thread daemon([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        r.ring.mark_consumer_gone();
    });
    EXPECT_TRUE(
        r.ring.wait_for_space(seen, std::chrono::steady_clock::now() + std::chrono::seconds(10)));
    daemon.join();
    EXPECT_EQ(r.ring.try_push(sample(2)), PushResult::kConsumerGone);
}

TEST(Ring, TimedOutFlagIsSetAndCleared) {
    LocalRing r(2);
    EXPECT_FALSE(r.ring.timed_out());
    r.ring.set_timed_out();
    EXPECT_TRUE(r.ring.timed_out());
    r.ring.clear_timed_out();
    EXPECT_FALSE(r.ring.timed_out());
}

}  // namespace
}  // namespace dora::shm
