#include "daemon/egress.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "shm/pool.hpp"

namespace dora::daemon {

namespace {

constexpr auto kUnmapPeriod = std::chrono::seconds(1);
constexpr size_t kAll = std::numeric_limits<size_t>::max();

}  // namespace

// What the thread and the queued samples share; the last queued sample's release may be the
// last owner.
struct Egress::State {
    shm::Region* region = nullptr;
    std::vector<std::string> keys;                  // by egress ring
    std::vector<std::vector<uint8_t>> end_markers;  // by egress ring: the signed end of its stream
    std::vector<bool> backpressure;                 // by egress ring: EgressStream::backpressure
    zenoh::Publisher publisher;
    EgressLimits limits;
    // The egress thread's mappings of sender segments: queued samples point into them.
    shm::SegmentCache cache;
    std::atomic<bool> stop{false};
    std::atomic<size_t> in_flight_samples{0};          // handed to the Publisher and not yet put
    std::atomic<size_t> in_flight_bytes{0};            // payload + attachment of those
    std::unique_ptr<std::atomic<uint64_t>[]> dropped;  // by egress ring
    mutable std::mutex reason_mutex;                   // guards reason
    std::string reason;                                // why the last drop happened

    State(shm::Region* r, std::vector<std::string> k, std::vector<std::vector<uint8_t>> ends,
          std::vector<bool> waits, zenoh::Publisher p, EgressLimits l,
          std::map<uint16_t, std::string> senders)
        : region(r),
          keys(std::move(k)),
          end_markers(std::move(ends)),
          backpressure(std::move(waits)),
          publisher(std::move(p)),
          limits(l),
          cache(std::move(senders)),
          dropped(new std::atomic<uint64_t>[keys.size()]()) {
        cache.set_resident_budget(limits.max_resident_bytes);
    }

    // What may still be handed over before a limit is reached: (samples, bytes).
    [[nodiscard]] std::pair<size_t, size_t> room() const {
        const size_t samples = in_flight_samples.load(std::memory_order_relaxed);
        const size_t bytes = in_flight_bytes.load(std::memory_order_relaxed);
        return {samples < limits.max_samples ? limits.max_samples - samples : 0,
                bytes < limits.max_bytes ? limits.max_bytes - bytes : 0};
    }

    void count_drop(size_t ring, uint64_t n, const std::string& why) {
        if (n == 0) {
            return;
        }
        dropped[ring].fetch_add(n, std::memory_order_relaxed);
        std::lock_guard lock(reason_mutex);
        reason = why;
    }
};

uint64_t Egress::dropped(size_t stream) const {
    return stream < state_->keys.size() ? state_->dropped[stream].load(std::memory_order_relaxed)
                                        : 0;
}

std::string Egress::last_drop_reason() const {
    std::lock_guard lock(state_->reason_mutex);
    return state_->reason;
}

Result<std::unique_ptr<Egress>> Egress::start(LocalDataflow& dataflow, zenoh::Publisher publisher,
                                              EgressLimits limits) {
    shm::Region* region = dataflow.egress_region();
    const auto& plan = dataflow.plan();
    if (region == nullptr || plan.egress.empty()) {
        return fail("dataflow {} sends nothing to other machines", dataflow.id());
    }
    // The daemon's own pool too: it sends stdout-as-output lines on a node's behalf.
    std::map<uint16_t, std::string> senders{{kDaemonSender, plan.pool_prefix(kDaemonSender)}};
    for (const auto& node : plan.nodes) {
        senders.emplace(node.sender, plan.pool_prefix(node.sender));
    }
    std::vector<std::string> keys;
    std::vector<std::vector<uint8_t>> ends;
    std::vector<bool> waits;
    for (const auto& stream : plan.egress) {
        keys.push_back(stream.key);
        ends.push_back(plan.stream_end_signer->end_of_stream(stream.key));
        waits.push_back(stream.backpressure);
    }
    auto state = std::make_shared<State>(region, std::move(keys), std::move(ends), std::move(waits),
                                         std::move(publisher), limits, std::move(senders));
    std::unique_ptr<Egress> egress(new Egress(state));
    egress->thread_ = std::thread([state] { run(state); });
    return egress;
}

void Egress::stop() {
    if (!thread_.joinable()) {
        return;
    }
    state_->stop.store(true);
    state_->region->signal().notify();  // do not wait out the thread's sleep
    thread_.join();
}

// Hands `entry` (popped from egress ring `ring`) to `batch`, read in place; it counts as in
// flight until the session has copied it out. Returns its bytes; nothing when it was dropped
// (its sender's segment could not be mapped). With `unmap_after`, its pages leave this daemon's
// RSS as soon as the session copied it (samples taken beyond the limits: the last pass).
std::optional<size_t> Egress::take(const std::shared_ptr<State>& state, uint32_t ring,
                                   const shm::Entry& entry,
                                   std::vector<zenoh::OutgoingSample>& batch, bool unmap_after) {
    auto held = state->cache.view_held(entry);
    if (!held) {
        state->cache.release(entry);
        state->count_drop(ring, 1, held.error().message());
        return std::nullopt;
    }
    const shm::SampleView* view = &held->view;
    std::atomic<uint32_t>* refcount = view->refcount;
    std::atomic<uint32_t>* holds = held->holds;
    // The pages the session reads: data and metadata, from the page-aligned start of the data.
    const std::byte* read_from = unmap_after ? view->data : nullptr;
    const size_t read_len = static_cast<size_t>(view->metadata + view->metadata_len - view->data);
    const size_t bytes = view->data_len + view->metadata_len;
    state->in_flight_samples.fetch_add(1, std::memory_order_relaxed);
    state->in_flight_bytes.fetch_add(bytes, std::memory_order_relaxed);
    batch.push_back(zenoh::OutgoingSample{
        state->keys[ring],
        {reinterpret_cast<const uint8_t*>(view->data), view->data_len},
        zenoh::Bytes{reinterpret_cast<const uint8_t*>(view->metadata), view->metadata_len},
        // Runs in the loop's place (the loop thread, or this thread holding its lease) once the
        // session copied the sample out.
        // The sample first: it never stays in use once no longer counted.
        [state, refcount, holds, read_from, read_len, bytes] {
            if (read_from != nullptr) {
                // Out of this process's page tables only (the memory stays the producer's);
                // cannot fail on a range of our mapping, at worst the pages stay resident.
                (void)::madvise(const_cast<std::byte*>(read_from), read_len, MADV_DONTNEED);
            }
            holds->fetch_sub(1, std::memory_order_release);  // its pages may be dropped now
            refcount->fetch_sub(1, std::memory_order_acq_rel);
            state->in_flight_bytes.fetch_sub(bytes, std::memory_order_relaxed);
            state->in_flight_samples.fetch_sub(1, std::memory_order_relaxed);
        },
        true,
        state->backpressure[ring]});
    return bytes;
}

void Egress::run(const std::shared_ptr<State>& state) {
    shm::Region& region = *state->region;
    const auto rings = static_cast<uint32_t>(state->keys.size());
    std::vector<bool> ended(rings, false);
    uint32_t first = 0;  // the ring a pass starts with: rotated, so that no ring starves the others
    auto next_unmap = SteadyClock::now() + kUnmapPeriod;
    // After stop is requested, one more pass drains what the producers left and sends the end
    // markers of the rings they closed (stop comes right after the last producer exited).
    for (bool last_pass = false; !last_pass;) {
        last_pass = state->stop.load();
        const uint32_t seen = region.signal().current();
        std::vector<zenoh::OutgoingSample> batch;
        std::vector<uint64_t> batched(rings, 0);  // data samples per ring, end markers left out
        // Never more in flight than the limits (one sample's bytes over at most): what does not
        // fit stays in the rings, which drop their oldest when full. The last pass takes all
        // that is left (at most the rings' capacities).
        auto [samples_room, bytes_room] = last_pass ? std::pair{kAll, kAll} : state->room();
        for (uint32_t n = 0; n < rings; ++n) {
            const uint32_t i = (first + n) % rings;
            shm::Ring ring = region.ring(i);
            while (samples_room > 0 && bytes_room > 0) {
                auto entry = ring.pop();
                if (!entry) {
                    break;
                }
                const auto bytes = take(state, i, *entry, batch, last_pass);
                batched[i] += bytes ? 1 : 0;
                --samples_room;
                bytes_room -= std::min(bytes_room, bytes.value_or(0));
            }
            if (!ended[i] && ring.closed() && ring.empty()) {
                ended[i] = true;
                const auto& end = state->end_markers[i];
                batch.push_back(zenoh::OutgoingSample{state->keys[i],
                                                      {},
                                                      zenoh::Bytes{end.data(), end.size()},
                                                      [state] {},
                                                      false,
                                                      state->backpressure[i]});
            }
        }
        first = rings == 0 ? 0 : (first + 1) % rings;
        const bool handed = !batch.empty();
        if (handed) {
            // A closed session releases the batch at once: nothing is left to publish to.
            if (auto sent = state->publisher.publish(std::move(batch)); !sent) {
                for (uint32_t i = 0; i < rings; ++i) {
                    state->count_drop(i, batched[i], sent.error().message());
                }
            }
        }
        // At either limit, wait (the rings keep dropping their oldest meanwhile, as every dora
        // queue does, and count it).
        auto at_limit = [&state] {
            const auto [samples, bytes] = state->room();
            return samples == 0 || bytes == 0;
        };
        while (!state->stop.load() && at_limit()) {
            std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
        if (last_pass) {
            break;
        }
        // Also while busy (a flood never leaves the batches empty).
        if (SteadyClock::now() >= next_unmap) {
            // Large samples read a while ago: out of this daemon's RSS (the node owns them).
            (void)state->cache.unmap_idle(shm::kIdleReleaseMinSize);
            next_unmap = SteadyClock::now() + kUnmapPeriod;
        }
        if (handed) {
            continue;
        }
        region.signal().wait(seen, SteadyClock::now() + std::chrono::milliseconds(100),
                             std::chrono::microseconds(20));
    }
}

}  // namespace dora::daemon
