// Session::publisher(): batches handed over from other threads are put in order on the loop
// thread, or by the publishing thread itself while the loop sleeps, each sample released once;
// after the session is gone, publish fails and releases.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "zenoh/publish_from_thread.hpp"
#include "zenoh/session.hpp"
#include "zenoh/test_loop.hpp"

namespace dora::zenoh {
namespace {

using namespace std::chrono_literals;

class PublisherTest : public testing::LoopTest {
  protected:
    std::unique_ptr<Session> open(std::vector<std::string> listen,
                                  std::vector<std::string> connect) {
        SessionOptions options;
        for (const auto& e : listen) {
            options.config.listen.push_back(parse_endpoint(e).value());
        }
        for (const auto& e : connect) {
            options.config.connect.push_back(parse_endpoint(e).value());
        }
        options.transport.log = log_sink();
        return Session::open(*loop_, std::move(options)).value();
    }
};

TEST_F(PublisherTest, BatchesFromAnotherThreadArriveInOrderAndEachSampleIsReleasedOnce) {
    auto sub = open({"tcp/127.0.0.1:0"}, {});
    auto pub = open({}, {"tcp/127.0.0.1:" + std::to_string(sub->listen_ports().at(0))});
    std::vector<std::string> got;
    auto subscription = sub->declare_subscriber("t/**",
                                                [&](const Sample& s) {
                                                    got.emplace_back(as_string_view(s.put.payload));
                                                    EXPECT_TRUE(s.put.attachment.has_value());
                                                })
                            .value();
    ASSERT_TRUE(run_until([&] { return pub->has_remote_subscriber("t/x"); }));

    constexpr int kBatches = 20;
    constexpr int kPerBatch = 50;
    std::vector<std::string> payloads;
    for (int i = 0; i < kBatches * kPerBatch; ++i) {
        payloads.push_back(std::to_string(i));
    }
    std::atomic<int> released{0};
    Publisher publisher = pub->publisher();
    std::atomic<bool> done{false};
    std::thread producer([&] {
        for (int b = 0; b < kBatches; ++b) {
            std::vector<OutgoingSample> batch;
            for (int i = 0; i < kPerBatch; ++i) {
                const std::string& p = payloads[static_cast<size_t>(b * kPerBatch + i)];
                batch.push_back({"t/x", as_bytes(p), as_bytes("m"), [&] { ++released; }});
            }
            EXPECT_TRUE(publisher.publish(std::move(batch)));
        }
        done = true;
    });
    bool all = run_until([&] { return done && got.size() == payloads.size(); });
    producer.join();
    ASSERT_TRUE(all) << got.size();
    EXPECT_EQ(got, payloads);
    EXPECT_EQ(released.load(), kBatches * kPerBatch);
    EXPECT_EQ(publisher.queued(), 0u);
}

TEST_F(PublisherTest, WhileTheLoopSleepsThePublishingThreadPutsInOrderInItsPlace) {
    auto sub = open({"tcp/127.0.0.1:0"}, {});
    auto pub = open({}, {"tcp/127.0.0.1:" + std::to_string(sub->listen_ports().at(0))});
    testing::LoopThread loop(*loop_);  // destroyed first: the sessions are not used after
    testing::publish_in_order(loop, *pub, *sub);
}

TEST_F(PublisherTest, PublishingAfterTheSessionIsGoneFailsAndReleases) {
    auto session = open({}, {});
    Publisher publisher = session->publisher();
    int released = 0;
    ASSERT_TRUE(
        publisher.publish({{"a/b", as_bytes("queued"), std::nullopt, [&] { ++released; }}}));
    session.reset();  // the queued sample was never put: released by the close
    EXPECT_EQ(released, 1);
    EXPECT_FALSE(publisher.publish({{"a/b", as_bytes("late"), std::nullopt, [&] { ++released; }}}));
    EXPECT_EQ(released, 2);
    loop_->run_once(1ms);  // the drain posted for the first batch finds the queue closed
    EXPECT_EQ(released, 2);
}

}  // namespace
}  // namespace dora::zenoh
