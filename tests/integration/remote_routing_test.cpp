// Two daemons' local runtimes in one process, each with its own Zenoh session (peer to peer on
// loopback): a producer on machine "a" feeds a consumer on machine "b" through the bridge.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/descriptor.hpp"
#include "core/event_loop.hpp"
#include "core/uuid.hpp"
#include "daemon/local_dataflow.hpp"
#include "daemon/zenoh_bridge.hpp"
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

TEST(RemoteRouting, ProducerOnOneMachineFeedsConsumerOnAnotherThenClosesIt) {
    TempDir dir;  // the nodes' working directory: their logs go to out/ in it
    auto descriptor = parse_descriptor(replace_all(R"(
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
)",
                                                   "NODE", DORA_TEST_NODE),
                                       dir / "remote.yml");
    ASSERT_TRUE(descriptor) << descriptor.error().message();
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    // Both machines' sessions on one loop: the daemon runs its session on its own loop too.
    auto a = bridge(**loop, "a");
    auto b = bridge(**loop, "b");
    ASSERT_TRUE(a && b);
    // b sorts after a, so b connects to a.
    b->set_peers({message::DaemonInfo{"a", a->endpoints(), true, 0, {}}});

    const std::string id = Uuid::new_v7().to_string();
    std::vector<std::string> sink_lines;
    int finished = 0;
    auto make = [&](const std::string& machine) {
        LocalDataflowOptions options;
        options.dataflow_id = id;
        options.machine_id = machine;
        options.is_local = [machine](const NodeDescriptor& n) {
            return n.deploy.machine.value_or("") == machine;
        };
        options.on_log = [&](const std::string& node, std::string_view, std::string_view line) {
            if (node == "sink") sink_lines.emplace_back(line);
        };
        options.on_finished = [&] { ++finished; };
        auto flow = LocalDataflow::create(**loop, *descriptor, options);
        EXPECT_TRUE(flow) << flow.error().message();
        return flow ? std::move(*flow) : nullptr;
    };
    auto flow_a = make("a");
    auto flow_b = make("b");
    ASSERT_TRUE(flow_a && flow_b);
    ASSERT_EQ(flow_a->plan().egress.size(), 1u);
    ASSERT_EQ(flow_b->plan().ingress.size(), 1u);
    std::vector<std::string> notes;
    auto note = [&](const std::string& node, const std::string& text) {
        notes.push_back(node + ": " + text);
    };
    ASSERT_TRUE(b->attach(*flow_b, note));
    ASSERT_TRUE(a->attach(*flow_a, note));
    // The producer starts once its machine knows of the remote subscriber (no early output lost).
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!a->remote_subscribers_ready(*flow_a) && std::chrono::steady_clock::now() < deadline) {
        (*loop)->run_once(10ms);
    }
    ASSERT_TRUE(a->remote_subscribers_ready(*flow_a));
    ASSERT_TRUE(flow_b->start());
    ASSERT_TRUE(flow_a->start());
    deadline = std::chrono::steady_clock::now() + 30s;
    while (finished < 2 && std::chrono::steady_clock::now() < deadline) {
        (*loop)->run_once(50ms);
    }
    ASSERT_EQ(finished, 2);
    std::string all;
    for (const auto& l : sink_lines) all += l + "\n";
    EXPECT_NE(all.find("total 50"), std::string::npos) << all;
    EXPECT_NE(all.find("input closed in"), std::string::npos) << all;
    for (const auto& r : flow_b->results()) {
        EXPECT_TRUE(r.success) << r.node_id << " " << r.status;
    }
    EXPECT_TRUE(notes.empty()) << ::testing::PrintToString(notes);  // nothing was lost
    a->detach(id);
    b->detach(id);
}

}  // namespace
}  // namespace dora::daemon
