// dora 1.x `input_timeout`: watches the inputs of this machine's nodes that declare one and, when
// an input that has received a message then stays quiet for longer than its timeout, marks its
// ring timed out (the node then reports INPUT_CLOSED for it; the next message reopens it with
// INPUT_RECOVERED). An input is armed by its first message, as in dora: a producer that has not
// started yet does not time out.
//
// One event-loop timer per watched input, re-armed at the input's next possible deadline (the
// last push time + timeout, read from the ring); no thread, no polling faster than the timeout.
//
// Thread safety: everything runs on the EventLoop's thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/event_loop.hpp"
#include "shm/ring.hpp"

namespace dora::daemon {

struct WatchedInput {
    size_t node = 0;    // plan node index of the receiver
    uint32_t ring = 0;  // its input index
    std::chrono::nanoseconds timeout{};
};

class InputTimeouts {
  public:
    // `ring_of` maps a watched input to its ring; `on_timeout` is called once per timeout, after
    // the ring was marked timed out (it wakes the node and tells the user); `active` says
    // whether the receiver still runs (a stopped dataflow's inputs are not checked).
    InputTimeouts(EventLoop& loop, std::function<shm::Ring(const WatchedInput&)> ring_of,
                  std::function<void(const WatchedInput&)> on_timeout,
                  std::function<bool(const WatchedInput&)> active);
    InputTimeouts(const InputTimeouts&) = delete;
    InputTimeouts& operator=(const InputTimeouts&) = delete;

    void start(std::vector<WatchedInput> inputs);
    // Timeouts so far, per watched input (parallel to the inputs given to start()).
    [[nodiscard]] const std::vector<uint64_t>& counts() const { return counts_; }
    [[nodiscard]] const std::vector<WatchedInput>& inputs() const { return inputs_; }

  private:
    void check(size_t i);
    void arm(size_t i, std::chrono::nanoseconds delay);

    EventLoop& loop_;
    std::function<shm::Ring(const WatchedInput&)> ring_of_;
    std::function<void(const WatchedInput&)> on_timeout_;
    std::function<bool(const WatchedInput&)> active_;
    std::vector<WatchedInput> inputs_;
    std::vector<Timer> timers_;
    std::vector<uint64_t> counts_;
};

}  // namespace dora::daemon
