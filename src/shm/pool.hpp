// Sample pools: where outputs are written, once, and read in place by every local receiver.
//
// A Pool belongs to one sender (a node process, or the daemon for timers and remote data). Each
// sample lives in its own shared-memory segment whose size is a size class (see pool.cpp);
// segments are created on demand and then reused forever: a segment is free again when the
// reference count in its header drops to zero, which receivers do when they release the sample.
// Nothing is ever copied between processes.
//
// Bound: a segment is created only when every segment of its size class is in use, so a size
// class never has more segments than samples of that size were live at once. A sender's sample
// is live while it sits in a receiver's ring (at most the ring's capacity: a full ring drops its
// oldest entry and the pusher releases it), while the daemon's egress has handed it to Zenoh and
// not yet seen it put (at most daemon::kEgressMaxInFlight = 1024 samples per dataflow), while a
// receiver has taken it and not released it, and while the sender has allocated it and not yet
// sent it. So under a flood whose receivers release what they processed, a sender's pool has at
// most, per size class,
//     the capacities of the rings its outputs push to, summed (the queue_size of each local input
//     it feeds; for an output consumed on other machines, the egress ring, as deep as the deepest
//     remote consumer's queue)
//   + 1024 if an output leaves the machine (or is inspected)
//   + the samples its receivers and the node itself hold (one each for a receiver that handles
//     one input at a time)
// segments: 10 + 100 + 1024 + 1 + 1 = 1136 in tests/integration/pool_flood_test.cpp. The sender
// maps each of its segments once; a daemon that reads them (its egress) maps each once too, as
// two mappings (the header page read-write, the payload read-only). A node's pool is capped at
// that sum with 4096 held samples (daemon::DataflowPlan::pool_class_limit, set_class_limit):
// past it allocate() fails and says that receivers keep what they got. The daemon's own pools
// (timers, stdout-as-output, data from other machines) are bounded the same way by their
// receivers' rings and holds, and capped only by kMaxSegmentsPerPool.
//
// Segment layout: [SampleHeader, alone in the first page][data, from sample_header_size()]
// [metadata, 64-aligned after the data]. The sender maps all of it read-write. Receivers
// (SegmentCache) map the header page read-write, because releasing a sample decrements its
// reference count, and everything from the data on READ-ONLY: a receiver that writes into a payload
// other receivers read faults instead of corrupting it. The page of padding per segment is the
// price of that split (mappings are created once per segment and kept, so there is no per-message
// cost). Receivers must treat every header field as untrusted: `SampleView::validate` bounds-checks
// them against the mapped size.
//
// Ownership: a WritableSample is move-only and owns its unsent sample: destroyed unsent, it
// returns the sample to the pool; publish() consumes it. It keeps its segment mapped by shared
// ownership, so it may outlive its Pool (it then only unmaps its segment).
//
// Thread safety: a Pool is used by one thread at a time. A SegmentCache is used by one thread at
// a time. A WritableSample may be destroyed on any thread (it touches only an atomic in shared
// memory and a shared_ptr). The reference counts in the headers are atomics shared between
// processes.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "shm/ring.hpp"
#include "shm/segment.hpp"

namespace dora::shm {

inline constexpr uint32_t kSampleMagic = 0x73616d70;  // "samp"
inline constexpr size_t kMinSampleHeaderSize = 4096;

// Bytes before a sample's data: the header page, which receivers map read-write apart from the
// read-only payload. The page size of the machine, at least 4 KiB (so the layout is the same for
// every process of a machine).
[[nodiscard]] size_t sample_header_size();
inline constexpr uint32_t kMaxSegmentsPerPool = 1u << 16;
// Pool::free_idle and SegmentCache::unmap_idle leave smaller segments alone: refaulting them
// would cost more than the memory they hold. Users call them about once a second.
inline constexpr size_t kIdleReleaseMinSize = size_t{1} << 20;

struct SampleHeader {
    std::atomic<uint32_t> refcount{0};
    uint32_t magic = 0;
    uint64_t capacity = 0;  // bytes after the header
    uint64_t data_len = 0;
    uint64_t metadata_offset = 0;  // from the start of the segment
    uint64_t metadata_len = 0;
    uint64_t sequence = 0;
};
static_assert(sizeof(SampleHeader) <= kMinSampleHeaderSize);

// A sample being written by its sender. Move-only (a move empties the source), so it is published
// or abandoned exactly once: Pool::publish consumes it, and one destroyed unsent is free again.
class WritableSample {
  public:
    WritableSample() = default;
    WritableSample(WritableSample&& other) noexcept;
    WritableSample& operator=(WritableSample&& other) noexcept;
    WritableSample(const WritableSample&) = delete;
    WritableSample& operator=(const WritableSample&) = delete;
    ~WritableSample() { abandon(); }

    [[nodiscard]] std::span<std::byte> data() const { return {data_, data_len_}; }
    [[nodiscard]] std::byte* segment_base() const { return reinterpret_cast<std::byte*>(header_); }
    [[nodiscard]] SampleHeader* header() const { return header_; }
    [[nodiscard]] uint32_t segment_index() const { return segment_; }
    [[nodiscard]] size_t segment_size() const { return segment_size_; }
    // Bytes of metadata publish() can write after the data without a bigger segment.
    [[nodiscard]] size_t metadata_capacity() const;
    [[nodiscard]] bool valid() const { return header_ != nullptr; }

  private:
    friend class Pool;
    // Gives an unsent sample back to its pool (reference count 0: free) and empties this.
    void abandon();
    // Empties this without touching the sample (it was published).
    void forget();

    std::shared_ptr<const Segment> mapping_;  // keeps the segment mapped if the Pool goes first
    SampleHeader* header_ = nullptr;
    std::byte* data_ = nullptr;
    size_t data_len_ = 0;
    size_t segment_size_ = 0;
    uint32_t segment_ = 0;
};

class Pool {
  public:
    // `prefix` names the pool's segments: "<prefix>.g<generation>.s<index>".
    Pool(std::string prefix, uint16_t sender_index, uint16_t generation);
    Pool(Pool&&) = default;
    Pool& operator=(Pool&&) = default;
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    ~Pool();

    // A free sample with room for `data_len` bytes of data and `metadata_reserve` bytes of
    // metadata after it. Its data bytes are uninitialised (reused memory).
    [[nodiscard]] Result<WritableSample> allocate(size_t data_len, size_t metadata_reserve);

    // Writes the metadata after the data and sets the receiver count; returns the ring entry to
    // push to each receiver. With zero receivers the sample is free again at once.
    // Fails (sample abandoned) when the metadata does not fit: allocate with a larger reserve.
    [[nodiscard]] Result<Entry> publish(WritableSample&& sample,
                                        std::span<const std::byte> metadata, uint32_t receivers,
                                        uint64_t time_ns);

    // Gives an unsent sample back (what destroying it does too).
    void abandon(WritableSample&& sample);

    // Releases one reference of an entry of this pool (e.g. one dropped from a full ring).
    void release(const Entry& entry);

    // Gives the memory of idle large samples back to the system: every free segment of at least
    // `min_size` bytes that allocate() has not handed out since the previous call loses its pages
    // (Segment::free_pages_from, in every process that maps it); the segment and its mappings
    // stay, and refault on next use. Called periodically (about once a second), this returns a
    // large transfer's memory a period or two after its receivers released it, and costs a busy
    // stream nothing. Returns the bytes freed.
    size_t free_idle(size_t min_size);

    // At most `limit` segments per size class (at most kMaxSegmentsPerPool, the default): when
    // all of a class's are in use, allocate() fails instead of creating one.
    void set_class_limit(uint32_t limit) { class_limit_ = std::min(limit, kMaxSegmentsPerPool); }
    [[nodiscard]] uint32_t class_limit() const { return class_limit_; }

    [[nodiscard]] uint16_t sender_index() const { return sender_; }
    [[nodiscard]] uint16_t generation() const { return generation_; }
    [[nodiscard]] size_t segment_count() const { return segments_.size(); }
    // Removes this pool's segments from /dev/shm (mappings held by receivers stay valid).
    void unlink_all();

    [[nodiscard]] static std::string segment_name(std::string_view prefix, uint16_t generation,
                                                  uint32_t index);

  private:
    struct Slot {
        std::shared_ptr<Segment> segment;  // shared with the WritableSample written in it
        uint32_t index;
        uint64_t allocated_at = 0;  // allocations_ when it was last handed out
        bool pages_freed = false;   // free_idle freed its pages; nothing written since
    };
    std::string prefix_;
    uint16_t sender_;
    uint16_t generation_;
    uint32_t class_limit_ = kMaxSegmentsPerPool;
    uint64_t sequence_ = 0;
    uint64_t allocations_ = 0;
    uint64_t allocations_at_free_idle_ = 0;
    std::vector<Slot> segments_;                  // by segment index
    std::vector<std::vector<uint32_t>> classes_;  // size class (log2) -> segment indices
    std::vector<size_t> class_cursor_;
};

// A received sample, validated: header fields copied once, bounds checked.
struct SampleView {
    const std::byte* data = nullptr;
    uint64_t data_len = 0;
    const std::byte* metadata = nullptr;
    uint64_t metadata_len = 0;
    std::atomic<uint32_t>* refcount = nullptr;

    [[nodiscard]] static Result<SampleView> validate(const Segment& segment);
};

// Receiver side: maps sender segments on first use and keeps them mapped.
//
// Resident budget (set_resident_budget; none by default): the payload pages this process has
// read stay in its RSS (RssShmem) until dropped, so a reader of a pool that cycles through many
// large segments (the daemon's egress under a flood: up to the egress ring's depth + the samples
// in flight, 1 MiB each) would hold all of them. With a budget, each view that takes the payload
// bytes counted as resident (every segment viewed since its pages were last dropped, its size
// without the header page) over the budget drops at once the pages of the least recently viewed
// segments that are not held (view_held and not yet given back), so after every view
//     resident payload bytes <= max(budget, bytes of the held segments + the one just viewed).
// Header pages stay (one page per mapped segment: the reference count lives there).
class SegmentCache {
  public:
    // Sender index -> segment name prefix, as configured by the daemon.
    explicit SegmentCache(std::map<uint16_t, std::string> sender_prefixes);
    ~SegmentCache();
    SegmentCache(const SegmentCache&) = delete;
    SegmentCache& operator=(const SegmentCache&) = delete;

    [[nodiscard]] Result<SampleView> view(const Entry& entry);
    // A view whose segment counts as held by this process until `*holds` is decremented (by any
    // thread, once the payload is no longer read): the budget never drops its pages meanwhile.
    // The counter lives as long as this cache.
    struct HeldView {
        SampleView view;
        std::atomic<uint32_t>* holds = nullptr;
    };
    [[nodiscard]] Result<HeldView> view_held(const Entry& entry);
    // Drops one reference of the entry's sample (the receiver is done with it).
    void release(const Entry& entry);
    void add_sender(uint16_t index, std::string prefix);
    // Drops from this process's RSS the pages of every mapped segment of at least `min_size`
    // bytes not viewed since the previous call and not held (Segment::unmap_pages_from; the
    // mappings stay). For a process that reads large samples of others' pools and lives on (the
    // daemon's egress). Returns the bytes unmapped.
    size_t unmap_idle(size_t min_size);
    // At most `bytes` of payload pages of segments not held stay resident (see above).
    void set_resident_budget(size_t bytes);
    [[nodiscard]] size_t resident_budget() const { return budget_; }
    // Payload bytes of the segments viewed since their pages were last dropped (an upper bound
    // of what this cache holds in RSS besides header pages).
    [[nodiscard]] size_t resident_bytes() const { return resident_bytes_; }
    // Of those, the bytes of held segments (read now; any thread may change it meanwhile).
    [[nodiscard]] size_t held_resident_bytes() const;

  private:
    struct Cached {
        Segment segment;
        std::atomic<uint32_t> holds{0};    // view_held and not yet given back
        bool used = false;                 // viewed since the last unmap_idle
        bool resident = false;             // viewed since its pages were last dropped
        std::list<Cached*>::iterator lru;  // in lru_ while resident
    };
    [[nodiscard]] Result<Cached*> segment(const Entry& entry);
    // Counts `cached` as resident and most recently viewed, then keeps the budget.
    void touch(Cached& cached);
    void drop_pages(Cached& cached);

    std::map<uint16_t, std::string> prefixes_;
    // (sender << 16 | generation) -> segments by index (stable addresses: held counters are
    // pointed to); the last one used is remembered, since consecutive samples mostly come from
    // the same sender.
    std::map<uint32_t, std::vector<std::unique_ptr<Cached>>> segments_;
    uint32_t last_key_ = UINT32_MAX;
    std::vector<std::unique_ptr<Cached>>* last_ = nullptr;
    std::list<Cached*> lru_;  // resident segments, least recently viewed first
    size_t resident_bytes_ = 0;
    size_t budget_ = SIZE_MAX;
};

}  // namespace dora::shm
