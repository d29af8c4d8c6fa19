// node_api against an in-process "daemon": the test creates the shared-memory regions, rings and
// pools itself, as the daemon would (without linking it), and drives dora::Node through them.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/hlc.hpp"
#include "dora/node.hpp"
#include "message/arrow_layout.hpp"
#include "message/metadata.hpp"
#include "message/node_config.hpp"
#include "node_api/node_access.hpp"
#include "node_api/node_api_fixture.hpp"
#include "node_api/node_impl.hpp"
#include "shm/pool.hpp"
#include "shm/region.hpp"
#include "testing/maps.hpp"

namespace dora {
namespace {

static_assert(Primitive<int8_t> && Primitive<uint64_t> && Primitive<float> && Primitive<double>);
static_assert(!Primitive<bool> && !Primitive<char> && !Primitive<long double>);
static_assert(!Primitive<std::string>);

using node_api_testing::mapped;
using node_api_testing::NodeApiTest;
using node_api_testing::text_of;
using testing::permissions_at;

TEST_F(NodeApiTest, InputsArriveInSendingOrderAcrossRings) {
    Node node = make_node(config_);
    peer_send(1, "first", 100);
    peer_send(0, "second", 200);
    peer_send(1, "third", 300);
    std::vector<std::string> got;
    for (int i = 0; i < 3; ++i) {
        auto event = node.next(std::chrono::seconds(5));
        ASSERT_TRUE(event);
        ASSERT_EQ(event->type, EventType::Input);
        got.push_back(event->id + ":" + text_of(event->data()));
    }
    EXPECT_EQ(got, (std::vector<std::string>{"b:first", "a:second", "b:third"}));
    EXPECT_FALSE(node.next(std::chrono::milliseconds(1))) << "nothing else was sent";
    EXPECT_FALSE(node.finished());
}

TEST_F(NodeApiTest, ClosedInputsGiveInputClosedThenStopWhenAllAreClosed) {
    Node node = make_node(config_);
    peer_send(0, "last words", 100);
    node_region_.ring(0).close();
    node_region_.signal().notify();
    auto input = node.next(std::chrono::seconds(5));
    ASSERT_TRUE(input);
    EXPECT_EQ(input->type, EventType::Input) << "what was queued before closing comes first";
    auto closed = node.next(std::chrono::seconds(5));
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->type, EventType::InputClosed);
    EXPECT_EQ(closed->id, "a");
    node_region_.ring(1).close();
    auto closed_b = node.next(std::chrono::seconds(5));
    ASSERT_TRUE(closed_b);
    EXPECT_EQ(closed_b->type, EventType::InputClosed);
    EXPECT_EQ(closed_b->id, "b");
    auto stop = node.next(std::chrono::seconds(5));
    ASSERT_TRUE(stop);
    EXPECT_EQ(stop->type, EventType::Stop);
    EXPECT_EQ(stop->stop_cause, StopCause::AllInputsClosed);
    EXPECT_FALSE(node.next());
    EXPECT_TRUE(node.finished());
}

TEST_F(NodeApiTest, InterruptWakesAWaitingNextWithoutAnEvent) {
    Node node = make_node(config_);
    auto& impl = detail::NodeAccess::impl(node);
    std::thread waker([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        impl.interrupt();
    });
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(node.next(std::chrono::seconds(30)));
    waker.join();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
    EXPECT_FALSE(node.finished());
    impl.interrupt();  // before a wait: the next wait returns at once, once
    EXPECT_FALSE(node.next(std::chrono::seconds(30)));
    peer_send(0, "after", 100);
    auto event = node.next(std::chrono::seconds(5));
    ASSERT_TRUE(event) << "an interrupt is consumed once; events flow as before";
    EXPECT_EQ(text_of(event->data()), "after");
}

TEST_F(NodeApiTest, StopRequestGivesStopThenTheStreamEnds) {
    Node node = make_node(config_);
    node_region_.request_stop(shm::StopReason::kStopRequested);
    auto stop = node.next(std::chrono::seconds(5));
    ASSERT_TRUE(stop);
    EXPECT_EQ(stop->type, EventType::Stop);
    EXPECT_EQ(stop->stop_cause, StopCause::Requested);
    EXPECT_FALSE(node.next());
    EXPECT_TRUE(node.finished());
}

TEST_F(NodeApiTest, SentOutputArrivesInTheReceiversRingWithItsMetadata) {
    Node node = make_node(config_);
    const std::string text = "hello sink";
    node.send_output("out", std::as_bytes(std::span(text)), {{"answer", int64_t{42}}});

    auto entry = sink_region_.ring(0).pop();
    ASSERT_TRUE(entry);
    EXPECT_EQ(entry->sender, kNodeSender);
    shm::SegmentCache cache({{kNodeSender, config_.pool_prefix}});
    auto view = cache.view(*entry);
    ASSERT_TRUE(view) << view.error().message();
    EXPECT_EQ(text_of({view->data, view->data_len}), text);
    auto metadata = message::decode({view->metadata, view->metadata_len});
    ASSERT_TRUE(metadata) << metadata.error().message();
    EXPECT_EQ(metadata->type_info.format, "C");
    EXPECT_EQ(std::get<int64_t>(metadata->parameters.at("answer")), 42);
    cache.release(*entry);
    EXPECT_EQ(refcount_of(config_.pool_prefix, entry->segment), 0u);
}

TEST_F(NodeApiTest, PrimitiveArraysKeepTheirTypeAndReadBackWithAs) {
    Node sender = make_node(config_);
    const std::vector<int32_t> values{1, -2, 3};
    sender.send_output_array("out", std::span<const int32_t>(values));
    auto entry = sink_region_.ring(0).pop();
    ASSERT_TRUE(entry);
    shm::SegmentCache cache({{kNodeSender, config_.pool_prefix}});
    auto view = cache.view(*entry);
    ASSERT_TRUE(view);
    auto metadata = message::decode({view->metadata, view->metadata_len});
    ASSERT_TRUE(metadata);
    EXPECT_EQ(metadata->type_info.format, "i");
    EXPECT_EQ(metadata->type_info.length, 3);
    cache.release(*entry);

    // The receiving side: a peer sends int32 values to the node; as<int32_t> reads them.
    message::Metadata peer_meta{clock_.now(), message::primitive_type_info("i", 3, 4), {}};
    const std::string meta = message::encode(peer_meta);
    auto sample = peer_pool_->allocate(12, meta.size());
    ASSERT_TRUE(sample);
    std::memcpy(sample->data().data(), values.data(), 12);
    auto sent = peer_pool_->publish(std::move(*sample), std::as_bytes(std::span(meta)), 1, 1);
    ASSERT_TRUE(sent);
    ASSERT_FALSE(node_region_.ring(0).push(*sent));
    auto event = sender.next(std::chrono::seconds(5));
    ASSERT_TRUE(event);
    auto as_int = event->as<int32_t>();
    ASSERT_TRUE(as_int);
    EXPECT_EQ(std::vector<int32_t>(as_int->begin(), as_int->end()), values);
    EXPECT_FALSE(event->as<float>()) << "another type is not reinterpreted";
}

TEST_F(NodeApiTest, FullInputQueueDropsTheOldestAndCountsIt) {
    Node node = make_node(config_);
    for (int i = 0; i < 5; ++i) {
        peer_send(1, fmt::format("m{}", i), 100 + static_cast<uint64_t>(i));  // ring b holds 2
    }
    EXPECT_EQ(node.dropped_inputs().at("b"), 3u);
    EXPECT_EQ(node.dropped_inputs().at("a"), 0u);
    auto first = node.next(std::chrono::seconds(5));
    auto second = node.next(std::chrono::seconds(5));
    ASSERT_TRUE(first && second);
    EXPECT_EQ(text_of(first->data()), "m3");
    EXPECT_EQ(text_of(second->data()), "m4");
}

TEST_F(NodeApiTest, InputFromAClockFarAheadIsDeliveredAndReportedOnce) {
    Node node = make_node(config_);
    Timestamp ahead = clock_.now();
    ahead.time_ns += 3'600'000'000'000;  // an hour ahead: beyond the allowed drift
    ::testing::internal::CaptureStderr();
    peer_send(0, "from the future", 100, ahead);
    peer_send(0, "again", 200, ahead);
    auto first = node.next(std::chrono::seconds(5));
    auto second = node.next(std::chrono::seconds(5));
    const std::string err = ::testing::internal::GetCapturedStderr();
    ASSERT_TRUE(first && second);
    EXPECT_EQ(text_of(first->data()), "from the future");
    EXPECT_EQ(first->metadata.timestamp_ns, ahead.time_ns) << "the sender's timestamp is kept";
    EXPECT_NE(err.find("dora: node node, input a: hlc: timestamp"), std::string::npos) << err;
    EXPECT_EQ(err.find("reported once"), err.rfind("reported once")) << err;
}

TEST_F(NodeApiTest, ReceivedDataIsReadOnlyAndCopiesOfAnEventKeepItAlive) {
    auto entry = peer_send(0, "shared", 100);
    std::optional<Event> copy;
    {
        Node node = make_node(config_);
        auto event = node.next(std::chrono::seconds(5));
        ASSERT_TRUE(event);
        EXPECT_EQ(permissions_at(event->data().data()), "r--s");
        copy = *event;
    }
    // The original event and the node are gone; the copy still holds the sample.
    EXPECT_EQ(text_of(copy->data()), "shared");
    EXPECT_EQ(refcount_of(prefix_ + ".p2", entry.segment), 1u);
    copy.reset();
    EXPECT_EQ(refcount_of(prefix_ + ".p2", entry.segment), 0u);
}

TEST_F(NodeApiTest, ASendThatCouldNotCrossToAnotherMachineFailsNamingTheLimitAndTheKey) {
    // "out" is consumed on another machine whose messages are at most 64 KiB, 300 bytes of
    // which the envelope may take.
    config_.outputs[0].remote_max_message_size = 65536;
    config_.outputs[0].remote_envelope = 300;
    Node node = make_node(config_);
    std::vector<std::byte> big(65536);
    auto sent = node.try_send_output("out", big);
    ASSERT_FALSE(sent);
    EXPECT_EQ(sent.error(),
              "node node: output out goes to another machine, and this message cannot cross: "
              "65536 bytes of data + 0 bytes of metadata + up to 300 bytes of Zenoh envelope is "
              "more than the 65536 bytes a message between machines may have "
              "(transport.link.rx.max_message_size in the daemons' ZENOH_CONFIG); raise it on "
              "every daemon, or send smaller messages");
    EXPECT_FALSE(sink_region_.ring(0).pop()) << "nothing was sent";
    // A sample written in place is checked with its metadata when it is sent.
    auto sample = node.allocate_output(65536 - 300 - 10);
    auto in_place = node.try_send_output_sample("out", std::move(sample));
    ASSERT_FALSE(in_place);
    EXPECT_NE(in_place.error().find("65226 bytes of data + "), std::string::npos)
        << in_place.error();
    EXPECT_FALSE(sink_region_.ring(0).pop());
    // What fits is sent.
    std::vector<std::byte> fits(60000);
    EXPECT_TRUE(node.try_send_output("out", fits));
    auto entry = sink_region_.ring(0).pop();
    ASSERT_TRUE(entry);
    shm::SegmentCache({{kNodeSender, config_.pool_prefix}}).release(*entry);
}

TEST_F(NodeApiTest, CloseClosesOutputsAndLaterSendsFail) {
    Node node = make_node(config_);
    node.send_output_string("out", "before");
    node.close();
    EXPECT_TRUE(sink_region_.ring(0).closed());
    auto sent = node.try_send_output_string("out", "after");
    ASSERT_FALSE(sent);
    EXPECT_NE(sent.error().find("outputs are closed"), std::string::npos) << sent.error();
    EXPECT_THROW(node.send_output_string("out", "after"), NodeError);
    auto entry = sink_region_.ring(0).pop();
    ASSERT_TRUE(entry) << "what was sent before closing is still delivered";
    EXPECT_FALSE(sink_region_.ring(0).pop());
    shm::SegmentCache({{kNodeSender, config_.pool_prefix}}).release(*entry);
}

TEST_F(NodeApiTest, AFloodNeverFailsButSendingPastThePoolLimitWhileReceiversKeepSamplesDoes) {
    config_.pool_class_limit = 8 + 2;  // the sink's queue, and two more
    Node node = make_node(config_);
    const std::byte one[1] = {std::byte{1}};
    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(node.try_send_output("out", one)) << "the full queue drops its oldest";
    }
    // The sink takes its 8 and keeps them: the queue then holds 2 more, and that is the limit.
    std::vector<shm::Entry> kept;
    while (auto entry = sink_region_.ring(0).pop()) {
        kept.push_back(*entry);
    }
    ASSERT_EQ(kept.size(), 8u);
    ASSERT_TRUE(node.try_send_output("out", one));
    ASSERT_TRUE(node.try_send_output("out", one));
    auto refused = node.try_send_output("out", one);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("node node: all 10 samples of up to"), std::string::npos)
        << refused.error();
    EXPECT_NE(refused.error().find("a receiver must release each input once processed"),
              std::string::npos)
        << refused.error();
    shm::SegmentCache cache({{kNodeSender, config_.pool_prefix}});
    for (const auto& entry : kept) {
        cache.release(entry);
    }
    EXPECT_TRUE(node.try_send_output("out", one)) << "released samples are reused";
}

TEST_F(NodeApiTest, TryVariantsReturnTheErrorTheThrowingCallsThrow) {
    Node node = make_node(config_);
    const std::byte one[1] = {std::byte{1}};
    auto sent = node.try_send_output("nope", one);
    ASSERT_FALSE(sent);
    EXPECT_NE(sent.error().find("has no output \"nope\" (its outputs: out, unused)"),
              std::string::npos)
        << sent.error();
    try {
        node.send_output("nope", one);
        FAIL() << "send_output to an unknown output did not throw";
    } catch (const NodeError& e) {
        EXPECT_EQ(e.what(), sent.error());
    }
    EXPECT_TRUE(node.try_send_output("unused", one)) << "an output nobody consumes accepts data";
    auto huge = node.try_allocate_output(size_t{1} << 50);
    ASSERT_FALSE(huge);
    EXPECT_NE(huge.error().find("larger than dora supports"), std::string::npos) << huge.error();
}

TEST_F(NodeApiTest, TryFromEnvOutsideADataflowSaysHowToStartTheNode) {
    ::unsetenv(message::kNodeConfigEnv);
    auto node = Node::try_from_env();
    ASSERT_FALSE(node);
    EXPECT_NE(node.error().find("started outside a dataflow"), std::string::npos);
    EXPECT_THROW((void)Node::from_env(), NodeError);  // throws: there is no result to use
}

TEST_F(NodeApiTest, SampleFilledInPlaceIsSentWithoutCopy) {
    Node node = make_node(config_);
    OutputSample sample = node.allocate_output(4);
    std::memcpy(sample.data().data(), "abcd", 4);
    const std::byte* written = sample.data().data();
    node.send_output_sample("out", std::move(sample));
    EXPECT_TRUE(sample.data().empty())
        << "a sent sample is empty";  // NOLINT(bugprone-use-after-move)
    auto resend = node.try_send_output_sample("out", std::move(sample));
    ASSERT_FALSE(resend);
    EXPECT_NE(resend.error().find("already sent"), std::string::npos);

    auto entry = sink_region_.ring(0).pop();
    ASSERT_TRUE(entry);
    shm::SegmentCache cache({{kNodeSender, config_.pool_prefix}});
    auto view = cache.view(*entry);
    ASSERT_TRUE(view);
    EXPECT_EQ(text_of({view->data, view->data_len}), "abcd");
    EXPECT_NE(static_cast<const void*>(view->data), static_cast<const void*>(written))
        << "the receiver has its own (read-only) mapping of the same memory";
    cache.release(*entry);
}

TEST_F(NodeApiTest, SampleDestroyedAfterItsNodeFreesItsSegment) {
    std::optional<OutputSample> sample;
    {
        Node node = make_node(config_);
        sample = node.allocate_output(64);
    }
    const std::string segment = shm::Pool::segment_name(config_.pool_prefix, 0, 0);
    EXPECT_TRUE(mapped(segment)) << "the sample keeps its memory mapped";
    std::memset(sample->data().data(), 1, 64);
    EXPECT_EQ(refcount_of(config_.pool_prefix, 0), 1u);
    sample.reset();
    EXPECT_EQ(refcount_of(config_.pool_prefix, 0), 0u) << "the segment is free again";
    EXPECT_FALSE(mapped(segment)) << "and unmapped";
}

TEST_F(NodeApiTest, SampleSentAfterItsNodeIsDestroyedFailsClearly) {
    std::optional<OutputSample> sample;
    {
        Node node = make_node(config_);
        sample = node.allocate_output(64);
    }
    Node other = make_node(config_for("other", 3));
    auto sent = other.try_send_output_sample("out", std::move(*sample));
    ASSERT_FALSE(sent);
    EXPECT_NE(sent.error().find("allocated by a dora::Node that has been destroyed"),
              std::string::npos)
        << sent.error();
    EXPECT_FALSE(sink_region_.ring(0).pop()) << "nothing was sent";
    EXPECT_EQ(refcount_of(config_.pool_prefix, 0), 0u) << "the refused sample was freed";
}

TEST_F(NodeApiTest, SampleOfAnotherLiveNodeIsRefused) {
    Node node = make_node(config_);
    Node other = make_node(config_for("other", 3));
    OutputSample sample = node.allocate_output(8);
    EXPECT_THROW(other.send_output_sample("out", std::move(sample)), NodeError);
    EXPECT_FALSE(sink_region_.ring(0).pop());
}

TEST_F(NodeApiTest, MovedNodeKeepsItsSamples) {
    Node node = make_node(config_);
    OutputSample sample = node.allocate_output(2);
    Node moved = std::move(node);
    EXPECT_TRUE(moved.try_send_output_sample("out", std::move(sample)));
    auto entry = sink_region_.ring(0).pop();
    ASSERT_TRUE(entry);
    shm::SegmentCache({{kNodeSender, config_.pool_prefix}}).release(*entry);
}

TEST_F(NodeApiTest, IdsAndDataflowDescriptor) {
    const std::string path = fmt::format("/tmp/dora-node-api-test-{}.yml", ::getpid());
    {
        std::ofstream file(path);
        file << "nodes:\n  - id: node\n    inputs: {a: x/y}\n    env: {N: 0x10, F: 1.5}\n";
    }
    config_.descriptor_path = path;
    Node node = make_node(config_);
    EXPECT_EQ(node.input_ids(), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(node.output_ids(), (std::vector<std::string>{"out", "unused"}));
    EXPECT_EQ(node.node_id(), "node");
    EXPECT_EQ(node.dataflow_descriptor_path(), path);
    EXPECT_EQ(node.dataflow_descriptor(),
              R"({"nodes":[{"id":"node","inputs":{"a":"x/y"},"env":{"N":16,"F":1.5}}]})");
    ::unlink(path.c_str());
    auto gone = node.try_dataflow_descriptor();
    ASSERT_FALSE(gone);
    EXPECT_NE(gone.error().find("cannot open the dataflow file"), std::string::npos);

    Node dynamic = make_node(config_for("other", 3));
    auto none = dynamic.try_dataflow_descriptor();
    ASSERT_FALSE(none);
    EXPECT_NE(none.error().find("not given its dataflow file"), std::string::npos);
}

TEST(NodeResultTest, HoldsAValueOrAnErrorMessage) {
    NodeResult<std::string> value(std::string("v"));
    ASSERT_TRUE(value);
    EXPECT_EQ(*value, "v");
    EXPECT_EQ(value->size(), 1u);
    EXPECT_TRUE(value.error().empty());

    auto failed = NodeResult<std::string>::failure("went wrong");
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error(), "went wrong");
    EXPECT_THROW((void)failed.value(), NodeError);  // throws: there is no value to use

    NodeResult<> ok;
    EXPECT_TRUE(ok);
    EXPECT_NO_THROW(ok.value());
    auto not_ok = NodeResult<>::failure("nope");
    EXPECT_FALSE(not_ok);
    EXPECT_THROW(not_ok.value(), NodeError);
}

TEST(NodeResultTest, ValueMovesOutOfARvalueResult) {
    auto result = NodeResult<std::unique_ptr<int>>(std::make_unique<int>(7));
    std::unique_ptr<int> taken = std::move(result).value();
    ASSERT_TRUE(taken);
    EXPECT_EQ(*taken, 7);
}

}  // namespace
}  // namespace dora
