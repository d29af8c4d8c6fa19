#include "shm/ring.hpp"

#include <time.h>

#include <new>

namespace dora::shm {

uint64_t send_time_ns() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t Entry::pack() const {
    return (static_cast<uint64_t>(kind) << 60) | (static_cast<uint64_t>(generation & 0xfff) << 48) |
           (static_cast<uint64_t>(sender) << 32) | segment;
}

Entry Entry::unpack(uint64_t word, uint64_t time) {
    Entry e;
    e.kind = static_cast<EntryKind>(word >> 60);
    e.generation = static_cast<uint16_t>((word >> 48) & 0xfff);
    e.sender = static_cast<uint16_t>((word >> 32) & 0xffff);
    e.segment = static_cast<uint32_t>(word & 0xffffffffu);
    e.time_ns = time;
    return e;
}

size_t Ring::bytes_for(uint32_t capacity) {
    size_t bytes = sizeof(RingHeader) + sizeof(RingSlot) * capacity;
    return (bytes + 63) & ~size_t{63};
}

Ring Ring::init(void* memory, uint32_t capacity) {
    auto* header = new (memory) RingHeader();
    header->capacity = capacity;
    auto* slots = reinterpret_cast<RingSlot*>(header + 1);
    for (uint32_t i = 0; i < capacity; ++i) {
        new (&slots[i]) RingSlot();
    }
    return Ring(header, slots);
}

Ring Ring::at(void* memory) {
    auto* header = static_cast<RingHeader*>(memory);
    return Ring(header, reinterpret_cast<RingSlot*>(header + 1));
}

std::optional<Entry> Ring::push(const Entry& entry) {
    if (consumer_gone() || unwatched()) {
        return entry;
    }
    const uint64_t cap = header_->capacity;
    const uint64_t t = header_->tail.load(std::memory_order_relaxed);
    std::optional<Entry> dropped;
    for (;;) {
        uint64_t h = header_->head.load(std::memory_order_acquire);
        if (t - h < cap) {
            break;
        }
        // Full: take the oldest entry away from the consumer, if it does not take it first.
        const RingSlot& slot = slots_[h % cap];
        uint64_t word = slot.word.load(std::memory_order_relaxed);
        uint64_t time = slot.time_ns.load(std::memory_order_relaxed);
        if (header_->head.compare_exchange_strong(h, h + 1, std::memory_order_acq_rel)) {
            dropped = Entry::unpack(word, time);
            header_->dropped.fetch_add(1, std::memory_order_relaxed);
            break;
        }
    }
    store(t, entry);
    return dropped;
}

void Ring::store(uint64_t t, const Entry& entry) {
    RingSlot& slot = slots_[t % header_->capacity];
    slot.word.store(entry.pack(), std::memory_order_relaxed);
    slot.time_ns.store(entry.time_ns, std::memory_order_relaxed);
    header_->last_push_ns.store(entry.time_ns, std::memory_order_relaxed);
    header_->tail.store(t + 1, std::memory_order_release);
    header_->pushed.fetch_add(1, std::memory_order_relaxed);
}

PushResult Ring::try_push(const Entry& entry) {
    if (consumer_gone() || unwatched()) {
        return PushResult::kConsumerGone;
    }
    const uint64_t t = header_->tail.load(std::memory_order_relaxed);
    if (t - header_->head.load(std::memory_order_acquire) >= header_->capacity) {
        return PushResult::kFull;
    }
    store(t, entry);
    return PushResult::kPushed;
}

bool Ring::wait_for_space(uint32_t seen, std::chrono::steady_clock::time_point deadline) {
    // No spinning: the consumer is by definition behind, and spinning would take its CPU.
    return header_->space.wait(seen, deadline, std::chrono::nanoseconds::zero());
}

std::optional<Entry> Ring::pop() {
    const uint64_t cap = header_->capacity;
    for (;;) {
        uint64_t h = header_->head.load(std::memory_order_acquire);
        uint64_t t = header_->tail.load(std::memory_order_acquire);
        if (h >= t) {
            return std::nullopt;
        }
        const RingSlot& slot = slots_[h % cap];
        uint64_t word = slot.word.load(std::memory_order_relaxed);
        uint64_t time = slot.time_ns.load(std::memory_order_relaxed);
        // Winning the CAS proves the producer had not reused this slot: it only overwrites slot
        // h after head has moved past h.
        if (header_->head.compare_exchange_strong(h, h + 1, std::memory_order_acq_rel)) {
            if (header_->backpressure != 0) {
                header_->space.notify();  // a syscall only when the producer sleeps
            }
            return Entry::unpack(word, time);
        }
    }
}

std::optional<uint64_t> Ring::peek_time() const {
    uint64_t h = header_->head.load(std::memory_order_acquire);
    uint64_t t = header_->tail.load(std::memory_order_acquire);
    if (h >= t) {
        return std::nullopt;
    }
    return slots_[h % header_->capacity].time_ns.load(std::memory_order_relaxed);
}

bool Ring::empty() const {
    return header_->head.load(std::memory_order_acquire) >=
           header_->tail.load(std::memory_order_acquire);
}

}  // namespace dora::shm
