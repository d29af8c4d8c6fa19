#include "shm/signal.hpp"

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

namespace dora::shm {

namespace {

// Shared (not FUTEX_PRIVATE) futexes: the word is mapped by several processes.
long futex(std::atomic<uint32_t>* word, int op, uint32_t value, const timespec* timeout) {
    return ::syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), op, value, timeout, nullptr, 0);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

}  // namespace

void Signal::notify() {
    seq.fetch_add(1, std::memory_order_seq_cst);
    if (sleepers.load(std::memory_order_seq_cst) != 0) {
        futex(&seq, FUTEX_WAKE, 1, nullptr);
    }
}

bool Signal::wait(uint32_t seen, std::optional<std::chrono::steady_clock::time_point> deadline,
                  std::chrono::nanoseconds spin) {
    using Clock = std::chrono::steady_clock;
    if (seq.load(std::memory_order_acquire) != seen) {
        return true;
    }
    auto start = Clock::now();
    auto spin_until = start + spin;
    if (deadline && *deadline < spin_until) {
        spin_until = *deadline;
    }
    // Check the clock only every few iterations: it costs ~20 ns.
    for (uint32_t i = 0;; ++i) {
        if (seq.load(std::memory_order_acquire) != seen) {
            return true;
        }
        cpu_relax();
        if ((i & 63) == 63) {
            if (Clock::now() >= spin_until) {
                break;
            }
            // The producer may be waiting for this very CPU (2 cores, busy machine): let it run.
            ::sched_yield();
        }
    }
    for (;;) {
        timespec ts{};
        const timespec* timeout = nullptr;
        if (deadline) {
            auto now = Clock::now();
            if (now >= *deadline) {
                return seq.load(std::memory_order_acquire) != seen;
            }
            auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(*deadline - now);
            ts.tv_sec = static_cast<time_t>(left.count() / 1'000'000'000);
            ts.tv_nsec = static_cast<long>(left.count() % 1'000'000'000);
            timeout = &ts;
        }
        sleepers.fetch_add(1, std::memory_order_seq_cst);
        // The producer bumps seq before it reads sleepers: if seq already moved, the futex call
        // returns EAGAIN at once; otherwise the producer sees sleepers != 0 and wakes us.
        if (seq.load(std::memory_order_seq_cst) == seen) {
            futex(&seq, FUTEX_WAIT, seen, timeout);
        }
        sleepers.fetch_sub(1, std::memory_order_seq_cst);
        if (seq.load(std::memory_order_acquire) != seen) {
            return true;
        }
    }
}

}  // namespace dora::shm
