// Ingress: the outputs of nodes on other machines that this machine's nodes consume (DESIGN
// section 4, "Between machines"). One subscription per remote stream on the daemon loop's Zenoh
// session; each arrival is copied into a sample of the dataflow's ingress pool (sender
// kIngressSender) and pushed to every local receiver's ring; an end marker closes those rings
// (the receivers get INPUT_CLOSED). A full ring drops its oldest entry, as every dora queue does,
// and counts it there; except a receiver's ring with `queue_policy: backpressure`: then the
// arrival (and every later one of its stream) waits in the Ingress, in order, and the session
// stops reading its links (Session::hold_reading) until the receiver made room, so TCP slows the
// producer's daemon, whose Publisher holds the samples (OutgoingSample::wait), whose egress ring
// makes the producer wait. What waits here is bounded by one read of the links (BatchReader).
// Reading stops for every link of the session meanwhile: the other streams from those machines
// wait too (as with Zenoh's blocking congestion control). An arrival that cannot be stored at all
// (the pool cannot give a sample: receivers hold every one, or shared memory is full) is counted
// per stream and reported to the receiving nodes' logs once a second while the count grows: nothing
// is dropped silently. So is what the producer's daemon wrote to the link and never arrived (its
// copies are numbered: zenoh::CopyGaps; place link, counted once per stream on this machine). Once
// a second too, the pages of large samples idle since the last second are given back
// (shm::Pool::free_idle): a large transfer does not stay resident.
//
// Liveliness: the Ingress watches the liveliness tokens of its remote producers (DataflowPlan::
// liveliness_key; the producing daemon holds one per producer). When a producer's token goes away
// while one of its streams is open (the link to its machine was lost: a partition, or the machine
// died), every receiver of those streams gets a kNotice entry (the node: an ERROR event for that
// input) and a line in its log; when the token comes back, the log says so and data simply flows
// again. close_from() closes a producer's streams for good (the coordinator says its machine is
// gone): the receivers get INPUT_CLOSED.
//
// Lifecycle: destroy it before the LocalDataflow it writes into; destruction undeclares the
// subscriptions and removes the pool's segments (receivers' mappings stay valid).
//
// Thread safety: the daemon's loop thread only (the session's thread).
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/event_loop.hpp"
#include "daemon/egress.hpp"
#include "daemon/local_dataflow.hpp"
#include "shm/pool.hpp"
#include "zenoh/session.hpp"

namespace dora::daemon {

class Ingress {
  public:
    // A line for a node's log ("dora" stream): node id, text.
    using Note = std::function<void(const std::string& node, const std::string& text)>;

    // Subscribes to `dataflow`'s ingress streams (it must have some). `dataflow` must outlive
    // this object.
    [[nodiscard]] static Result<std::unique_ptr<Ingress>> start(EventLoop& loop,
                                                                zenoh::Session& session,
                                                                LocalDataflow& dataflow, Note note);
    ~Ingress();
    Ingress(const Ingress&) = delete;
    Ingress& operator=(const Ingress&) = delete;

    // Closes the open streams of `producer` for good (INPUT_CLOSED), noting `reason` in each
    // receiver's log.
    void close_from(const std::string& producer, const std::string& reason);
    // Whether the producer's token went away and has not come back.
    [[nodiscard]] bool unreachable(const std::string& producer) const;

    // Arrivals that could not be stored, over all streams.
    [[nodiscard]] uint64_t dropped() const;
    // Messages sent to this machine that never arrived, over all streams.
    [[nodiscard]] uint64_t lost_in_transit() const;
    // The first per receiving input (place ingress; each receiver of a lost arrival lost it);
    // the second per stream (place link, under the producer's node and output, this machine).
    void add_drops(std::vector<message::DropCount>& drops, const std::string& machine_id) const;
    // Writes what grew since the last report (drops, losses, refusals) to the receivers' logs now
    // (it is done every second; the dataflow's end calls it once more so the last counts show).
    void report_drops();

  private:
    struct Stream {
        const IngressStream* plan = nullptr;
        zenoh::Subscription subscription;
        uint64_t dropped = 0;
        uint64_t reported = 0;
        std::string last_error;
        zenoh::CopyGaps gaps;  // of the numbered copies that arrive
        uint64_t lost = 0;     // written to the link by the producer's daemon, never arrived
        uint64_t reported_lost = 0;
        // Arrivals refused before they reach a node: an end of stream not signed by the
        // producer's daemon, or metadata that does not decode or fit the payload.
        uint64_t rejected = 0;
        uint64_t reported_rejected = 0;
        std::string rejected_why;
        bool closed = false;
        // Backpressure: arrivals that wait, in order, for room in a receiver's ring (copies of
        // payload and metadata), and whether the rings close once they are all delivered.
        struct Held {
            std::vector<uint8_t> payload;
            std::vector<uint8_t> metadata;
        };
        std::deque<Held> held;
        bool close_when_delivered = false;
    };
    struct Producer {
        bool unreachable = false;
        SteadyClock::time_point since;  // when it became unreachable
    };
    Ingress(EventLoop& loop, zenoh::Session& session, LocalDataflow& dataflow, Note note);
    void deliver(Stream& stream, const zenoh::Put& put);
    // Stores one arrival in the pool and queues it for every receiver.
    void store(Stream& stream, std::span<const uint8_t> payload, std::span<const uint8_t> meta);
    // Whether every backpressure receiver of `stream` has room for one more entry.
    [[nodiscard]] bool room_for(const Stream& stream) const;
    // Backpressure: stops reading the links while an arrival waits (hold), delivers what fits
    // (deliver_held, every kHeldRetry) and reads again once nothing waits.
    void hold();
    void deliver_held();
    void close_rings(Stream& stream);
    // Why `put` must not reach the receivers ("" when it may); sets `ends` for a valid end.
    [[nodiscard]] static std::string refusal(const Stream& stream, const zenoh::Put& put,
                                             bool& ends);
    void close(Stream& stream);
    // A line in the log of every receiver of `stream`: text(node, input).
    void note_receivers(
        const Stream& stream,
        const std::function<std::string(const std::string& node, const std::string& input)>& text);
    void on_token(std::string_view key, bool alive);
    void producer_lost(const std::string& producer);
    void producer_back(const std::string& producer);
    // Every receiver of every open stream of `producer`: f(stream, node, input).
    template <typename F>
    void for_receivers(const std::string& producer, F&& f);

    EventLoop& loop_;
    zenoh::Session& session_;
    LocalDataflow& dataflow_;
    Note note_;
    shm::Pool pool_;
    std::vector<std::unique_ptr<Stream>> streams_;
    std::map<std::string, Producer> producers_;  // by node id; the remote producers only
    zenoh::Subscription liveliness_;
    Timer report_;
    bool holding_ = false;  // a Session::hold_reading() is taken
    Timer held_retry_;
};

}  // namespace dora::daemon
