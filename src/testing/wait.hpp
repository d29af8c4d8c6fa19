// Test support: waiting for a condition with a deadline, the only way tests wait (never a fixed
// sleep). The condition is polled: it should be cheap, or the interval made longer.
//
// Thread safety: the functions hold no state; `condition` runs on the calling thread.
#pragma once

#include <chrono>
#include <functional>

namespace dora::testing {

using Clock = std::chrono::steady_clock;

// Polls `condition` every `interval` until it holds or `deadline` passes; returns whether it
// held. It is checked once more at the deadline, so a slow machine is not failed by a late poll.
bool wait_until(const std::function<bool()>& condition, Clock::time_point deadline,
                std::chrono::milliseconds interval = std::chrono::milliseconds(10));

// The same with a timeout from now.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = std::chrono::milliseconds(10));

}  // namespace dora::testing
