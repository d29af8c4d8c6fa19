// Test helper: a Publisher used the way a daemon's egress thread uses it, with the session's loop
// running on a thread of its own, so that the publishing thread finds the loop asleep and puts
// the samples in its place (EventLoop::try_borrow) — the path of publisher_test.cpp and
// session_tls_test.cpp. publish_in_order() checks that every sample arrives once, in order, with
// its bytes (small ones in shared FRAMEs, large ones fragmented and queued past a link's flush
// threshold), that each release runs once, and that the publishing thread did put some itself.
//
// Thread safety: LoopThread is made and destroyed on the test thread; call() from there only.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/event_loop.hpp"
#include "zenoh/session.hpp"

namespace dora::zenoh::testing {

// Runs `loop` on its own thread until destroyed. Sessions on it are made before (on the test
// thread, which the loop does not run on yet) or through call().
class LoopThread {
  public:
    explicit LoopThread(EventLoop& loop) : loop_(loop), thread_([this] { loop_.run(); }) {}
    ~LoopThread() {
        loop_.stop();
        thread_.join();
    }
    LoopThread(const LoopThread&) = delete;
    LoopThread& operator=(const LoopThread&) = delete;

    // Runs `f` on the loop thread and returns what it returned.
    template <typename F>
    auto call(F f) {
        std::promise<decltype(f())> done;
        loop_.post([&] { done.set_value(f()); });
        return done.get_future().get();
    }

  private:
    EventLoop& loop_;
    std::thread thread_;
};

// The payload of sample `i`: its number, then filler; every 16th is large enough to be cut into
// fragments and to pass the transport's flush threshold in one message.
inline std::string numbered_payload(int i) {
    const size_t size = i % 16 == 15 ? size_t{300} << 10 : 24;
    std::string p = std::to_string(i) + ":";
    p.resize(size, static_cast<char>('a' + i % 26));
    return p;
}

// Publishes batches on "t/x" from this thread through `pub`'s Publisher while `loop` runs them;
// `sub` (on the same loop) must be connected to `pub`.
inline void publish_in_order(LoopThread& loop, Session& pub, Session& sub) {
    std::mutex mutex;  // guards got: the callback runs on the loop thread or on its borrower
    std::vector<std::string> got;
    auto subscription = loop.call([&] {
        return sub
            .declare_subscriber("t/**",
                                [&](const Sample& s) {
                                    std::lock_guard lock(mutex);
                                    got.emplace_back(as_string_view(s.put.payload));
                                })
            .value();
    });
    auto deadline = SteadyClock::now() + std::chrono::seconds(10);
    while (!loop.call([&] { return pub.has_remote_subscriber("t/x"); })) {
        ASSERT_LT(SteadyClock::now(), deadline) << "no subscriber seen";
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    auto received = [&] {
        std::lock_guard lock(mutex);
        return got.size();
    };

    constexpr int kBatches = 40;
    constexpr int kPerBatch = 8;
    std::vector<std::string> payloads;
    for (int i = 0; i < kBatches * kPerBatch; ++i) {
        payloads.push_back(numbered_payload(i));
    }
    const auto self = std::this_thread::get_id();
    std::atomic<int> released{0};
    std::atomic<int> released_here{0};  // by this thread, in the loop's place
    Publisher publisher = pub.publisher();
    for (int b = 0; b < kBatches; ++b) {
        std::vector<OutgoingSample> batch;
        for (int i = 0; i < kPerBatch; ++i) {
            const std::string& p = payloads[static_cast<size_t>(b * kPerBatch + i)];
            batch.push_back({"t/x", as_bytes(p), as_bytes("m"), [&] {
                                 ++released;
                                 released_here += std::this_thread::get_id() == self ? 1 : 0;
                             }});
        }
        ASSERT_TRUE(publisher.publish(std::move(batch)));
        // Until they arrived: the loop then goes back to sleep and the next batch finds it so.
        const auto want = static_cast<size_t>((b + 1) * kPerBatch);
        deadline = SteadyClock::now() + std::chrono::seconds(10);
        while (received() < want && SteadyClock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    }
    loop.call([&] {
        subscription = Subscription();
        return 0;
    });
    std::lock_guard lock(mutex);
    ASSERT_EQ(got.size(), payloads.size());
    for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i], payloads[i]) << "sample " << i << " out of order or changed";
    }
    EXPECT_EQ(released.load(), kBatches * kPerBatch);
    EXPECT_GT(released_here.load(), 0) << "the publishing thread never found the loop asleep";
    EXPECT_EQ(publisher.queued(), 0u);
}

}  // namespace dora::zenoh::testing
