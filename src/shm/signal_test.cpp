#include "shm/signal.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace dora::shm {
namespace {

using namespace std::chrono_literals;

TEST(Signal, WaitTimesOutWhenNothingHappens) {
    Signal s;
    auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(s.wait(s.current(), start + 20ms, 1ms));
    EXPECT_GE(std::chrono::steady_clock::now() - start, 20ms);
}

TEST(Signal, NotifyWakesASleepingWaiter) {
    Signal s;
    uint32_t seen = s.current();
    std::thread producer([&] {
        // Wait until the consumer sleeps on the futex, then notify.
        auto deadline = std::chrono::steady_clock::now() + 5s;
        while (s.sleepers.load() == 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
        }
        s.notify();
    });
    EXPECT_TRUE(s.wait(seen, std::chrono::steady_clock::now() + 10s, 0ns));
    producer.join();
}

TEST(Signal, ChangeBeforeWaitReturnsAtOnce) {
    Signal s;
    uint32_t seen = s.current();
    s.notify();
    EXPECT_TRUE(s.wait(seen, std::nullopt, 0ns));
}

}  // namespace
}  // namespace dora::shm
