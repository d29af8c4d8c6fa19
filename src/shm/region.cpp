#include "shm/region.hpp"

#include <new>
#include <vector>

namespace dora::shm {

namespace {

size_t align64(size_t n) { return (n + 63) & ~size_t{63}; }

}  // namespace

int64_t LeaseTable::add(uint64_t packed_entry) {
    if (capacity_ == 0) {
        return -1;
    }
    uint32_t start = hint_->load(std::memory_order_relaxed) % capacity_;
    for (uint32_t n = 0; n < capacity_; ++n) {
        uint32_t i = (start + n) % capacity_;
        if (slots_[i].load(std::memory_order_relaxed) == 0) {
            slots_[i].store(packed_entry, std::memory_order_release);
            hint_->store(i + 1, std::memory_order_relaxed);
            return i;
        }
    }
    return -1;
}

void LeaseTable::remove(int64_t index) {
    if (index >= 0 && static_cast<uint64_t>(index) < capacity_) {
        slots_[index].store(0, std::memory_order_release);
        hint_->store(static_cast<uint32_t>(index), std::memory_order_relaxed);
    }
}

void LeaseTable::clear() {
    for (uint32_t i = 0; i < capacity_; ++i) {
        slots_[i].store(0, std::memory_order_release);
    }
}

Result<Region> Region::create(std::string_view name, std::span<const uint32_t> capacities,
                              uint32_t lease_capacity, bool egress) {
    if (!egress && capacities.size() > kMaxInputs) {
        return fail("a node may have at most {} inputs, got {}", kMaxInputs, capacities.size());
    }
    if (capacities.size() > kMaxRegionRings) {
        return fail("the nodes of one machine may have at most {} outputs in all, got {}",
                    kMaxRegionRings, capacities.size());
    }
    size_t offset = align64(sizeof(RegionHeader) + sizeof(uint64_t) * capacities.size());
    std::vector<uint64_t> offsets;
    for (uint32_t cap : capacities) {
        if (cap == 0 || cap > kMaxQueueSize) {
            return fail("queue size {} is out of range (1..{})", cap, kMaxQueueSize);
        }
        offsets.push_back(offset);
        offset += Ring::bytes_for(cap);
    }
    size_t lease_offset = offset;
    offset += align64(sizeof(std::atomic<uint64_t>) * lease_capacity);

    auto segment = Segment::create(name, offset);
    if (!segment) {
        return fail(segment.error());
    }
    auto* header = new (segment->data()) RegionHeader();
    header->magic = kRegionMagic;
    header->version = kRegionVersion;
    header->input_count = static_cast<uint32_t>(capacities.size());
    header->lease_capacity = lease_capacity;
    header->lease_offset = lease_offset;
    header->total_size = offset;
    auto* table = reinterpret_cast<uint64_t*>(segment->data() + sizeof(RegionHeader));
    for (size_t i = 0; i < offsets.size(); ++i) {
        table[i] = offsets[i];
        Ring::init(segment->data() + offsets[i], capacities[i]);
    }
    auto* leases = reinterpret_cast<std::atomic<uint64_t>*>(segment->data() + lease_offset);
    for (uint32_t i = 0; i < lease_capacity; ++i) {
        new (&leases[i]) std::atomic<uint64_t>(0);
    }
    return Region(std::move(*segment));
}

Result<Region> Region::open(std::string_view name) {
    auto segment = Segment::open(name, true);
    if (!segment) {
        return fail(segment.error());
    }
    const size_t size = segment->size();
    if (size < sizeof(RegionHeader)) {
        return fail("shared memory {} is too small to be a dora node region", name);
    }
    const auto* header = segment->as<RegionHeader>();
    if (header->magic != kRegionMagic || header->version != kRegionVersion) {
        return fail(
            "shared memory {} is not a dora node region of version {} (magic {:#x}, "
            "version {}): the node and its daemon come from different dora builds",
            name, kRegionVersion, header->magic, header->version);
    }
    if (header->input_count > kMaxRegionRings || header->total_size != size ||
        header->lease_offset + sizeof(uint64_t) * uint64_t{header->lease_capacity} > size) {
        return fail("shared memory {} has an inconsistent layout", name);
    }
    // Only the offsets table is read here: a daemon's egress region has a ring per output of its
    // nodes, and each node uses a few of them (checked_ring), so touching every ring's page in
    // every node would cost nodes x rings page faults.
    if (sizeof(RegionHeader) + sizeof(uint64_t) * uint64_t{header->input_count} > size) {
        return fail("shared memory {} has an inconsistent layout", name);
    }
    const auto* offsets = reinterpret_cast<const uint64_t*>(segment->data() + sizeof(RegionHeader));
    for (uint32_t i = 0; i < header->input_count; ++i) {
        if (offsets[i] % 64 != 0 || offsets[i] > size || size - offsets[i] < sizeof(RingHeader)) {
            return fail("shared memory {}: ring {} lies outside the region", name, i);
        }
    }
    return Region(std::move(*segment));
}

Result<Ring> Region::checked_ring(uint32_t input) const {
    if (input >= input_count()) {
        return fail("queue {} does not exist: the region has {}", input, input_count());
    }
    const uint64_t offset = ring_offsets()[input];
    const auto* header = reinterpret_cast<const RingHeader*>(segment_.data() + offset);
    if (header->capacity == 0 || header->capacity > kMaxQueueSize ||
        offset + Ring::bytes_for(header->capacity) > segment_.size()) {
        return fail("queue {} lies outside its shared memory region", input);
    }
    return ring(input);
}

Ring Region::ring(uint32_t input) const {
    return Ring::at(segment_.data() + ring_offsets()[input]);
}

LeaseTable Region::leases() const {
    auto* h = header();
    return LeaseTable(reinterpret_cast<std::atomic<uint64_t>*>(segment_.data() + h->lease_offset),
                      h->lease_capacity, &h->lease_hint);
}

void Region::request_stop(StopReason reason) {
    uint32_t expected = 0;
    header()->stop.compare_exchange_strong(expected, static_cast<uint32_t>(reason));
    header()->signal.notify();
}

}  // namespace dora::shm
