// dora's C node API (include/dora/node_api.h) over a node of the in-process test "daemon".
#include <gtest/gtest.h>

#include <string>

#include "dora/node_api.h"
#include "node_api/compat.hpp"
#include "node_api/node_api_fixture.hpp"

namespace dora {
namespace {

using node_api_testing::text_of;

class CApiTest : public node_api_testing::NodeApiTest {
  protected:
    void* make_context() { return compat::make_c_context(make_node(config_)); }
};

std::string read_id(void* event) {
    char* ptr = nullptr;
    size_t len = 99;
    read_dora_input_id(event, &ptr, &len);
    return ptr == nullptr ? "<null:" + std::to_string(len) + ">" : std::string(ptr, len);
}

std::string read_data(void* event) {
    char* ptr = nullptr;
    size_t len = 99;
    read_dora_input_data(event, &ptr, &len);
    return ptr == nullptr ? "<null:" + std::to_string(len) + ">" : std::string(ptr, len);
}

TEST(CApiTimestampTest, Ntp64HasSecondsAboveAndTheFractionBelow) {
    EXPECT_EQ(compat::ntp64_from_ns(0), 0u);
    EXPECT_EQ(compat::ntp64_from_ns(1'500'000'000), (uint64_t{1} << 32) | 0x8000'0000u);
    const uint64_t ns = 1'764'460'800'250'000'000;  // 2025-11-30 00:00:00.25 UTC
    EXPECT_EQ(compat::ntp64_from_ns(ns) >> 32, ns / 1'000'000'000);
    EXPECT_EQ(compat::ntp64_from_ns(ns) & 0xffff'ffffu, 0x4000'0000u);
}

TEST_F(CApiTest, InputsGiveTheirIdDataAndSendingTimeUntilFreed) {
    void* ctx = make_context();
    const Timestamp sent = clock_.now();
    peer_send(1, "hello", 100, sent);
    void* event = dora_next_event(ctx);
    ASSERT_NE(event, nullptr);
    EXPECT_EQ(read_dora_event_type(event), DoraEventType_Input);
    free_dora_context(ctx);  // the event keeps its data, as in dora
    EXPECT_EQ(read_id(event), "b");
    EXPECT_EQ(read_data(event), "hello");
    EXPECT_EQ(read_dora_input_timestamp(event), compat::ntp64_from_ns(sent.time_ns));
    free_dora_event(event);
}

TEST_F(CApiTest, EmptyMessageHasNullData) {
    void* ctx = make_context();
    peer_send(0, "", 100);
    void* event = dora_next_event(ctx);
    ASSERT_NE(event, nullptr);
    EXPECT_EQ(read_dora_event_type(event), DoraEventType_Input);
    EXPECT_EQ(read_data(event), "<null:0>");
    free_dora_event(event);
    free_dora_context(ctx);
}

TEST_F(CApiTest, ClosedInputsThenStopThenNullAtTheEndOfTheStream) {
    void* ctx = make_context();
    node_region_.ring(0).close();
    node_region_.ring(1).close();
    node_region_.signal().notify();
    for (int i = 0; i < 2; ++i) {
        void* closed = dora_next_event(ctx);
        ASSERT_NE(closed, nullptr);
        EXPECT_EQ(read_dora_event_type(closed), DoraEventType_InputClosed);
        EXPECT_EQ(read_id(closed), "<null:0>") << "dora gives the id of inputs only";
        EXPECT_EQ(read_data(closed), "<null:0>");
        EXPECT_EQ(read_dora_input_timestamp(closed), 0u);
        free_dora_event(closed);
    }
    void* stop = dora_next_event(ctx);
    ASSERT_NE(stop, nullptr);
    EXPECT_EQ(read_dora_event_type(stop), DoraEventType_Stop);
    free_dora_event(stop);
    EXPECT_EQ(dora_next_event(ctx), nullptr);
    EXPECT_EQ(dora_next_event(ctx), nullptr) << "and stays at the end";
    free_dora_context(ctx);
}

TEST_F(CApiTest, SendOutputSendsBytesAndReportsErrors) {
    void* ctx = make_context();
    const std::string text = "loop iteration 3";
    EXPECT_EQ(dora_send_output(ctx, "out", 3, text.data(), text.size()), 0);
    auto entry = sink_region_.ring(0).pop();
    ASSERT_TRUE(entry);
    shm::SegmentCache cache({{kNodeSender, config_.pool_prefix}});
    auto view = cache.view(*entry);
    ASSERT_TRUE(view) << view.error().message();
    EXPECT_EQ(text_of({view->data, view->data_len}), text);
    auto metadata = message::decode({view->metadata, view->metadata_len});
    ASSERT_TRUE(metadata);
    EXPECT_EQ(metadata->type_info.format, "C") << "bytes travel as a UInt8 array, as in dora";
    cache.release(*entry);

    ::testing::internal::CaptureStderr();
    EXPECT_EQ(dora_send_output(ctx, "nope", 4, "x", 1), -1);
    EXPECT_EQ(dora_send_output(ctx, "out", 3, nullptr, 5), -1);
    EXPECT_EQ(dora_send_output(nullptr, "out", 3, "x", 1), -1);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("no output \"nope\""), std::string::npos) << err;
    EXPECT_NE(err.find("data is NULL"), std::string::npos) << err;
    EXPECT_NE(err.find("context is NULL"), std::string::npos) << err;
    EXPECT_EQ(dora_send_output(ctx, "out", 3, nullptr, 0), 0) << "an empty message is fine";
    free_dora_context(ctx);
}

TEST_F(CApiTest, InitOutsideADataflowReturnsNullAndSaysWhy) {
    ::unsetenv(message::kNodeConfigEnv);
    ::testing::internal::CaptureStderr();
    void* ctx = init_dora_context_from_env();
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(ctx, nullptr);
    EXPECT_NE(err.find("failed to initialize node"), std::string::npos) << err;
    EXPECT_EQ(dora_next_event(nullptr), nullptr);
}

}  // namespace
}  // namespace dora
