// Test helper: an event loop driven from the test thread (on real time, or on a ManualClock for
// tests of leases and deadlines), waits that are conditions with a deadline, and a captured
// transport log.
//
// Thread safety: test thread only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/event_loop.hpp"

namespace dora::zenoh::testing {

// These tests watch no signals: the loop leaves them alone (Ctrl-C still ends the binary).
inline std::unique_ptr<EventLoop> make_test_loop(const TimeSource* time = nullptr) {
    return EventLoop::create({time, /*handle_signals=*/false}).value();
}

class LoopTest : public ::testing::Test {
  protected:
    // `manual_time`: timers follow clock_, which moves only in pass_time(); I/O is real.
    explicit LoopTest(bool manual_time = false)
        : loop_(make_test_loop(manual_time ? &clock_ : nullptr)) {}

    // Moves clock_ by `total` in `step`s, letting the loop handle what is due (and the I/O it
    // causes) after each step.
    void pass_time(std::chrono::milliseconds total,
                   std::chrono::milliseconds step = std::chrono::milliseconds(10)) {
        for (auto done = std::chrono::milliseconds(0); done < total; done += step) {
            clock_.advance(step);
            for (int i = 0; i < 3; ++i) {
                loop_->run_once(std::chrono::milliseconds(1));
            }
        }
    }

    // Runs the loop until `cond()` holds; false if `limit` passed first (real time).
    template <typename Condition>
    bool run_until(Condition cond, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        auto deadline = SteadyClock::now() + limit;
        while (!cond()) {
            if (SteadyClock::now() > deadline) {
                return false;
            }
            loop_->run_once(std::chrono::milliseconds(5));
        }
        return true;
    }

    // A log sink for TransportConfig::log that keeps the lines for logged().
    auto log_sink() {
        return [this](std::string_view line) { logs_.emplace_back(line); };
    }
    bool logged(std::string_view needle) const {
        for (const auto& line : logs_) {
            if (line.find(needle) != std::string::npos) {
                return true;
            }
        }
        return false;
    }

    ManualClock clock_;  // declared before loop_, which may read it
    std::unique_ptr<EventLoop> loop_;
    std::vector<std::string> logs_;
};

}  // namespace dora::zenoh::testing
