// Hybrid logical clock (HLC), as dora's uhlc: every message carries a Timestamp that is unique
// per clock, monotonic per clock, and never behind any timestamp the clock has seen through
// update(). Time is nanoseconds since the UNIX epoch; when the physical clock has not moved (or
// moved back), the logical part is carried in the low bits by incrementing the last value by one
// nanosecond, so timestamps stay plain, comparable integers.
//
// A remote timestamp more than `max_drift` ahead of the local physical clock is rejected by
// update(): it usually means a wrong clock on the peer, and accepting it would drag every later
// local timestamp into the future.
//
// Thread safety: HlcClock::now() and update() may be called concurrently from any thread; the
// state is one atomic. The physical clock function must itself be thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>

#include "core/error.hpp"

namespace dora {

// Identifies the clock that produced a timestamp; ties on time_ns are broken by it.
using HlcId = std::array<uint8_t, 16>;

struct Timestamp {
    uint64_t time_ns = 0;  // nanoseconds since the UNIX epoch (physical + logical part)
    HlcId id{};

    friend auto operator<=>(const Timestamp&, const Timestamp&) = default;
    friend bool operator==(const Timestamp&, const Timestamp&) = default;
};

// "<seconds>.<nanoseconds>/<id hex>", for logs.
[[nodiscard]] std::string to_string(const Timestamp& timestamp);

class HlcClock {
  public:
    // Returns nanoseconds since the UNIX epoch. Injectable so tests can use a fake clock.
    using PhysicalClock = std::function<uint64_t()>;

    static constexpr std::chrono::nanoseconds kDefaultMaxDrift = std::chrono::milliseconds(500);

    // A clock with a random id reading the system clock.
    HlcClock();
    HlcClock(HlcId id, PhysicalClock physical,
             std::chrono::nanoseconds max_drift = kDefaultMaxDrift);

    HlcClock(const HlcClock&) = delete;
    HlcClock& operator=(const HlcClock&) = delete;

    // A new timestamp, strictly greater than every timestamp returned before and every one
    // accepted by update().
    [[nodiscard]] Timestamp now();

    // Moves the clock forward to `remote` if it is ahead. Fails (and changes nothing) if `remote`
    // is more than the max drift ahead of the physical clock.
    [[nodiscard]] Result<> update(const Timestamp& remote);

    [[nodiscard]] const HlcId& id() const { return id_; }

    // The system clock (CLOCK_REALTIME) in nanoseconds since the UNIX epoch.
    [[nodiscard]] static uint64_t system_time_ns();

    // 16 random bytes.
    [[nodiscard]] static HlcId random_id();

  private:
    HlcId id_;
    PhysicalClock physical_;
    uint64_t max_drift_ns_;
    std::atomic<uint64_t> last_{0};  // the largest time_ns issued or accepted
};

}  // namespace dora
