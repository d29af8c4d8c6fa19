// The shared-memory region of one receiving node: its wake-up signal, its stop flag, one Ring per
// input and a lease table of the samples it holds. The daemon creates it before the node starts;
// the node (consumer side) and every producer feeding it (other nodes, the daemon for timers and
// remote data) map it.
//
// The lease table records which samples the node has taken out of its rings and not yet released,
// so that the daemon can give them back to their pools when the node dies.
//
// Thread safety: see Ring and Signal; the lease table is written by the consumer only and read by
// the daemon after the consumer died.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "shm/ring.hpp"
#include "shm/segment.hpp"
#include "shm/signal.hpp"

namespace dora::shm {

inline constexpr uint32_t kRegionMagic = 0x646f7261;  // "dora"
inline constexpr uint32_t kRegionVersion = 5;         // 4: kNotice entries; 5: unwatched rings
inline constexpr uint32_t kDefaultLeaseCapacity = 4096;
inline constexpr uint32_t kMaxInputs = kMaxNodeInputs;
// The most rings any region may have: a daemon's egress region has one per output of its nodes
// (every output can be watched), not bounded by kMaxInputs.
inline constexpr uint32_t kMaxRegionRings = 1U << 20;
using dora::kMaxQueueSize;

enum class StopReason : uint32_t { kNone = 0, kStopRequested = 1, kGraceExpired = 2 };

struct RegionHeader {
    uint32_t magic = 0;
    uint32_t version = 0;
    uint32_t input_count = 0;
    uint32_t lease_capacity = 0;
    uint64_t lease_offset = 0;
    uint64_t total_size = 0;
    alignas(64) Signal signal;
    std::atomic<uint32_t> stop{0};  // a StopReason
    std::atomic<uint32_t> lease_hint{0};
    // Set by the node once it has joined (mapped this region and its outputs): the daemon reports
    // it ready. Cleared by the daemon before a restarted node's next incarnation.
    std::atomic<uint32_t> attached{0};
    // Followed by uint64_t ring_offsets[input_count], the rings, the lease table.
};

class LeaseTable {
  public:
    LeaseTable() = default;
    LeaseTable(std::atomic<uint64_t>* slots, uint32_t capacity, std::atomic<uint32_t>* hint)
        : slots_(slots), capacity_(capacity), hint_(hint) {}
    // Records a held sample; returns the slot index, or -1 when the table is full (the sample is
    // then not reclaimable if the node dies, but still works).
    int64_t add(uint64_t packed_entry);
    void remove(int64_t index);
    // Calls f(packed_entry) for every recorded sample (used by the daemon after the node died).
    template <typename F>
    void for_each(F&& f) const {
        for (uint32_t i = 0; i < capacity_; ++i) {
            if (uint64_t v = slots_[i].load(std::memory_order_acquire); v != 0) {
                f(v);
            }
        }
    }
    void clear();

  private:
    std::atomic<uint64_t>* slots_ = nullptr;
    uint32_t capacity_ = 0;
    std::atomic<uint32_t>* hint_ = nullptr;
};

class Region {
  public:
    Region() = default;

    // Creates the region with one ring per input of the given capacities (queue sizes): at most
    // kMaxInputs for a node's region, kMaxRegionRings for a daemon's egress region (`egress`).
    [[nodiscard]] static Result<Region> create(std::string_view name,
                                               std::span<const uint32_t> capacities,
                                               uint32_t lease_capacity = kDefaultLeaseCapacity,
                                               bool egress = false);
    // Maps an existing region and checks its layout.
    [[nodiscard]] static Result<Region> open(std::string_view name);

    [[nodiscard]] uint32_t input_count() const { return header()->input_count; }
    [[nodiscard]] Ring ring(uint32_t input) const;
    // ring(input) after checking that it exists and lies inside the region (open() checks only
    // where each ring starts): what a node uses for the rings another process laid out.
    [[nodiscard]] Result<Ring> checked_ring(uint32_t input) const;
    [[nodiscard]] Signal& signal() const { return header()->signal; }
    [[nodiscard]] LeaseTable leases() const;

    void request_stop(StopReason reason);
    [[nodiscard]] StopReason stop_reason() const {
        return static_cast<StopReason>(header()->stop.load(std::memory_order_acquire));
    }

    // The consumer (node) side says it has joined; the daemon side asks and resets.
    void mark_attached() { header()->attached.store(1, std::memory_order_release); }
    [[nodiscard]] bool attached() const {
        return header()->attached.load(std::memory_order_acquire) != 0;
    }
    void clear_attached() { header()->attached.store(0, std::memory_order_release); }

    [[nodiscard]] const std::string& name() const { return segment_.name(); }
    [[nodiscard]] bool valid() const { return segment_.valid(); }

  private:
    explicit Region(Segment segment) : segment_(std::move(segment)) {}
    [[nodiscard]] RegionHeader* header() const { return segment_.as<RegionHeader>(); }
    [[nodiscard]] const uint64_t* ring_offsets() const {
        return reinterpret_cast<const uint64_t*>(segment_.data() + sizeof(RegionHeader));
    }

    Segment segment_;
};

}  // namespace dora::shm
