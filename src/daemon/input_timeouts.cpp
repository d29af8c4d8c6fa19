#include "daemon/input_timeouts.hpp"

#include <utility>

namespace dora::daemon {

InputTimeouts::InputTimeouts(EventLoop& loop, std::function<shm::Ring(const WatchedInput&)> ring_of,
                             std::function<void(const WatchedInput&)> on_timeout,
                             std::function<bool(const WatchedInput&)> active)
    : loop_(loop),
      ring_of_(std::move(ring_of)),
      on_timeout_(std::move(on_timeout)),
      active_(std::move(active)) {}

void InputTimeouts::start(std::vector<WatchedInput> inputs) {
    inputs_ = std::move(inputs);
    timers_.clear();
    timers_.resize(inputs_.size());
    counts_.assign(inputs_.size(), 0);
    for (size_t i = 0; i < inputs_.size(); ++i) {
        arm(i, inputs_[i].timeout);
    }
}

void InputTimeouts::arm(size_t i, std::chrono::nanoseconds delay) {
    timers_[i] = loop_.add_timer(delay, [this, i] { check(i); });
}

void InputTimeouts::check(size_t i) {
    const WatchedInput& input = inputs_[i];
    if (!active_(input)) {
        return;  // the receiver is gone for good, or the dataflow stops: nothing to watch
    }
    shm::Ring ring = ring_of_(input);
    // Not armed yet (no message so far), already timed out (the node reopens it when data comes),
    // or closed by its producer (INPUT_CLOSED comes from that): look again one timeout later.
    if (ring.pushed() == 0 || ring.timed_out() || ring.closed()) {
        arm(i, input.timeout);
        return;
    }
    const auto now = static_cast<int64_t>(shm::send_time_ns());
    const auto deadline = static_cast<int64_t>(ring.last_push_ns()) + input.timeout.count();
    if (now < deadline) {
        arm(i, std::chrono::nanoseconds(deadline - now));
        return;
    }
    ring.set_timed_out();
    ++counts_[i];
    on_timeout_(input);
    arm(i, input.timeout);
}

}  // namespace dora::daemon
