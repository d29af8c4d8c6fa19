// The daemon's local runtime driven inside the test process (no `dora` binary): lets the test look
// at shared memory while the dataflow's state is still there.
#include "daemon/local_dataflow.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/descriptor.hpp"
#include "core/event_loop.hpp"
#include "shm/pool.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::daemon {
namespace {

using dora::testing::replace_all;
using dora::testing::TempDir;

TEST(LocalDataflow, SamplesHeldByADeadNodeGoBackToTheirPool) {
    TempDir dir;  // the nodes' working directory: their logs go to out/ in it
    auto descriptor = parse_descriptor(replace_all(R"(
nodes:
  - {id: source, path: NODE, args: producer --count 6 --size 1000, outputs: [out]}
  - {id: holder, path: NODE, args: hold --count 3, inputs: {in: {source: source/out, queue_size: 100}}}
)",
                                                   "NODE", DORA_TEST_NODE),
                                       dir / "reclaim.yml");
    ASSERT_TRUE(descriptor) << descriptor.error().message();
    auto loop = EventLoop::create();
    ASSERT_TRUE(loop);
    LocalDataflowOptions options;
    options.dataflow_id = "0190aaaa-bbbb-7ccc-8ddd-reclaimtest1";
    options.on_finished = [&] { (*loop)->stop(); };
    auto flow = LocalDataflow::create(**loop, *descriptor, options);
    ASSERT_TRUE(flow) << flow.error().message();
    ASSERT_TRUE((*flow)->start());
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (!(*flow)->finished() && std::chrono::steady_clock::now() < deadline) {
        (*loop)->run_once(100ms);
    }
    ASSERT_TRUE((*flow)->finished());
    bool holder_crashed = false;
    for (const auto& r : (*flow)->results()) {
        holder_crashed |= r.node_id == "holder" && !r.success;
    }
    EXPECT_TRUE(holder_crashed);

    // The producer is node 0 of the plan: sender 1. All 6 samples are released: 3 the holder held
    // when it died, 3 still queued for it.
    const auto prefix = (*flow)->plan().pool_prefix(1);
    int inspected = 0;
    for (uint32_t i = 0; i < 6; ++i) {
        auto segment = shm::Segment::open(shm::Pool::segment_name(prefix, 0, i), false);
        ASSERT_TRUE(segment) << segment.error().message();
        EXPECT_EQ(segment->as<shm::SampleHeader>()->refcount.load(), 0u) << "segment " << i;
        ++inspected;
    }
    EXPECT_EQ(inspected, 6);
}

}  // namespace
}  // namespace dora::daemon
