// The implementation behind dora::Node (include/dora/node.hpp), also used directly by the Python
// bindings (through detail::NodeAccess, node_access.hpp). Errors are values here; dora::Node turns
// them into NodeResult / NodeError.
//
// Receiving: the node waits on the Signal of its own shm::Region, then takes from its input
// rings the entry that was sent first; closed and empty rings become INPUT_CLOSED, a stop flag
// becomes STOP, and once every input is closed the node gets STOP(AllInputsClosed). After STOP
// the event stream ends.
// Sending: the node writes into a sample of its own shm::Pool and pushes one ring entry to each
// receiver's region, then wakes each receiver. The daemon is not involved. A receiver's input with
// `queue_policy: backpressure` makes send wait while its queue is full (see push_waiting). A send
// on an output consumed on another machine fails at once when the message could not cross (its
// Zenoh message would pass transport.link.rx.max_message_size; check_crossing).
// input_timeout: when the daemon marks an input's ring timed out, the node reports INPUT_CLOSED
// for it; the next message on it is preceded by INPUT_RECOVERED (dora 1.x's circuit breaker).
//
// Ownership: a NodeImpl owns its pool, its input region and the mappings of its receivers'
// regions. Received data (ReceivedData) shares the region and the segment cache, so events may
// outlive the node. An unsent sample (shm::WritableSample) keeps its own segment mapped, so it may
// outlive the node too; OutputSample::State remembers which node allocated it (`owner`, a weak
// reference to the node's identity) so that sending it elsewhere, or after the node is gone,
// fails with a clear error instead of touching a dead pool.
//
// Thread safety: one thread at a time uses a NodeImpl. ReceivedData (held by events) and unsent
// samples may be released on any thread: they touch only atomics in shared memory.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/hlc.hpp"
#include "core/sys.hpp"
#include "dora/node.hpp"
#include "message/metadata.hpp"
#include "message/node_config.hpp"
#include "shm/pool.hpp"
#include "shm/region.hpp"

namespace dora {

// One received sample, kept alive while an Event or an exported Arrow array references it.
class ReceivedData {
  public:
    ReceivedData(std::shared_ptr<shm::Region> region, std::shared_ptr<shm::SegmentCache> cache,
                 std::atomic<uint32_t>* refcount, int64_t lease, message::Metadata metadata,
                 const std::byte* data, uint64_t data_len);
    ReceivedData(const ReceivedData&) = delete;
    ReceivedData& operator=(const ReceivedData&) = delete;
    ~ReceivedData();

    [[nodiscard]] const message::Metadata& metadata() const { return metadata_; }
    [[nodiscard]] const std::byte* data() const { return data_; }
    [[nodiscard]] uint64_t data_len() const { return data_len_; }

  private:
    std::shared_ptr<shm::Region> region_;
    std::shared_ptr<shm::SegmentCache> cache_;  // keeps the mapping alive
    std::atomic<uint32_t>* refcount_;
    int64_t lease_;
    message::Metadata metadata_;
    const std::byte* data_;
    uint64_t data_len_;
};

struct OutputSample::State {
    std::weak_ptr<const void> owner;  // NodeImpl::identity() of the node that allocated it
    shm::WritableSample sample;
};

class NodeImpl {
  public:
    [[nodiscard]] static Result<std::unique_ptr<NodeImpl>> from_env();
    [[nodiscard]] static Result<std::unique_ptr<NodeImpl>> from_config(message::NodeConfig config);
    // A dynamic node (`path: dynamic`) started by hand: asks the daemon on this machine (its
    // local listen port on 127.0.0.1: DORA_DAEMON_PORT, else 53291) for node `node_id`'s
    // configuration (of the dataflow named by DORA_DATAFLOW when several wait for that id) and
    // keeps the connection open while the node lives: the daemon sees its end as the exit.
    [[nodiscard]] static Result<std::unique_ptr<NodeImpl>> join_dynamic(std::string_view node_id);
    NodeImpl(const NodeImpl&) = delete;
    NodeImpl& operator=(const NodeImpl&) = delete;
    ~NodeImpl();

    // std::nullopt: timeout passed (finished() false) or the stream ended (finished() true).
    // `spin`: spin briefly before sleeping (the configured spin_ns); a caller that waits in
    // slices spins only in its first one, so an idle node does not spin every slice.
    [[nodiscard]] std::optional<Event> next(std::optional<std::chrono::nanoseconds> timeout,
                                            bool spin = true);
    [[nodiscard]] bool finished() const { return finished_; }
    // Makes a next() that waits (now, or the next one to wait) return std::nullopt as if its
    // timeout had passed, so that a caller merging other event sources can look at them. Safe
    // from any thread, also while another thread is inside next().
    void interrupt();

    // Sends data of `info`'s layout: `fill` writes `data_size` bytes into the sample.
    template <typename Fill>
    [[nodiscard]] Result<> send(std::string_view output_id, const message::ArrowTypeInfo& info,
                                size_t data_size, const Parameters& parameters, Fill&& fill);
    [[nodiscard]] Result<> send_bytes(std::string_view output_id, std::span<const std::byte> data,
                                      const Parameters& parameters);
    [[nodiscard]] Result<> send_string(std::string_view output_id, std::string_view text,
                                       const Parameters& parameters);
    [[nodiscard]] Result<> send_arrow(std::string_view output_id, ArrowArray* array,
                                      ArrowSchema* schema, const Parameters& parameters);
    [[nodiscard]] Result<shm::WritableSample> allocate(size_t size);
    [[nodiscard]] Result<> send_sample(std::string_view output_id, shm::WritableSample&& sample,
                                       const message::ArrowTypeInfo& info,
                                       const Parameters& parameters);
    // The public API's samples: allocate_output ties the sample to this node; send_output_sample
    // sends it as a UInt8 array, or fails (and frees it) when another node, or a node that no
    // longer exists, allocated it.
    [[nodiscard]] Result<OutputSample> allocate_output(size_t size);
    [[nodiscard]] Result<> send_output_sample(std::string_view output_id, OutputSample&& sample,
                                              const Parameters& parameters);

    // True when sending on `output_id` may wait for a receiver (a backpressure input reads it):
    // the Python binding releases the GIL around such sends.
    [[nodiscard]] bool send_may_wait(std::string_view output_id) const;

    // Closes every output now (receivers get INPUT_CLOSED); further sends fail.
    void close_outputs();
    [[nodiscard]] bool outputs_closed() const { return outputs_closed_; }

    [[nodiscard]] const message::NodeConfig& config() const { return config_; }
    [[nodiscard]] std::vector<std::string> input_ids() const;
    [[nodiscard]] std::vector<std::string> output_ids() const;
    [[nodiscard]] std::map<std::string, uint64_t> dropped_inputs() const;
    [[nodiscard]] bool has_output(std::string_view id) const;
    // The dataflow file as JSON text (see Node::dataflow_descriptor).
    [[nodiscard]] Result<std::string> dataflow_descriptor() const;
    // What samples of this node remember; expires with the node.
    [[nodiscard]] const std::shared_ptr<const void>& identity() const { return identity_; }

  private:
    struct Target {
        shm::Ring ring;
        shm::Region* region;
        size_t region_index = 0;  // in Output::regions
    };
    struct Output {
        std::string id;
        std::vector<Target> targets;
        std::vector<shm::Region*> regions;     // distinct, to notify each once
        uint64_t remote_max_message_size = 0;  // see message::NodeOutputConfig
        uint64_t remote_envelope = 0;
    };
    struct InputState {
        std::string id;
        shm::Ring ring;
        bool closed_reported = false;
        bool timed_out_reported = false;  // input_timeout closed it; data reopens it
    };

    NodeImpl(message::NodeConfig config, std::shared_ptr<shm::Region> region);
    [[nodiscard]] Result<> connect_outputs();
    [[nodiscard]] Result<Output*> output(std::string_view id);
    // Fails, naming the limit and the ZENOH_CONFIG key, when a message of this size sent on `out`
    // could not cross to the other machine that consumes it.
    [[nodiscard]] Result<> check_crossing(std::string_view output_id, const Output& out,
                                          size_t data_len, size_t metadata_len) const;
    // Pushes to a backpressure ring: waits while it is full, until the receiver takes an entry
    // or is gone. When this node is asked to stop meanwhile, it stops waiting and the oldest
    // entry is dropped (counted) so that the node can finish.
    void push_waiting(Target& target, const shm::Entry& entry);
    // An INPUT_CLOSED (input_timeout) or INPUT_RECOVERED event for a timed-out input, if due.
    [[nodiscard]] std::optional<Event> timeout_event(InputState& input);
    [[nodiscard]] Event make_input_event(InputState& input, const shm::Entry& entry);
    [[nodiscard]] Result<> publish(Output& out, shm::WritableSample&& sample,
                                   const message::ArrowTypeInfo& info,
                                   const Parameters& parameters);

    // A dynamic node's link to its daemon: declared first, so closed last (after everything else
    // of the node is released, the daemon sees the node's exit).
    sys::UniqueFd daemon_connection_;
    message::NodeConfig config_;
    std::shared_ptr<shm::Region> region_;
    std::shared_ptr<shm::SegmentCache> cache_;
    std::vector<InputState> inputs_;
    size_t open_inputs_ = 0;
    bool stop_delivered_ = false;
    bool finished_ = false;
    std::atomic<bool> interrupted_{false};  // set by interrupt(), consumed by next()
    bool outputs_closed_ = false;
    std::chrono::nanoseconds spin_;
    shm::Pool pool_;
    std::chrono::steady_clock::time_point next_free_idle_{};  // see allocate()
    HlcClock clock_;
    std::map<std::string, std::shared_ptr<shm::Region>> target_regions_;
    std::map<std::string, Output, std::less<>> outputs_;
    std::vector<std::byte> scratch_;
    bool clock_warning_given_ = false;  // an input's timestamp was refused by clock_ (once)
    std::shared_ptr<const void> identity_ = std::make_shared<const char>('\0');
};

template <typename Fill>
Result<> NodeImpl::send(std::string_view output_id, const message::ArrowTypeInfo& info,
                        size_t data_size, const Parameters& parameters, Fill&& fill) {
    auto out = output(output_id);
    if (!out) {
        return fail(out.error());
    }
    if ((*out)->targets.empty()) {
        return {};  // nobody consumes this output: nothing to write
    }
    // Before the data is written; publish() checks again with the metadata.
    if (auto fits = check_crossing(output_id, **out, data_size, 0); !fits) {
        return fail(fits.error());
    }
    auto sample = allocate(data_size);
    if (!sample) {
        return fail(sample.error());
    }
    fill(sample->data().data());
    return publish(**out, std::move(*sample), info, parameters);
}

}  // namespace dora
