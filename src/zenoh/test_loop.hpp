// Test helper: an event loop driven from the test thread, waits that are conditions with a
// deadline, and a captured transport log.
//
// Thread safety: test thread only.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "zenoh/event_loop.hpp"

namespace dora::zenoh::testing {

class LoopTest : public ::testing::Test {
  protected:
    LoopTest() : loop_(EventLoop::create().value()) {}

    // Runs the loop until `cond()` holds; false if `limit` passed first.
    template <typename Condition>
    bool run_until(Condition cond, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
        auto deadline = Clock::now() + limit;
        while (!cond()) {
            if (Clock::now() > deadline) {
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

    std::unique_ptr<EventLoop> loop_;
    std::vector<std::string> logs_;
};

}  // namespace dora::zenoh::testing
