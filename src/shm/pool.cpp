#include "shm/pool.hpp"

#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <new>
#include <optional>
#include <utility>

#include "fmt/format.h"

namespace dora::shm {

namespace {

constexpr uint32_t kMinClass = 12;  // 4 KiB
constexpr uint32_t kMaxClass = 40;  // 1 TiB: far beyond any real message
constexpr uint32_t kClassCount = (kMaxClass - kMinClass) * 4 + 1;

size_t align64(size_t n) { return (n + 63) & ~size_t{63}; }

// Size classes: 4 KiB, then four steps per power of two (x1, x1.25, x1.5, x1.75), so a sample
// wastes at most a fifth of its segment. Returns (class index, segment size).
std::optional<std::pair<uint32_t, size_t>> size_class(size_t needed) {
    size_t minimum = size_t{1} << kMinClass;
    if (needed <= minimum) {
        return std::pair<uint32_t, size_t>{0, minimum};
    }
    uint32_t k = static_cast<uint32_t>(std::bit_width(needed - 1)) - 1;  // 2^k < needed <= 2^(k+1)
    if (k + 1 > kMaxClass) {
        return std::nullopt;
    }
    size_t base = size_t{1} << k;
    for (uint32_t step = 1; step <= 4; ++step) {
        size_t size = base + step * (base / 4);
        if (needed <= size) {
            return std::pair<uint32_t, size_t>{(k - kMinClass) * 4 + step, size};
        }
    }
    return std::nullopt;  // unreachable: step 4 is 2^(k+1)
}

}  // namespace

size_t sample_header_size() {
    static const size_t size =
        std::max(kMinSampleHeaderSize, static_cast<size_t>(::sysconf(_SC_PAGESIZE)));
    return size;
}

WritableSample::WritableSample(WritableSample&& other) noexcept
    : mapping_(std::move(other.mapping_)),
      header_(std::exchange(other.header_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      data_len_(std::exchange(other.data_len_, 0)),
      segment_size_(std::exchange(other.segment_size_, 0)),
      segment_(std::exchange(other.segment_, 0)) {}

WritableSample& WritableSample::operator=(WritableSample&& other) noexcept {
    if (this != &other) {
        abandon();
        mapping_ = std::move(other.mapping_);
        header_ = std::exchange(other.header_, nullptr);
        data_ = std::exchange(other.data_, nullptr);
        data_len_ = std::exchange(other.data_len_, 0);
        segment_size_ = std::exchange(other.segment_size_, 0);
        segment_ = std::exchange(other.segment_, 0);
    }
    return *this;
}

size_t WritableSample::metadata_capacity() const {
    if (header_ == nullptr) {
        return 0;
    }
    return segment_size_ - sample_header_size() - align64(data_len_);
}

void WritableSample::abandon() {
    if (header_ != nullptr) {
        // Free again: the pool's next allocate() may hand this segment out.
        header_->refcount.store(0, std::memory_order_release);
    }
    forget();
}

void WritableSample::forget() {
    mapping_.reset();
    header_ = nullptr;
    data_ = nullptr;
    data_len_ = 0;
    segment_size_ = 0;
    segment_ = 0;
}

std::string Pool::segment_name(std::string_view prefix, uint16_t generation, uint32_t index) {
    return fmt::format("{}.g{}.s{}", prefix, generation, index);
}

Pool::Pool(std::string prefix, uint16_t sender_index, uint16_t generation)
    : prefix_(std::move(prefix)),
      sender_(sender_index),
      generation_(generation),
      classes_(kClassCount),
      class_cursor_(kClassCount, 0) {}

Pool::~Pool() = default;

Result<WritableSample> Pool::allocate(size_t data_len, size_t metadata_reserve) {
    const size_t header_size = sample_header_size();
    const size_t needed = header_size + align64(data_len) + metadata_reserve;
    auto cls_and_size = size_class(needed);
    if (!cls_and_size) {
        return fail("a sample of {} bytes is larger than dora supports", data_len);
    }
    auto [cls, segment_size] = *cls_and_size;
    auto& list = classes_[cls];
    std::optional<uint32_t> found;
    // Round-robin from the last hit: the oldest samples are the likeliest to be free again.
    for (size_t n = 0; n < list.size(); ++n) {
        size_t i = (class_cursor_[cls] + n) % list.size();
        auto* header = segments_[list[i]].segment->as<SampleHeader>();
        if (header->refcount.load(std::memory_order_acquire) == 0) {
            found = list[i];
            class_cursor_[cls] = i + 1;
            break;
        }
    }
    if (!found) {
        if (list.size() >= class_limit_) {
            return fail(
                "all {} samples of up to {} bytes of the output pool are in use, and that is "
                "its limit: its receivers keep samples they got (besides what their queues and "
                "the sends to other machines hold); a receiver must release each input once "
                "processed (drop the event or its data)",
                list.size(), segment_size - header_size);
        }
        if (segments_.size() >= kMaxSegmentsPerPool) {
            return fail(
                "the output pool holds {} samples that receivers have not released; a "
                "receiver keeps every sample it gets: release samples once processed",
                segments_.size());
        }
        auto index = static_cast<uint32_t>(segments_.size());
        auto segment = Segment::create(segment_name(prefix_, generation_, index), segment_size);
        if (!segment) {
            return fail(segment.error());
        }
        auto* header = new (segment->data()) SampleHeader();
        header->magic = kSampleMagic;
        header->capacity = segment_size - header_size;
        segments_.push_back(Slot{std::make_shared<Segment>(std::move(*segment)), index});
        list.push_back(index);
        found = index;
    }
    Slot& slot = segments_[*found];
    slot.allocated_at = ++allocations_;
    slot.pages_freed = false;
    auto* header = slot.segment->as<SampleHeader>();
    header->refcount.store(1, std::memory_order_relaxed);  // held by the writer
    WritableSample sample;
    sample.mapping_ = slot.segment;
    sample.header_ = header;
    sample.data_ = slot.segment->data() + header_size;
    sample.data_len_ = data_len;
    sample.segment_size_ = slot.segment->size();
    sample.segment_ = *found;
    return sample;
}

Result<Entry> Pool::publish(WritableSample&& sample, std::span<const std::byte> metadata,
                            uint32_t receivers, uint64_t time_ns) {
    // Taken over first: whatever happens below, the caller's sample is empty afterwards.
    WritableSample taken = std::move(sample);
    if (!taken.valid()) {
        return fail("publishing an empty sample (already sent, or never allocated)");
    }
    if (metadata.size() > taken.metadata_capacity()) {
        return fail("metadata of {} bytes does not fit the sample", metadata.size());
    }
    SampleHeader* header = taken.header_;
    const size_t meta_offset = sample_header_size() + align64(taken.data_len_);
    if (!metadata.empty()) {
        std::memcpy(taken.segment_base() + meta_offset, metadata.data(), metadata.size());
    }
    header->data_len = taken.data_len_;
    header->metadata_offset = meta_offset;
    header->metadata_len = metadata.size();
    header->sequence = ++sequence_;
    header->refcount.store(receivers, std::memory_order_release);
    Entry entry;
    entry.kind = EntryKind::kSample;
    entry.sender = sender_;
    entry.generation = generation_;
    entry.segment = taken.segment_;
    entry.time_ns = time_ns;
    taken.forget();  // the receivers hold it now
    return entry;
}

void Pool::abandon(WritableSample&& sample) {
    WritableSample taken = std::move(sample);
    taken.abandon();
}

void Pool::release(const Entry& entry) {
    if (entry.kind != EntryKind::kSample || entry.sender != sender_ ||
        entry.generation != generation_ || entry.segment >= segments_.size()) {
        return;
    }
    segments_[entry.segment].segment->as<SampleHeader>()->refcount.fetch_sub(
        1, std::memory_order_acq_rel);
}

size_t Pool::free_idle(size_t min_size) {
    size_t freed = 0;
    for (auto& slot : segments_) {
        const Segment& segment = *slot.segment;
        if (slot.pages_freed || segment.size() < min_size ||
            slot.allocated_at > allocations_at_free_idle_ ||
            segment.as<SampleHeader>()->refcount.load(std::memory_order_acquire) != 0) {
            continue;
        }
        // The header page stays: receivers read the reference count and magic in it.
        if (segment.free_pages_from(sample_header_size())) {
            slot.pages_freed = true;
            freed += segment.size() - sample_header_size();
        }
    }
    allocations_at_free_idle_ = allocations_;
    return freed;
}

void Pool::unlink_all() {
    for (auto& slot : segments_) {
        // Nothing to handle: unlink_segment counts a name that is already gone (swept by the
        // daemon's remove_segments_with_prefix) as success, and the only other failures, EACCES
        // or EPERM on a name this process created, need someone to change /dev/shm under us; the
        // name is then left to the daemon's sweeps (remove_segments_with_prefix at the end of the
        // dataflow, remove_stale_segments at start).
        (void)unlink_segment(slot.segment->name());
    }
}

Result<SampleView> SampleView::validate(const Segment& segment) {
    const size_t size = segment.size();
    const size_t header_size = sample_header_size();
    if (size < header_size) {
        return fail("sample segment {} is too small", segment.name());
    }
    auto* header = segment.as<SampleHeader>();
    // Copy each field once: the sender could change them while we look.
    const uint32_t magic = header->magic;
    const uint64_t data_len = header->data_len;
    const uint64_t meta_offset = header->metadata_offset;
    const uint64_t meta_len = header->metadata_len;
    if (magic != kSampleMagic) {
        return fail("sample segment {} has a bad magic number", segment.name());
    }
    if (data_len > size - header_size || meta_offset > size || meta_len > size - meta_offset ||
        meta_offset < header_size + data_len) {
        return fail(
            "sample segment {} has lengths outside the segment (data {}, metadata {}+{}, "
            "segment {})",
            segment.name(), data_len, meta_offset, meta_len, size);
    }
    SampleView view;
    view.data = segment.data() + header_size;
    view.data_len = data_len;
    view.metadata = segment.data() + meta_offset;
    view.metadata_len = meta_len;
    view.refcount = &header->refcount;
    return view;
}

SegmentCache::SegmentCache(std::map<uint16_t, std::string> sender_prefixes)
    : prefixes_(std::move(sender_prefixes)) {}

SegmentCache::~SegmentCache() = default;

void SegmentCache::add_sender(uint16_t index, std::string prefix) {
    prefixes_[index] = std::move(prefix);
}

Result<SegmentCache::Cached*> SegmentCache::segment(const Entry& entry) {
    const uint32_t key = (uint32_t{entry.sender} << 16) | entry.generation;
    if (key != last_key_) {
        last_ = &segments_[key];  // std::map: pointers stay valid as entries are added
        last_key_ = key;
    }
    std::vector<std::unique_ptr<Cached>>& by_index = *last_;
    if (entry.segment < by_index.size() && by_index[entry.segment] != nullptr) {
        Cached& cached = *by_index[entry.segment];
        cached.used = true;
        return &cached;
    }
    if (entry.segment >= kMaxSegmentsPerPool) {
        return fail("a sample names segment {} of sender {}, beyond the pool limit of {}",
                    entry.segment, entry.sender, kMaxSegmentsPerPool);
    }
    auto prefix = prefixes_.find(entry.sender);
    if (prefix == prefixes_.end()) {
        return fail("a sample came from unknown sender {}", entry.sender);
    }
    // The header page read-write (release() decrements its count), the payload read-only.
    auto segment = Segment::open_with_writable_head(
        Pool::segment_name(prefix->second, entry.generation, entry.segment), sample_header_size());
    if (!segment) {
        return fail(segment.error());
    }
    if (entry.segment >= by_index.size()) {
        by_index.resize(entry.segment + 1);
    }
    auto cached = std::make_unique<Cached>();
    cached->segment = std::move(*segment);
    cached->used = true;
    by_index[entry.segment] = std::move(cached);
    return by_index[entry.segment].get();
}

void SegmentCache::drop_pages(Cached& cached) {
    cached.segment.unmap_pages_from(sample_header_size());
    resident_bytes_ -= cached.segment.size() - sample_header_size();
    lru_.erase(cached.lru);
    cached.resident = false;
}

void SegmentCache::touch(Cached& cached) {
    if (cached.resident) {
        lru_.splice(lru_.end(), lru_, cached.lru);
    } else {
        cached.lru = lru_.insert(lru_.end(), &cached);
        cached.resident = true;
        resident_bytes_ += cached.segment.size() - sample_header_size();
    }
    // Least recently viewed first; held segments (and the one just viewed) go to the back and
    // are passed over, each at most once per call.
    for (size_t n = lru_.size(); resident_bytes_ > budget_ && n > 0; --n) {
        Cached* oldest = lru_.front();
        if (oldest == &cached || oldest->holds.load(std::memory_order_acquire) != 0) {
            lru_.splice(lru_.end(), lru_, lru_.begin());
            continue;
        }
        drop_pages(*oldest);
    }
}

void SegmentCache::set_resident_budget(size_t bytes) {
    budget_ = bytes;
    for (size_t n = lru_.size(); resident_bytes_ > budget_ && n > 0; --n) {
        Cached* oldest = lru_.front();
        if (oldest->holds.load(std::memory_order_acquire) != 0) {
            lru_.splice(lru_.end(), lru_, lru_.begin());
            continue;
        }
        drop_pages(*oldest);
    }
}

size_t SegmentCache::held_resident_bytes() const {
    size_t held = 0;
    for (const Cached* cached : lru_) {
        if (cached->holds.load(std::memory_order_acquire) != 0) {
            held += cached->segment.size() - sample_header_size();
        }
    }
    return held;
}

size_t SegmentCache::unmap_idle(size_t min_size) {
    size_t unmapped = 0;
    for (auto& [key, by_index] : segments_) {
        for (auto& cached : by_index) {
            if (cached == nullptr) {
                continue;
            }
            if (cached->used) {
                cached->used = false;
                continue;
            }
            if (!cached->resident || cached->segment.size() < min_size ||
                cached->holds.load(std::memory_order_acquire) != 0) {
                continue;
            }
            unmapped += cached->segment.size() - sample_header_size();
            drop_pages(*cached);
        }
    }
    return unmapped;
}

Result<SampleView> SegmentCache::view(const Entry& entry) {
    auto cached = this->segment(entry);
    if (!cached) {
        return fail(cached.error());
    }
    auto view = SampleView::validate((*cached)->segment);
    if (view) {
        touch(**cached);
    }
    return view;
}

Result<SegmentCache::HeldView> SegmentCache::view_held(const Entry& entry) {
    auto cached = this->segment(entry);
    if (!cached) {
        return fail(cached.error());
    }
    auto view = SampleView::validate((*cached)->segment);
    if (!view) {
        return fail(view.error());
    }
    (*cached)->holds.fetch_add(1, std::memory_order_relaxed);
    touch(**cached);
    return HeldView{*view, &(*cached)->holds};
}

void SegmentCache::release(const Entry& entry) {
    if (entry.kind != EntryKind::kSample) {
        return;
    }
    auto cached = this->segment(entry);
    if (cached && (*cached)->segment.size() >= sample_header_size()) {
        (*cached)->segment.as<SampleHeader>()->refcount.fetch_sub(1, std::memory_order_acq_rel);
    }
}

}  // namespace dora::shm
