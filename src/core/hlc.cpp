#include "core/hlc.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace dora {

std::string to_string(const Timestamp& timestamp) {
    std::string out = fmt::format("{}.{:09}/", timestamp.time_ns / 1'000'000'000,
                                  timestamp.time_ns % 1'000'000'000);
    for (uint8_t byte : timestamp.id) {
        out += fmt::format("{:02x}", byte);
    }
    return out;
}

HlcClock::HlcClock() : HlcClock(random_id(), &HlcClock::system_time_ns) {}

HlcClock::HlcClock(HlcId id, PhysicalClock physical, std::chrono::nanoseconds max_drift)
    : id_(id),
      physical_(std::move(physical)),
      max_drift_ns_(static_cast<uint64_t>(std::max<int64_t>(0, max_drift.count()))) {}

Timestamp HlcClock::now() {
    const uint64_t physical = physical_();
    uint64_t last = last_.load(std::memory_order_relaxed);
    uint64_t next = 0;
    do {
        next = std::max(physical, last + 1);
    } while (!last_.compare_exchange_weak(last, next, std::memory_order_relaxed));
    return Timestamp{next, id_};
}

Result<> HlcClock::update(const Timestamp& remote) {
    const uint64_t physical = physical_();
    if (remote.time_ns > physical && remote.time_ns - physical > max_drift_ns_) {
        return fail(
            "hlc: timestamp {} from another clock is {} ms ahead of the local clock (allowed: {} "
            "ms); check that the machines' clocks are synchronised (NTP)",
            to_string(remote), (remote.time_ns - physical) / 1'000'000, max_drift_ns_ / 1'000'000);
    }
    uint64_t last = last_.load(std::memory_order_relaxed);
    while (remote.time_ns > last &&
           !last_.compare_exchange_weak(last, remote.time_ns, std::memory_order_relaxed)) {
    }
    return {};
}

uint64_t HlcClock::system_time_ns() {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    return static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

HlcId HlcClock::random_id() {
    std::random_device device;
    HlcId id{};
    for (size_t i = 0; i < id.size(); i += 4) {
        const uint32_t word = device();
        for (size_t j = 0; j < 4; ++j) {
            id[i + j] = static_cast<uint8_t>(word >> (8 * j));
        }
    }
    return id;
}

}  // namespace dora
