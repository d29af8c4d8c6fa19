// A small epoll event loop that owns the zenoh links: file descriptor readiness, timers, work
// posted from other threads, and end-of-iteration flushes (so many sends become one syscall).
//
// Threading contract: one thread runs the loop (`run()`), the "loop thread". Every method is
// loop-thread only, except `post()`, `stop()` and `is_loop_thread()`, which any thread may call.
// Handlers and timer callbacks run on the loop thread. An fd handler may remove itself, and a
// timer callback may cancel or add timers; objects owned by the loop must not be destroyed from
// their own callback (post the destruction instead).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace dora::zenoh {

using Clock = std::chrono::steady_clock;

class FdHandler {
  public:
    virtual ~FdHandler() = default;
    // `events` is the epoll event mask (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP ...).
    virtual void on_ready(uint32_t events) = 0;
};

// Something with buffered output, flushed once at the end of a loop iteration.
class Flushable {
  public:
    virtual ~Flushable() = default;
    virtual void flush() = 0;
};

class EventLoop {
  public:
    using TimerId = uint64_t;

    [[nodiscard]] static Result<std::unique_ptr<EventLoop>> create();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    [[nodiscard]] Result<> add_fd(int fd, uint32_t events, FdHandler* handler);
    [[nodiscard]] Result<> modify_fd(int fd, uint32_t events, FdHandler* handler);
    void remove_fd(int fd);

    TimerId add_timer(Clock::time_point when, std::function<void()> fn);
    TimerId add_timer(Clock::duration after, std::function<void()> fn) {
        return add_timer(Clock::now() + after, std::move(fn));
    }
    void cancel_timer(TimerId id);

    // Calls `f->flush()` once after the current iteration's events (at most once per request).
    void request_flush(Flushable* f);
    // Forgets a pending flush request (call before destroying `f`).
    void cancel_flush(Flushable* f);

    // Thread-safe: runs `fn` on the loop thread soon.
    void post(std::function<void()> fn);
    // Thread-safe: makes run() return after its current iteration.
    void stop();
    [[nodiscard]] bool is_loop_thread() const;

    // Runs until stop(). The calling thread becomes the loop thread.
    void run();
    // One iteration: waits at most `timeout` for events, then runs due timers, posted work and
    // flushes. Also makes the calling thread the loop thread.
    void run_once(Clock::duration timeout);

  private:
    explicit EventLoop(sys::UniqueFd epoll, sys::UniqueFd wake);
    [[nodiscard]] Result<> control(int op, int fd, uint32_t events, FdHandler* handler);
    void run_timers();
    void run_posted();
    void run_flushes();

    sys::UniqueFd epoll_;
    sys::UniqueFd wake_;  // eventfd that post() and stop() write to
    std::unordered_map<int, FdHandler*> handlers_;
    std::multimap<Clock::time_point, TimerId> timer_order_;
    std::unordered_map<TimerId, std::pair<Clock::time_point, std::function<void()>>> timers_;
    TimerId next_timer_ = 1;
    std::vector<Flushable*> flushes_;
    std::vector<Flushable*> flushing_;
    std::atomic<std::thread::id> loop_thread_{};

    std::mutex posted_mutex_;  // guards posted_ and stop_requested_
    std::vector<std::function<void()>> posted_;
    bool stop_requested_ = false;
};

}  // namespace dora::zenoh
