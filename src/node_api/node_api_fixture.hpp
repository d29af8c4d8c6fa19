// The in-process "daemon" of the node API tests: the test creates the shared-memory regions,
// rings and pools itself, as the daemon would (without linking it), and drives a node through
// them. Shared by the tests of dora::Node and of dora's C and C++ APIs over it.
//
// Thread safety: a test fixture; one test thread.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/hlc.hpp"
#include "dora/node.hpp"
#include "message/arrow_layout.hpp"
#include "message/metadata.hpp"
#include "message/node_config.hpp"
#include "node_api/node_access.hpp"
#include "node_api/node_impl.hpp"
#include "shm/pool.hpp"
#include "shm/region.hpp"
#include "testing/maps.hpp"

namespace dora::node_api_testing {

inline bool mapped(const std::string& shm_name) { return testing::shm_mapped(shm_name); }

inline std::string text_of(std::span<const std::byte> data) {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
}

// One node ("node", sender 1) with inputs "a" (ring 0) and "b" (ring 1) fed by a peer pool
// (sender 2), and an output "out" whose receiver region ("sink") the test reads directly.
class NodeApiTest : public ::testing::Test {
  protected:
    static constexpr uint16_t kNodeSender = 1;
    static constexpr uint16_t kPeerSender = 2;

    NodeApiTest() {
        static int counter = 0;
        prefix_ = fmt::format("/dora.{}.nodeapi.{}", ::getpid(), counter++);
        const std::vector<uint32_t> node_rings{4, 2};
        const std::vector<uint32_t> sink_rings{8};
        node_region_ = shm::Region::create(prefix_ + ".r0", node_rings).value();
        sink_region_ = shm::Region::create(prefix_ + ".r1", sink_rings).value();
        peer_pool_.emplace(prefix_ + ".p2", kPeerSender, 0);
        config_ = config_for("node", kNodeSender);
    }
    ~NodeApiTest() override { shm::remove_segments_with_prefix(prefix_.substr(1)); }

    message::NodeConfig config_for(std::string node_id, uint16_t sender) const {
        message::NodeConfig c;
        c.dataflow_id = "0190c2a4-0000-7000-8000-000000000000";
        c.node_id = std::move(node_id);
        c.machine_id = "test";
        c.region = prefix_ + ".r0";
        c.inputs = {{"a", 0}, {"b", 1}};
        c.outputs = {{"out", {{prefix_ + ".r1", 0}}}, {"unused", {}}};
        c.sender_index = sender;
        c.pool_prefix = fmt::format("{}.p{}", prefix_, sender);
        c.senders = {{kPeerSender, prefix_ + ".p2"}};
        c.spin_ns = 0;
        return c;
    }

    static Node make_node(message::NodeConfig config) {
        auto impl = NodeImpl::from_config(std::move(config));
        EXPECT_TRUE(impl) << impl.error().message();
        return detail::NodeAccess::make_node(std::move(*impl));
    }

    // The peer sends `text` as a UInt8 array into ring `ring` of the node, stamped `time_ns`
    // (and with `hlc` as its clock's timestamp, if given).
    shm::Entry peer_send(uint32_t ring, std::string_view text, uint64_t time_ns,
                         std::optional<Timestamp> hlc = std::nullopt) {
        message::Metadata metadata{
            hlc.value_or(clock_.now()), message::bytes_type_info(text.size()), {}};
        const std::string meta = message::encode(metadata);
        auto sample = peer_pool_->allocate(text.size(), meta.size());
        EXPECT_TRUE(sample) << sample.error().message();
        std::memcpy(sample->data().data(), text.data(), text.size());
        auto entry =
            peer_pool_->publish(std::move(*sample), std::as_bytes(std::span(meta)), 1, time_ns);
        EXPECT_TRUE(entry) << entry.error().message();
        if (auto dropped = node_region_.ring(ring).push(*entry)) {
            peer_pool_->release(*dropped);  // what a producer does with an entry dropped for it
        }
        node_region_.signal().notify();
        return *entry;
    }

    // The reference count of segment `index` of the pool `pool_prefix`, read as the daemon would.
    static uint32_t refcount_of(const std::string& pool_prefix, uint32_t index) {
        auto segment = shm::Segment::open(shm::Pool::segment_name(pool_prefix, 0, index), false);
        EXPECT_TRUE(segment) << segment.error().message();
        return segment ? segment->as<shm::SampleHeader>()->refcount.load() : UINT32_MAX;
    }

    std::string prefix_;
    shm::Region node_region_;
    shm::Region sink_region_;
    std::optional<shm::Pool> peer_pool_;
    HlcClock clock_;
    message::NodeConfig config_;
};

}  // namespace dora::node_api_testing
