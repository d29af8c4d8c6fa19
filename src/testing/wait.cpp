#include "testing/wait.hpp"

#include <algorithm>
#include <thread>

namespace dora::testing {

bool wait_until(const std::function<bool()>& condition, Clock::time_point deadline,
                std::chrono::milliseconds interval) {
    while (!condition()) {
        auto now = Clock::now();
        if (now >= deadline) {
            return condition();
        }
        std::this_thread::sleep_for(
            std::min<Clock::duration>(interval, deadline - now));  // a poll, not a fixed wait
    }
    return true;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
    return wait_until(condition, Clock::now() + timeout, interval);
}

}  // namespace dora::testing
