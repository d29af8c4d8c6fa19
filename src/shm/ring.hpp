// The bounded queue of one input, in shared memory: one producer, one consumer, and when full
// the producer drops the OLDEST entry (dora's queue_size semantics) and counts the drop, unless
// the ring has backpressure (dora 1.x `queue_policy: backpressure`): then the producer uses
// try_push and waits for space (wait_for_space), which the consumer signals after each pop.
//
// Two more fields serve `input_timeout`: every push stamps `last_push_ns`, and the daemon sets
// `timed_out` when the input went quiet for too long; the consumer clears it when it reopens.
//
// A ring can be unwatched (the daemon's egress rings of outputs that only watchers may want, see
// daemon/egress.hpp): while the flag is set, producers queue nothing there (push returns the entry
// to be released, as for a gone consumer) and count nothing, neither pushed nor dropped.
//
// Both sides advance `head` with compare-and-swap, so the consumer and a producer that is
// dropping can never both take the same entry: whoever wins the CAS owns it. Only the producer
// writes entries and `tail`. Entries are two 64-bit words written and read atomically (relaxed);
// `tail` is published with release and read with acquire.
//
// Thread safety: exactly one producer and one consumer at a time (processes or threads); `close`
// and `abandon` may be called by a third party (the daemon) after the producer or consumer died.
// The struct is plain data and is placed in shared memory by shm::Region.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "shm/signal.hpp"

namespace dora::shm {

enum class EntryKind : uint8_t {
    kEmpty = 0,
    kSample = 1,  // a sample in a sender's pool segment: sender, generation, segment
    kTimer = 2,   // a tick, no data
    kNotice = 3,  // from the daemon about this input, no data: `segment` holds a Notice
};

// What a kNotice entry says.
enum class Notice : uint32_t {
    // The input's producer runs on another machine that this one lost the link to: what it
    // sends meanwhile is lost; data resumes if the link heals.
    kProducerUnreachable = 1,
};

// CLOCK_MONOTONIC now, in ns: the `time_ns` every producer stamps on the entries it pushes (one
// clock for all processes of a machine, so a consumer can order entries of different rings).
[[nodiscard]] uint64_t send_time_ns();

// What travels through a ring. `time_ns` is the CLOCK_MONOTONIC time of sending, used to deliver
// inputs of one node in sending order.
struct Entry {
    EntryKind kind = EntryKind::kEmpty;
    uint16_t sender = 0;      // index of the sending pool in the dataflow
    uint16_t generation = 0;  // incarnation of the sender (restarts), 12 bits
    uint32_t segment = 0;     // segment index in the sender's pool
    uint64_t time_ns = 0;

    [[nodiscard]] uint64_t pack() const;
    [[nodiscard]] static Entry unpack(uint64_t word, uint64_t time_ns);
    bool operator==(const Entry&) const = default;
};

struct RingSlot {
    std::atomic<uint64_t> word{0};
    std::atomic<uint64_t> time_ns{0};
};

struct RingHeader {
    uint32_t capacity = 0;                   // entries; set once by the creator
    std::atomic<uint32_t> closed{0};         // the producer is done (or died)
    std::atomic<uint32_t> consumer_gone{0};  // the consumer died: the producer stops pushing
    uint32_t backpressure = 0;           // set once before use: a full ring makes the producer wait
    std::atomic<uint32_t> unwatched{0};  // set by the daemon: producers skip this ring
    alignas(64) std::atomic<uint64_t> head{0};  // next entry to consume
    alignas(64) std::atomic<uint64_t> tail{0};  // next entry to write
    std::atomic<uint64_t> dropped{0};           // entries dropped because the ring was full
    std::atomic<uint64_t> pushed{0};
    std::atomic<uint64_t> last_push_ns{0};  // send_time_ns() of the last push (input_timeout)
    std::atomic<uint64_t> waits{0};         // pushes that found the ring full and waited
    std::atomic<uint64_t> waited_ns{0};     // time producers spent waiting for space
    std::atomic<uint32_t> timed_out{
        0};                    // input_timeout: set by the daemon, cleared by the consumer
    alignas(64) Signal space;  // consumer -> a producer waiting for space
};

enum class PushResult { kPushed, kFull, kConsumerGone };

// A view of one ring in mapped memory.
class Ring {
  public:
    Ring() = default;
    Ring(RingHeader* header, RingSlot* slots) : header_(header), slots_(slots) {}

    [[nodiscard]] static size_t bytes_for(uint32_t capacity);
    // Lays out a ring at `memory` (bytes_for(capacity) bytes, 64-aligned, zeroed).
    static Ring init(void* memory, uint32_t capacity);
    static Ring at(void* memory);

    // Producer: appends `entry`; when full, first drops the oldest entry and returns it so the
    // caller can release what it references. Returns nothing-dropped as std::nullopt.
    // When the consumer is gone or the ring is unwatched, the entry is not queued and is returned
    // to be released.
    [[nodiscard]] std::optional<Entry> push(const Entry& entry);

    // Producer: appends `entry` only if there is room (never drops). kConsumerGone (also when
    // unwatched): not queued, release it.
    [[nodiscard]] PushResult try_push(const Entry& entry);
    // Producer of a backpressure ring: the value to pass to wait_for_space, read BEFORE try_push.
    [[nodiscard]] uint32_t space_seq() const { return header_->space.current(); }
    // Producer of a backpressure ring: waits until the consumer took an entry (or the consumer is
    // gone) since space_seq() returned `seen`, or until `deadline`. False on timeout.
    bool wait_for_space(uint32_t seen, std::chrono::steady_clock::time_point deadline);
    // Producer: records that a push waited `ns` for space.
    void count_wait(uint64_t ns) {
        header_->waits.fetch_add(1, std::memory_order_relaxed);
        header_->waited_ns.fetch_add(ns, std::memory_order_relaxed);
    }

    // Consumer: takes the oldest entry, if any.
    [[nodiscard]] std::optional<Entry> pop();
    // Consumer: the sending time of the oldest entry, without taking it.
    [[nodiscard]] std::optional<uint64_t> peek_time() const;

    [[nodiscard]] bool empty() const;
    [[nodiscard]] uint32_t capacity() const { return header_->capacity; }
    [[nodiscard]] uint64_t dropped() const {
        return header_->dropped.load(std::memory_order_relaxed);
    }
    [[nodiscard]] uint64_t pushed() const {
        return header_->pushed.load(std::memory_order_relaxed);
    }
    // Entries waiting now: a snapshot for statistics (either side may move meanwhile).
    [[nodiscard]] uint64_t queued() const {
        const uint64_t head = header_->head.load(std::memory_order_acquire);
        const uint64_t tail = header_->tail.load(std::memory_order_acquire);
        return tail > head ? tail - head : 0;
    }
    [[nodiscard]] bool closed() const {
        return header_->closed.load(std::memory_order_acquire) != 0;
    }
    [[nodiscard]] bool consumer_gone() const {
        return header_->consumer_gone.load(std::memory_order_acquire) != 0;
    }

    // Whether producers skip this ring now (the daemon switches it; see the header comment).
    [[nodiscard]] bool unwatched() const {
        return header_->unwatched.load(std::memory_order_relaxed) != 0;
    }
    void set_unwatched(bool on) { header_->unwatched.store(on ? 1 : 0, std::memory_order_relaxed); }

    [[nodiscard]] bool backpressure() const { return header_->backpressure != 0; }
    // Set by the creator before any producer or consumer uses the ring.
    void set_backpressure(bool on) { header_->backpressure = on ? 1 : 0; }
    [[nodiscard]] uint64_t waits() const { return header_->waits.load(std::memory_order_relaxed); }
    [[nodiscard]] uint64_t waited_ns() const {
        return header_->waited_ns.load(std::memory_order_relaxed);
    }
    [[nodiscard]] uint64_t last_push_ns() const {
        return header_->last_push_ns.load(std::memory_order_acquire);
    }
    // input_timeout: the daemon marks the input timed out; the consumer reopens it.
    void set_timed_out() { header_->timed_out.store(1, std::memory_order_release); }
    void clear_timed_out() { header_->timed_out.store(0, std::memory_order_release); }
    [[nodiscard]] bool timed_out() const {
        return header_->timed_out.load(std::memory_order_acquire) != 0;
    }

    void close() { header_->closed.store(1, std::memory_order_release); }
    // Also wakes a producer waiting for space: nothing will be taken any more.
    void mark_consumer_gone() {
        header_->consumer_gone.store(1, std::memory_order_release);
        header_->space.notify();
    }
    // A restarted consumer takes the ring over again (the daemon drained it when the old one died).
    void reset_consumer() { header_->consumer_gone.store(0, std::memory_order_release); }
    // A restarted producer feeds the ring again.
    void reopen() { header_->closed.store(0, std::memory_order_release); }

    [[nodiscard]] bool valid() const { return header_ != nullptr; }

  private:
    void store(uint64_t tail, const Entry& entry);

    RingHeader* header_ = nullptr;
    RingSlot* slots_ = nullptr;
};

}  // namespace dora::shm
