// How a dataflow maps onto one daemon's shared memory: which nodes run here, each node's input
// region and ring per input, each node's sender index and pool, where every output goes, which
// timers feed which rings; and from that, the NodeConfig handed to each node.
//
// Sender index 0 is the daemon itself (timers, stdout-as-output, later remote data); node i of the
// plan sends as i + 1.
//
// Thread safety: a plain value.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/descriptor.hpp"
#include "core/error.hpp"
#include "message/data_keys.hpp"
#include "message/node_config.hpp"
#include "shm/pool.hpp"
#include "shm/region.hpp"
#include "zenoh/config.hpp"

namespace dora::daemon {

inline constexpr uint16_t kDaemonSender = 0;

struct RingRef {
    size_t node = 0;  // index in DataflowPlan::nodes
    uint32_t ring = 0;
    bool operator==(const RingRef&) const = default;
};

struct PlannedInput {
    std::string id;
    uint32_t queue_size = kDefaultQueueSize;
    InputSource source;
    std::optional<size_t> local_producer;  // index in DataflowPlan::nodes, if it runs here
};

struct PlannedNode {
    const NodeDescriptor* descriptor = nullptr;
    uint16_t sender = 0;
    std::string region;                                   // shm name of its input region
    std::vector<PlannedInput> inputs;                     // ring i = inputs[i]
    std::map<std::string, std::vector<RingRef>> outputs;  // output id -> local receivers
};

// An output of a local node that nodes on other machines consume, or (watchable) any output of a
// local node: the node also pushes it into ring `ring` of the daemon's egress region, and the
// daemon publishes it on `key`; a stream only for watchers only while one subscribes.
struct EgressStream {
    size_t node = 0;
    std::string output;
    std::string key;
    uint32_t queue_size = kDefaultQueueSize;
    // False for a stream published only for watchers (no node on another machine consumes it):
    // nobody has to subscribe before the dataflow starts, and its ring is unwatched (producers
    // skip it) while no watcher subscribes.
    bool consumed_remotely = true;
    // A consumer on another machine reads it with `queue_policy: backpressure`: its egress ring
    // makes the producer wait when full, and nothing on the way drops it (egress.hpp).
    bool backpressure = false;
};

// The egress ring depth of a stream published only for inspection: small, so that a watcher
// that cannot keep up holds few of the producer's samples (the oldest is dropped and counted).
inline constexpr uint32_t kInspectionQueueSize = 4;

// An output of a node on another machine that local nodes consume: the daemon subscribes to
// `key` and writes what arrives into the receivers' rings.
struct IngressStream {
    std::string node;  // the remote producer
    std::string output;
    std::string key;
    std::vector<RingRef> receivers;
    // Checks the end of the stream against the key of the producer's daemon
    // (LocalDataflowOptions::producer_stream_end_keys, data_keys.hpp).
    message::StreamEndVerifier end_verifier;
};

inline constexpr uint16_t kIngressSender = 0xfffe;

// What a dataflow's egress may have handed to Zenoh and not yet seen put, in samples (the default
// EgressLimits::max_samples): each keeps a segment of its sender's pool in use.
inline constexpr uint32_t kEgressMaxInFlight = 1024;
// Samples a node's receivers (and the node itself, unsent) may hold of its pool on top of what
// its queues and the egress hold: as many as a receiver's lease table records.
inline constexpr uint32_t kHeldSamplesAllowance = shm::kDefaultLeaseCapacity;

// What a PUSH carrying a sample takes besides its key, data and metadata: message and extension
// headers, the length fields (at most 10 bytes each) and the encoding. Generous on purpose: a
// send that passes the node's check must never be dropped on arrival.
inline constexpr uint64_t kPushEnvelope = 256;

// `dora/{network_id}/{dataflow_id}/output/{node}/{output}` (message/data_keys.hpp).
using message::output_key;

struct DataflowPlan {
    std::string dataflow_id;
    std::string prefix;  // "/dora.<daemon pid>.<id>": every shm name of this dataflow starts so
    std::vector<PlannedNode> nodes;
    std::map<std::chrono::nanoseconds, std::vector<RingRef>> timers;  // interval -> receivers
    std::vector<EgressStream> egress;  // ring i of the egress region = egress[i]
    std::vector<IngressStream> ingress;
    std::string egress_region;  // shm name; empty when nothing leaves this machine
    // `dora/{network_id}/{dataflow_id}/live`: the daemon hosting a producer that nodes on other
    // machines consume holds a liveliness token `{prefix}/{node}` while the dataflow runs there;
    // consuming daemons watch the tokens of their remote producers (a lost link undeclares them).
    std::string liveliness_prefix;
    // This machine's stream-end key (message/data_keys.hpp): signs the end of each egress stream.
    std::shared_ptr<const message::StreamEndSigner> stream_end_signer;
    [[nodiscard]] std::string liveliness_key(std::string_view node) const;

    [[nodiscard]] std::string pool_prefix(uint16_t sender) const;
    // The cap on node `node`'s pool per size class (shm/pool.hpp states the bound): the
    // capacities of the distinct rings its outputs push to, kEgressMaxInFlight when one of them
    // is an egress ring, and kHeldSamplesAllowance; at most shm::kMaxSegmentsPerPool.
    [[nodiscard]] uint32_t pool_class_limit(size_t node) const;
    [[nodiscard]] const PlannedNode* find(std::string_view node_id) const;
    // `max_remote_message_size`: the largest Zenoh message that may cross to another machine
    // (transport.link.rx.max_message_size), handed to producers of outputs consumed there.
    [[nodiscard]] message::NodeConfig node_config(
        size_t node, const std::string& machine_id, int64_t spin_ns,
        uint64_t max_remote_message_size = zenoh::kDefaultMaxMessageSize) const;
};

// Plans the nodes for which `is_local` is true (all of them for `dora run`); outputs crossing to
// or from other machines become egress and ingress streams named under `network_id`. When
// `watchable` (a daemon's dataflows) or with `descriptor.debug_inspection`, every other output of
// a local node becomes an egress stream too (consumed_remotely false): its ring starts unwatched
// and the daemon publishes it only while a watcher subscribes (zero-cost watching).
[[nodiscard]] Result<DataflowPlan> make_plan(
    const Descriptor& descriptor, const std::string& dataflow_id,
    const std::function<bool(const NodeDescriptor&)>& is_local,
    std::string_view network_id = "default", std::string_view machine_tag = "",
    bool watchable = false);

}  // namespace dora::daemon
