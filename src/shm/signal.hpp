// A wake-up signal that lives in shared memory: producers bump a sequence number after they
// publish something; one consumer waits for the number to change, spinning briefly and then
// sleeping on a futex. Producers only make the wake syscall when the consumer is asleep.
//
// Thread safety: any number of producers (threads or processes) may call notify(); exactly one
// consumer may call wait(). The struct is plain data (atomics) and may be placed in shared memory.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace dora::shm {

struct Signal {
    std::atomic<uint32_t> seq{0};
    std::atomic<uint32_t> sleepers{0};

    // Publishes a change and wakes the consumer if it sleeps.
    void notify();

    // The sequence number to pass to wait() later; read it BEFORE checking for work.
    [[nodiscard]] uint32_t current() const { return seq.load(std::memory_order_acquire); }

    // Waits until seq != seen or the deadline passes (std::nullopt: forever). Spins up to
    // `spin` first. Returns false on timeout.
    bool wait(uint32_t seen, std::optional<std::chrono::steady_clock::time_point> deadline,
              std::chrono::nanoseconds spin);
};

static_assert(std::atomic<uint32_t>::is_always_lock_free);

}  // namespace dora::shm
