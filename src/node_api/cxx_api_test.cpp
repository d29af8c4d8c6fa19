// dora's C++ node API (include/dora-node-api.h) over a node of the in-process test "daemon".
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "dora-node-api.h"
#include "node_api/compat.hpp"
#include "node_api/node_api_fixture.hpp"

namespace dora {
namespace {

using node_api_testing::text_of;

class CxxApiTest : public node_api_testing::NodeApiTest {
  protected:
    DoraNode make_dora_node() { return compat::make_cxx_node(make_node(config_)); }

    // The next entry of the sink's ring: its bytes and Arrow format (empty when none).
    std::pair<std::string, std::string> sink_pop() {
        auto entry = sink_region_.ring(0).pop();
        if (!entry) {
            return {};
        }
        shm::SegmentCache cache({{kNodeSender, config_.pool_prefix}});
        auto view = cache.view(*entry);
        EXPECT_TRUE(view) << view.error().message();
        auto metadata = message::decode({view->metadata, view->metadata_len});
        EXPECT_TRUE(metadata);
        std::pair<std::string, std::string> got{text_of({view->data, view->data_len}),
                                                metadata->type_info.format};
        cache.release(*entry);
        return got;
    }
};

TEST_F(CxxApiTest, InputIsReadAndEchoedAsDoraExamplesDo) {
    auto dora_node = make_dora_node();
    peer_send(0, "ping", 100);
    auto event = dora_node.events->next();
    ASSERT_EQ(event_type(event), DoraEventType::Input);
    auto input = event_as_input(std::move(event));
    EXPECT_EQ(std::string(input.id), "a");
    EXPECT_EQ(std::string(input.data.begin(), input.data.end()), "ping");

    rust::Slice<const uint8_t> out{input.data.data(), input.data.size()};
    auto result = send_output(dora_node.send_output, "out", out);
    EXPECT_EQ(std::string(result.error), "");
    EXPECT_EQ(sink_pop(), (std::pair<std::string, std::string>{"ping", "C"}));

    auto bad = send_output(dora_node.send_output, "nope", out);
    EXPECT_NE(std::string(bad.error).find("no output \"nope\""), std::string::npos)
        << std::string(bad.error);
}

TEST_F(CxxApiTest, StopThenAllInputsClosedForever) {
    auto dora_node = make_dora_node();
    node_region_.request_stop(shm::StopReason::kStopRequested);
    auto stop = next_event(dora_node.events);
    EXPECT_EQ(event_type(stop), DoraEventType::Stop);
    EXPECT_THROW((void)event_as_input(std::move(stop)), rust::Error);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(event_type(dora_node.events->next()), DoraEventType::AllInputsClosed);
    }
}

TEST_F(CxxApiTest, ArrowInputExportedAndSentBackUnchanged) {
    auto dora_node = make_dora_node();
    peer_send(1, "arrow bytes", 100);
    auto event = dora_node.events->next();
    ASSERT_EQ(event_type(event), DoraEventType::Input);
    ArrowArray array{};
    ArrowSchema schema{};
    auto exported = event_as_arrow_input(std::move(event), reinterpret_cast<uint8_t*>(&array),
                                         reinterpret_cast<uint8_t*>(&schema));
    ASSERT_EQ(std::string(exported.error), "");
    EXPECT_STREQ(schema.format, "C");
    EXPECT_EQ(array.length, 11);
    auto sent = send_arrow_output(dora_node.send_output, "out", reinterpret_cast<uint8_t*>(&array),
                                  reinterpret_cast<uint8_t*>(&schema));
    EXPECT_EQ(std::string(sent.error), "");
    EXPECT_EQ(array.release, nullptr) << "send_arrow_output consumes the array";
    EXPECT_EQ(schema.release, nullptr);
    EXPECT_EQ(sink_pop(), (std::pair<std::string, std::string>{"arrow bytes", "C"}));

    auto null = send_arrow_output(dora_node.send_output, "out", nullptr, nullptr);
    EXPECT_NE(std::string(null.error), "");
}

TEST_F(CxxApiTest, CombinedEventsAreDoraEventsUntilTheEnd) {
    auto dora_node = make_dora_node();
    auto combined = dora_events_into_combined(std::move(dora_node.events));
    peer_send(0, "one", 100);
    auto first = combined.next();
    ASSERT_TRUE(first.is_dora());
    auto event = downcast_dora(std::move(first));
    EXPECT_EQ(std::string(event_as_input(std::move(event)).id), "a");
    node_region_.request_stop(shm::StopReason::kStopRequested);
    EXPECT_TRUE(combined.next().is_dora()) << "STOP is a dora event";
    auto end = combined.next();
    EXPECT_FALSE(end.is_dora());
    EXPECT_THROW((void)downcast_dora(std::move(end)), rust::Error);

    auto empty = empty_combined_events();
    EXPECT_FALSE(empty.next().is_dora());
}

TEST_F(CxxApiTest, InitOutsideADataflowThrowsWithTheReason) {
    ::unsetenv(message::kNodeConfigEnv);
    try {
        (void)init_dora_node();
        FAIL() << "init_dora_node outside a dataflow must throw";
    } catch (const rust::Error& e) {
        EXPECT_NE(std::string(e.what()).find("started outside a dataflow"), std::string::npos)
            << e.what();
    }
}

// As in dora, the event stream and the sender may live on two threads (checked by the tsan
// preset, scripts/check.sh tsan).
TEST_F(CxxApiTest, EventsAndSenderOnTwoThreads) {
    auto dora_node = make_dora_node();
    constexpr int kMessages = 200;
    std::atomic<int> received{0};
    std::thread receiver([&] {
        for (;;) {
            auto event = dora_node.events->next();
            const auto ty = event_type(event);
            if (ty == DoraEventType::AllInputsClosed) {
                return;
            }
            if (ty == DoraEventType::Input) {
                received.fetch_add(1);
            }
        }
    });
    const uint8_t byte = 7;
    int sent_ok = 0;
    for (int i = 0; i < kMessages; ++i) {
        peer_send(static_cast<uint32_t>(i % 2), "x", 100 + static_cast<uint64_t>(i));
        auto result =
            send_output(dora_node.send_output, "out", rust::Slice<const uint8_t>{&byte, 1});
        sent_ok += std::string(result.error).empty() ? 1 : 0;
        (void)sink_region_.ring(0).pop();  // keep the sink's small ring from filling
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (received.load() + 4 < i) {  // the node's input rings hold 4 and 2 entries
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the receiver is stuck";
            std::this_thread::yield();
        }
    }
    node_region_.request_stop(shm::StopReason::kStopRequested);
    receiver.join();
    EXPECT_EQ(sent_ok, kMessages);
    EXPECT_GT(received.load(), 0);
}

}  // namespace
}  // namespace dora
