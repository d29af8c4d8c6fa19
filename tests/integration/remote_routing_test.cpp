// Two daemons' local runtimes in one process, each with its own Zenoh session (peer to peer on
// loopback): a producer on machine "a" feeds a consumer on machine "b" through the bridge. And
// debug inspection and zero-cost watching: a watcher's session sees an output that only a local
// node consumes, and only while it watches. And
// which peers a daemon dials as the coordinator's list of daemons changes (set_peers).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <thread>

#include "core/descriptor.hpp"
#include "core/event_loop.hpp"
#include "core/uuid.hpp"
#include "daemon/local_dataflow.hpp"
#include "daemon/zenoh_bridge.hpp"
#include "message/data_keys.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::daemon {
namespace {

using dora::testing::replace_all;
using dora::testing::TempDir;

std::unique_ptr<ZenohBridge> bridge(EventLoop& loop, const std::string& machine) {
    ZenohBridgeOptions options;
    options.machine_id = machine;
    options.config.mode = zenoh::Mode::kPeer;
    options.config.listen.push_back(*zenoh::parse_endpoint("tcp/127.0.0.1:0"));
    auto b = ZenohBridge::start(loop, options);
    EXPECT_TRUE(b) << b.error().message();
    return b ? std::move(*b) : nullptr;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
}

TEST(ZenohBridgePeers, DialsTheEarlierPeersTheCoordinatorListsAndForgetsTheGoneOnes) {
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    auto a = bridge(**loop, "a");
    auto b = bridge(**loop, "b");
    auto c = bridge(**loop, "c");
    ASSERT_TRUE(a && b && c);
    using Peers = std::vector<message::DaemonInfo>;
    const std::string at_a = a->endpoints().at(0);
    const std::string at_b = b->endpoints().at(0);

    // Of each pair, the machine that sorts later dials: c dials a and b, a dials nobody.
    const Peers all{
        {"a", {at_a}, true, 0, {}}, {"b", {at_b}, true, 0, {}}, {"c", c->endpoints(), true, 0, {}}};
    a->set_peers(all);
    c->set_peers(all);
    EXPECT_TRUE(a->dialled().empty());
    EXPECT_EQ(c->dialled(), sorted({at_a, at_b}));
    c->set_peers(all);  // the same list again changes nothing
    EXPECT_EQ(c->dialled(), sorted({at_a, at_b}));

    // The coordinator says b is disconnected: c stops dialling it.
    c->set_peers({all[0], {"b", {at_b}, false, 0, {}}, all[2]});
    EXPECT_EQ(c->dialled(), sorted({at_a}));

    // b comes back at a new address (a new daemon process): c dials that one instead.
    b.reset();
    b = bridge(**loop, "b");
    ASSERT_TRUE(b);
    const std::string new_b = b->endpoints().at(0);
    ASSERT_NE(new_b, at_b);
    c->set_peers({all[0], {"b", {new_b}, true, 0, {}}, all[2]});
    EXPECT_EQ(c->dialled(), sorted({at_a, new_b}));

    // a is no longer listed at all (it left the cluster): forgotten too.
    c->set_peers({{"b", {new_b}, true, 0, {}}});
    EXPECT_EQ(c->dialled(), sorted({new_b}));
}

// Machines a and b, each with its bridge (both sessions on one loop, as the daemon runs its
// session on its own loop), and one dataflow planned on both: `a_flow` and `b_flow`.
class TwoMachines : public ::testing::Test {
  protected:
    // Parses `yaml` (NODE = the test node), connects the bridges and plans the dataflow.
    void set_up(const std::string& yaml) {
        auto parsed =
            parse_descriptor(replace_all(yaml, "NODE", DORA_TEST_NODE), dir_ / "remote.yml");
        ASSERT_TRUE(parsed) << parsed.error().message();
        descriptor_ = std::move(*parsed);
        auto created = EventLoop::create();
        ASSERT_TRUE(created);
        loop_ = std::move(*created);
        a_ = bridge(*loop_, "a");
        b_ = bridge(*loop_, "b");
        ASSERT_TRUE(a_ && b_);
        // b sorts after a, so b connects to a.
        b_->set_peers({message::DaemonInfo{"a", a_->endpoints(), true, 0, {}}});
        a_flow_ = make("a");
        b_flow_ = make("b");
        ASSERT_TRUE(a_flow_ && b_flow_);
        auto note = [this](const std::string& node, const std::string& text) {
            notes_ += node + ": " + text + "\n";
        };
        ASSERT_TRUE(b_->attach(*b_flow_, note));
        ASSERT_TRUE(a_->attach(*a_flow_, note));
        // The producer starts once its machine knows of the remote subscriber.
        ASSERT_TRUE(wait([&] { return a_->remote_subscribers_ready(*a_flow_); }));
    }

    std::unique_ptr<LocalDataflow> make(const std::string& machine) {
        LocalDataflowOptions options;
        options.dataflow_id = id_;
        options.stream_end_signer = signers_.at(machine);
        for (const auto& node : descriptor_.nodes) {
            const std::string other = node.deploy.machine.value_or("");
            if (other != machine && signers_.contains(other)) {
                options.producer_stream_end_keys[node.id] = signers_.at(other)->public_key();
            }
        }
        options.machine_id = machine;
        options.is_local = [machine](const NodeDescriptor& n) {
            return n.deploy.machine.value_or("") == machine;
        };
        options.on_log = [this](const std::string& node, std::string_view, std::string_view line) {
            if (node == "sink") sink_lines_ += std::string(line) + "\n";
        };
        options.on_finished = [this] { ++finished_; };
        auto flow = LocalDataflow::create(*loop_, descriptor_, options);
        EXPECT_TRUE(flow) << flow.error().message();
        return flow ? std::move(*flow) : nullptr;
    }

    template <typename Condition>
    bool wait(Condition condition, std::chrono::seconds limit = 30s) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (!condition() && std::chrono::steady_clock::now() < deadline) {
            loop_->run_once(10ms);
        }
        return condition();
    }

    TempDir dir_;  // the nodes' working directory: their logs go to out/ in it
    Descriptor descriptor_;
    std::unique_ptr<EventLoop> loop_;
    const std::string id_ = Uuid::new_v7().to_string();
    // Each machine's key for the ends of its streams, as each daemon makes its own.
    const std::map<std::string, std::shared_ptr<const message::StreamEndSigner>> signers_{
        {"a", signer()}, {"b", signer()}};
    static std::shared_ptr<const message::StreamEndSigner> signer() {
        return std::make_shared<const message::StreamEndSigner>(
            message::StreamEndSigner::generate().value());
    }
    std::unique_ptr<LocalDataflow> a_flow_, b_flow_;
    std::unique_ptr<ZenohBridge> a_, b_;  // destroyed first: their routes use the dataflows
    std::string notes_;
    std::string sink_lines_;
    int finished_ = 0;
};

TEST_F(TwoMachines, ProducerOnOneMachineFeedsConsumerOnAnotherThenClosesIt) {
    ASSERT_NO_FATAL_FAILURE(set_up(R"(
nodes:
  - id: source
    path: NODE
    args: producer --count 50 --size 3000 --interval-ms 5
    outputs: [out]
    _unstable_deploy: {machine: a}
  - id: sink
    path: NODE
    args: consumer --expect 50
    inputs: {in: {source: source/out, queue_size: 100}}
    _unstable_deploy: {machine: b}
)"));
    ASSERT_EQ(a_flow_->plan().egress.size(), 1u);
    ASSERT_EQ(b_flow_->plan().ingress.size(), 1u);
    ASSERT_TRUE(b_flow_->start());
    ASSERT_TRUE(a_flow_->start());
    ASSERT_TRUE(wait([&] { return finished_ == 2; }));
    EXPECT_NE(sink_lines_.find("total 50"), std::string::npos) << sink_lines_;
    EXPECT_NE(sink_lines_.find("input closed in"), std::string::npos) << sink_lines_;
    for (const auto& r : b_flow_->results()) {
        EXPECT_TRUE(r.success) << r.node_id << " " << r.status;
    }
    EXPECT_EQ(notes_, "");  // nothing was lost
    EXPECT_TRUE(a_->detach(id_).empty());
    EXPECT_TRUE(b_->detach(id_).empty());
}

// Whoever merely reaches a daemon's Zenoh port, another daemon of the dataflow included, cannot end
// a stream or hand a node garbage: ends not signed by the producer's daemon for this stream and
// metadata that does not decode are refused at ingress, counted and reported to the receivers'
// logs; the real stream still arrives whole and ends.
TEST_F(TwoMachines, ForgedEndsAndMalformedMetadataFromAStrangerAreRefusedAndReported) {
    ASSERT_NO_FATAL_FAILURE(set_up(R"(
nodes:
  - {id: source, path: NODE, args: producer --count 30 --size 100 --interval-ms 10, outputs: [out], _unstable_deploy: {machine: a}}
  - {id: sink, path: NODE, args: consumer --expect 30, inputs: {in: {source: source/out, queue_size: 100}}, _unstable_deploy: {machine: b}}
)"));
    zenoh::SessionOptions stranger_options;
    stranger_options.config.connect.push_back(*zenoh::parse_endpoint(b_->endpoints()[0]));
    auto stranger = zenoh::Session::open(*loop_, stranger_options);
    ASSERT_TRUE(stranger) << stranger.error().message();
    const std::string key = output_key("default", id_, "source", "out");
    ASSERT_TRUE(wait([&] { return (*stranger)->has_remote_subscriber(key); }));

    const uint8_t payload[4] = {1, 2, 3, 4};
    std::vector<uint8_t> forged_end(message::kEndOfStreamSize, 0);
    forged_end[0] = message::kEndOfStreamMarker;
    // Signed by a daemon of the dataflow, the consuming one, not the producer's.
    const auto other_daemon = signers_.at("b")->end_of_stream(key);
    // The producer's signature, of another stream's end.
    const auto other_stream = signers_.at("a")->end_of_stream(key + "2");
    // The previous protocol's form: the marker and a 32-byte HMAC.
    std::vector<uint8_t> hmac_end(33, 0x5a);
    hmac_end[0] = message::kEndOfStreamMarker;
    const uint8_t old_end[1] = {message::kEndOfStreamMarker};
    const uint8_t garbage[5] = {1, 0xff, 0xff, 0xff, 0xff};
    for (zenoh::Bytes attachment :
         {zenoh::Bytes(forged_end), zenoh::Bytes(other_daemon), zenoh::Bytes(other_stream),
          zenoh::Bytes(hmac_end), zenoh::Bytes(old_end, 1),
          zenoh::Bytes(garbage, sizeof garbage)}) {
        ASSERT_TRUE((*stranger)->put(key, zenoh::Bytes(payload, 4), std::nullopt, attachment));
    }
    ASSERT_TRUE((*stranger)->put(key, zenoh::Bytes(payload, 4)));  // no metadata at all
    ASSERT_TRUE(wait([&] {
        return notes_.find("7 message(s) on " + key + " refused so far") != std::string::npos;
    })) << notes_;
    EXPECT_NE(notes_.find("the first because it claimed to end the stream without the signature of "
                          "the producer's daemon (it did not come from the daemon that runs node "
                          "`source`)"),
              std::string::npos)
        << notes_;

    ASSERT_TRUE(b_flow_->start());
    ASSERT_TRUE(a_flow_->start());
    ASSERT_TRUE(wait([&] { return finished_ == 2; }));
    EXPECT_NE(sink_lines_.find("total 30"), std::string::npos) << sink_lines_;
    EXPECT_NE(sink_lines_.find("input closed in"), std::string::npos) << sink_lines_;
    EXPECT_EQ(sink_lines_.find("ERROR"), std::string::npos) << sink_lines_;
    for (const auto& r : b_flow_->results()) {
        EXPECT_TRUE(r.success) << r.node_id << " " << r.status;
    }
    stranger->reset();
}

TEST_F(TwoMachines, WhatIsSentAfterTheConsumingMachineLeftIsCountedAsLinkDrops) {
    ASSERT_NO_FATAL_FAILURE(set_up(R"(
nodes:
  - {id: source, path: NODE, args: producer --count 20 --size 100, outputs: [out], _unstable_deploy: {machine: a}}
  - {id: sink, path: NODE, args: consumer --expect 20, inputs: {in: source/out}, _unstable_deploy: {machine: b}}
)"));
    // Machine b stops routing (as when its daemon is gone) before the producer sends.
    EXPECT_TRUE(b_->detach(id_).empty());
    ASSERT_TRUE(wait([&] { return !a_->remote_subscribers_ready(*a_flow_); }));
    ASSERT_TRUE(a_flow_->start());
    ASSERT_TRUE(wait([&] { return finished_ == 1; }));

    auto drops = a_->detach(id_);
    ASSERT_EQ(drops.size(), 1u) << notes_;
    EXPECT_EQ(drops[0].place, message::kDropLink);
    EXPECT_EQ(drops[0].machine_id, "a");
    EXPECT_EQ(drops[0].node_id, "source");
    EXPECT_EQ(drops[0].port, "out");
    EXPECT_EQ(drops[0].count, 20u);
    EXPECT_NE(notes_.find("source: output out of node source: 20 message(s) dropped on the link"),
              std::string::npos)
        << notes_;
}

// What a watcher saw on one key: the producer's sequence numbers (test_node's payload layout: u64
// sequence number, then bytes (seq + i) & 0xff) and whether the end marker came.
struct Watched {
    std::vector<uint64_t> seqs;
    std::vector<std::string> problems;
    bool ended = false;
};

zenoh::Subscription watch(zenoh::Session& session, const std::string& key, size_t size,
                          Watched& seen) {
    auto sub = session.declare_subscriber(key, [&seen, size](const zenoh::Sample& sample) {
        const auto& put = sample.put;
        if (put.attachment && message::looks_like_end_of_stream(*put.attachment)) {
            seen.ended = true;
            return;
        }
        uint64_t seq = 0;
        if (put.payload.size() != size) {
            seen.problems.push_back(fmt::format("a {} byte payload", put.payload.size()));
            return;
        }
        std::memcpy(&seq, put.payload.data(), 8);
        if (put.payload[size - 1] != static_cast<uint8_t>((seq + size - 1) & 0xff)) {
            seen.problems.push_back(fmt::format("payload {} is corrupt", seq));
        }
        seen.seqs.push_back(seq);
    });
    EXPECT_TRUE(sub) << sub.error().message();
    return sub ? std::move(*sub) : zenoh::Subscription{};
}

TEST(DebugInspection, LocalOutputIsPublishedAndWhatThePublisherCannotTakeIsCountedNotWaitedFor) {
    TempDir dir;
    constexpr int kCount = 300;
    constexpr size_t kSize = 10'000;
    auto descriptor = parse_descriptor(replace_all(R"(
nodes:
  - id: source
    path: NODE
    args: producer --count 300 --size 10000
    outputs: [out]
  - id: sink
    path: NODE
    args: consumer --expect 300
    inputs: {in: {source: source/out, queue_size: 1000}}
debug: {enable_debug_inspection: true}
)",
                                                   "NODE", DORA_TEST_NODE),
                                       dir / "inspected.yml");
    ASSERT_TRUE(descriptor) << descriptor.error().message();
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    ZenohBridgeOptions options;
    options.machine_id = "a";
    options.config.listen.push_back(*zenoh::parse_endpoint("tcp/127.0.0.1:0"));
    options.egress_limits.max_bytes = 5 * kSize;  // a publisher that soon cannot take more
    auto bridge = ZenohBridge::start(**loop, options);
    ASSERT_TRUE(bridge) << bridge.error().message();
    zenoh::SessionOptions watcher_options;
    watcher_options.config.connect.push_back(*zenoh::parse_endpoint((*bridge)->endpoints()[0]));
    auto watcher = zenoh::Session::open(**loop, watcher_options);
    ASSERT_TRUE(watcher) << watcher.error().message();

    const std::string id = Uuid::new_v7().to_string();
    const std::string key = output_key("default", id, "source", "out");
    Watched seen;
    auto subscription = watch(**watcher, key, kSize, seen);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!(*bridge)->has_remote_subscriber(key) && std::chrono::steady_clock::now() < deadline) {
        (*loop)->run_once(10ms);
    }
    ASSERT_TRUE((*bridge)->has_remote_subscriber(key));

    std::vector<std::string> sink_lines;
    std::vector<std::string> notes;
    bool finished = false;
    LocalDataflowOptions flow_options;
    flow_options.dataflow_id = id;
    flow_options.machine_id = "a";
    flow_options.on_log = [&](const std::string& node, std::string_view stream,
                              std::string_view line) {
        if (stream == "dora") notes.push_back(node + ": " + std::string(line));
        if (node == "sink") sink_lines.emplace_back(line);
    };
    flow_options.on_finished = [&] { finished = true; };
    auto flow = LocalDataflow::create(**loop, *descriptor, flow_options);
    ASSERT_TRUE(flow) << flow.error().message();
    ASSERT_EQ((*flow)->plan().egress.size(), 1u);
    ASSERT_TRUE((*bridge)->attach(**flow, [](const std::string&, const std::string&) {}));
    ASSERT_TRUE((*flow)->start());
    // The loop (and so the session's publisher) does not run: the producer must still get
    // through all its messages, its queue to the publisher dropping the oldest.
    shm::Ring ring = (*flow)->egress_region()->ring(0);
    deadline = std::chrono::steady_clock::now() + 20s;
    while (ring.dropped() == 0 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    ASSERT_GT(ring.dropped(), 0u) << "the producer's queue to the publisher never overflowed";
    deadline = std::chrono::steady_clock::now() + 30s;
    while (!finished && std::chrono::steady_clock::now() < deadline) {
        (*loop)->run_once(50ms);
    }
    ASSERT_TRUE(finished);
    (*bridge)->detach(id);
    deadline = std::chrono::steady_clock::now() + 10s;
    while (!seen.ended && std::chrono::steady_clock::now() < deadline) {
        (*loop)->run_once(10ms);
    }
    ASSERT_TRUE(seen.ended) << "no end marker after " << seen.seqs.size() << " samples";

    std::string sink;
    for (const auto& l : sink_lines) sink += l + "\n";
    EXPECT_NE(sink.find("total 300"), std::string::npos) << "the local consumer lost messages\n"
                                                         << sink;
    const uint64_t dropped = ring.dropped();
    EXPECT_TRUE(seen.problems.empty()) << ::testing::PrintToString(seen.problems);
    EXPECT_EQ(seen.seqs.size() + dropped, static_cast<size_t>(kCount))
        << "every message not dropped (and counted) reached the watcher";
    EXPECT_TRUE(std::is_sorted(seen.seqs.begin(), seen.seqs.end()));
    ASSERT_FALSE(seen.seqs.empty());
    EXPECT_EQ(seen.seqs.back(), static_cast<uint64_t>(kCount)) << "the newest is never dropped";
    std::string all;
    for (const auto& n : notes) all += n + "\n";
    EXPECT_NE(all.find(fmt::format("source: output out of node source: {} message(s) not shown "
                                   "to watchers so far",
                                   dropped)),
              std::string::npos)
        << all;
    EXPECT_TRUE((*flow)->drops().empty()) << "what a watcher missed is no drop of the dataflow";
}

// Zero-cost watching: on a daemon (watchable), an output that only a local node consumes is
// pushed to no egress ring and published nowhere until a watcher's subscriber reaches the
// daemon's session; it is published while the watcher stays, and no longer once it has gone.
TEST(ZeroCostWatching, AnOutputIsPublishedOnlyWhileAWatcherSubscribes) {
    TempDir dir;
    auto descriptor = parse_descriptor(replace_all(R"(
nodes:
  - id: source
    path: NODE
    args: producer --count 0 --size 100 --interval-ms 5 --for-ms 20000
    outputs: [out]
  - id: sink
    path: NODE
    args: consumer
    inputs: {in: source/out}
)",
                                                   "NODE", DORA_TEST_NODE),
                                       dir / "watched.yml");
    ASSERT_TRUE(descriptor) << descriptor.error().message();
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    std::vector<std::string> said;
    ZenohBridgeOptions options;
    options.machine_id = "a";
    options.config.listen.push_back(*zenoh::parse_endpoint("tcp/127.0.0.1:0"));
    options.log = [&](const std::string& line) { said.push_back(line); };
    auto bridge = ZenohBridge::start(**loop, options);
    ASSERT_TRUE(bridge) << bridge.error().message();

    const std::string id = Uuid::new_v7().to_string();
    LocalDataflowOptions flow_options;
    flow_options.dataflow_id = id;
    flow_options.machine_id = "a";
    flow_options.watchable = true;
    auto flow = LocalDataflow::create(**loop, *descriptor, flow_options);
    ASSERT_TRUE(flow) << flow.error().message();
    ASSERT_EQ((*flow)->plan().egress.size(), 1u);
    ASSERT_FALSE((*flow)->plan().egress[0].consumed_remotely);
    ASSERT_TRUE((*bridge)->attach(**flow, [](const std::string&, const std::string&) {}));
    ASSERT_TRUE((*flow)->start());
    shm::Ring ring = (*flow)->egress_region()->ring(0);
    auto run_for = [&](std::chrono::milliseconds span) {
        auto until = std::chrono::steady_clock::now() + span;
        while (std::chrono::steady_clock::now() < until) (*loop)->run_once(10ms);
    };
    auto run_until = [&](auto condition) {
        auto until = std::chrono::steady_clock::now() + 10s;
        while (!condition() && std::chrono::steady_clock::now() < until) (*loop)->run_once(10ms);
        return condition();
    };
    // Nobody watches: the producer runs, its egress ring gets nothing.
    run_for(500ms);
    EXPECT_TRUE(ring.unwatched());
    EXPECT_EQ(ring.pushed(), 0u);
    EXPECT_EQ((*bridge)->watched_streams(id), 0u);

    // A watcher subscribes: the output is published and reaches it.
    const std::string key = output_key("default", id, "source", "out");
    zenoh::SessionOptions watcher_options;
    watcher_options.config.connect.push_back(*zenoh::parse_endpoint((*bridge)->endpoints()[0]));
    auto watcher = zenoh::Session::open(**loop, watcher_options);
    ASSERT_TRUE(watcher) << watcher.error().message();
    Watched seen;
    auto subscription = watch(**watcher, key, 100, seen);
    ASSERT_TRUE(run_until([&] { return seen.seqs.size() >= 20; }))
        << "the watcher got " << seen.seqs.size() << " samples";
    EXPECT_FALSE(ring.unwatched());
    EXPECT_EQ((*bridge)->watched_streams(id), 1u);
    EXPECT_TRUE(seen.problems.empty()) << ::testing::PrintToString(seen.problems);

    // The watcher goes (its session closes): the ring is skipped again.
    watcher->reset();
    ASSERT_TRUE(run_until([&] { return ring.unwatched(); }));
    run_for(200ms);  // what was queued before drains
    const uint64_t pushed = ring.pushed();
    run_for(500ms);
    EXPECT_EQ(ring.pushed(), pushed) << "the producer still pushes for a watcher that left";
    EXPECT_EQ((*bridge)->watched_streams(id), 0u);
    EXPECT_EQ((*bridge)->watch_starts(), 1u);
    std::string all;
    for (const auto& line : said) all += line + "\n";
    EXPECT_NE(all.find("a watcher subscribed to source/out: publishing it"), std::string::npos)
        << all;
    EXPECT_NE(all.find("no watcher of source/out any more"), std::string::npos) << all;
    (*flow)->stop(std::chrono::milliseconds(500));  // the producer does not wait for STOP
    ASSERT_TRUE(run_until([&] { return (*flow)->finished(); }));
    (*bridge)->detach(id);
    EXPECT_TRUE((*flow)->drops().empty());
}

}  // namespace
}  // namespace dora::daemon
