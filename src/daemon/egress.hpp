// Egress: the outputs of this machine's nodes that nodes on other machines consume (DESIGN
// section 4, "Between machines") and, with debug inspection, every other output of its nodes
// too (published the same way, for Zenoh watchers only). One thread per dataflow waits on the
// dataflow's egress region (the rings local producers push to for remote consumers), reads each
// sample in place and hands batches to the daemon loop's Zenoh session through its thread-safe
// Publisher: each is published on its stream's key
// (`dora/{network}/{dataflow}/output/{node}/{output}`) with the data as payload and the encoded
// metadata as attachment, and released once the session has copied it into its link batches. When a
// producer's ring closes (the node exited), an end marker (a PUT whose attachment is the one byte
// kEndOfStreamMarker) follows its last message. What is handed over and not yet put is bounded
// (EgressLimits): the thread takes no more from the rings than fits, and at either limit it waits
// while the rings drop their oldest entries (counted per ring, reported by LocalDataflow), so
// neither a producer nor the daemon's loop waits on a slow publication. That bound is part of the
// bound on a sender's pool (shm/pool.hpp): the egress holds at most max_samples of the dataflow's
// samples besides those in its rings. The pages of producers' segments it read stay in the
// daemon's RSS up to EgressLimits::max_resident_bytes (least recently read dropped first), and
// once a second the thread drops those of large samples it has not read since
// (shm::SegmentCache::unmap_idle), busy or not: the memory is the producer's.
//
// A stream a remote consumer reads with `queue_policy: backpressure` (EgressStream::backpressure)
// has a backpressure ring (the producer waits when it is full) and its samples are marked
// OutgoingSample::wait: the session holds them while the link does not keep up, they stay in
// flight, and the thread takes no more; nothing on the way drops them.
//
// A sample that cannot be handed to the session (its sender's segment cannot be mapped, or the
// session is closed) is counted per stream (dropped()); so are, in the egress ring itself, the
// oldest samples a full ring drops (LocalDataflow::drops()).
//
// Lifecycle: start() starts the thread. stop() (the daemon's loop thread) asks it to drain what
// the producers left one more time, send the end markers of closed rings, and finish; it joins
// the thread. Samples still queued in the Publisher keep what they point into alive (shared
// state), so the Egress may be destroyed right after stop().
//
// Thread safety: start/stop/destruction on the daemon's loop thread; the egress thread only reads
// the egress region's rings (one consumer per ring) and calls Publisher::publish.
#pragma once

#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "core/error.hpp"
#include "daemon/dataflow_plan.hpp"
#include "daemon/local_dataflow.hpp"
#include "zenoh/session.hpp"

namespace dora::daemon {

using message::kEndOfStreamMarker;  // message/data_keys.hpp

// What the egress thread may have handed to the session and not yet seen put (the bytes bound
// may be passed by one sample). Every sample in flight keeps a segment of its sender's pool in use
// (and mapped by this daemon), so max_samples is part of the bound on a sender's pool: a flood to
// another machine holds about as many segments of it. The byte bound keeps large outputs (40 MiB
// at 100 Hz) from pinning the producers' pools and from making one drain of the daemon's loop
// arbitrarily long.
//
// max_resident_bytes bounds the pages of the producers' segments this daemon keeps in its RSS
// (RssShmem) after reading them (shm::SegmentCache's resident budget): past it, the pages of the
// least recently read segments no longer in flight are dropped at once. Without it they would
// follow the send rate: a 1 MiB flood cycles through the whole producer pool (up to the egress
// ring's depth + the samples in flight, 1.25 MiB each) faster than the once-a-second unmap_idle
// pass. It is at least what the samples in flight can keep mapped (<= 1.25 x max_bytes + one
// sample, plus a page each), so the daemon never drops the pages the session is reading, and then
// the payload pages resident are <= max_resident_bytes + one segment. The last pass at stop()
// takes what the rings hold beyond the limits (the loop that puts it waits for the thread): each of
// those samples' pages are dropped right after the session copied it out, so it adds one sample.
struct EgressLimits {
    size_t max_samples = kEgressMaxInFlight;
    size_t max_bytes = size_t{128} << 20;
    size_t max_resident_bytes = size_t{256} << 20;
};

class Egress {
  public:
    // Starts publishing `dataflow`'s egress streams (it must have some) through `publisher`.
    // `dataflow` must outlive this object.
    [[nodiscard]] static Result<std::unique_ptr<Egress>> start(LocalDataflow& dataflow,
                                                               zenoh::Publisher publisher,
                                                               EgressLimits limits = {});
    ~Egress() { stop(); }
    Egress(const Egress&) = delete;
    Egress& operator=(const Egress&) = delete;

    void stop();
    // Samples of egress stream `stream` lost here so far (any thread), and why the last was.
    [[nodiscard]] uint64_t dropped(size_t stream) const;
    [[nodiscard]] std::string last_drop_reason() const;

  private:
    struct State;
    explicit Egress(std::shared_ptr<State> state) : state_(std::move(state)) {}
    static void run(const std::shared_ptr<State>& state);
    [[nodiscard]] static std::optional<size_t> take(const std::shared_ptr<State>& state,
                                                    uint32_t ring, const shm::Entry& entry,
                                                    std::vector<zenoh::OutgoingSample>& batch,
                                                    bool unmap_after);

    std::shared_ptr<State> state_;
    std::thread thread_;
};

}  // namespace dora::daemon
