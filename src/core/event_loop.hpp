// The event loop of the daemon and the coordinator: one thread, epoll, and every source of events
// (file descriptors, timers, signals, child exits) turned into a callback that runs on that thread.
// Only callbacks change daemon state, so the state needs no locks.
//
// Signals: the loop blocks SIGCHLD, SIGINT, SIGTERM and SIGHUP for the calling thread at
// construction and reads them through a signalfd; child processes must restore the mask (the
// spawner does). Create the loop before any other thread so they inherit the blocked mask.
//
// Thread safety: everything runs on the thread that calls run()/run_once(), except wake(), which
// any thread may call to make run_once() return early, and post(), which queues a callback from
// any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace dora {

class EventLoop {
  public:
    using Callback = std::function<void()>;
    using FdCallback = std::function<void(uint32_t events)>;  // EPOLLIN/EPOLLOUT/EPOLLHUP/...
    using ExitCallback = std::function<void(int wait_status)>;
    using TimerId = uint64_t;

    [[nodiscard]] static Result<std::unique_ptr<EventLoop>> create();
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Watches `fd` (not owned) for `events` (EPOLLIN etc.).
    [[nodiscard]] Result<> add_fd(int fd, uint32_t events, FdCallback callback);
    [[nodiscard]] Result<> modify_fd(int fd, uint32_t events);
    void remove_fd(int fd);

    // Calls `callback` after `delay`, then every `interval` if it is non-zero.
    [[nodiscard]] Result<TimerId> add_timer(std::chrono::nanoseconds delay,
                                            std::chrono::nanoseconds interval, Callback callback);
    void cancel_timer(TimerId id);

    // Calls `callback` with the wait status when child `pid` exits.
    void watch_child(pid_t pid, ExitCallback callback);
    // Calls `callback` on SIGINT, SIGTERM or SIGHUP.
    void on_signal(int signal, Callback callback);

    // Queues `callback` to run on the loop thread (any thread may call this).
    void post(Callback callback);

    // Runs until stop() is called.
    void run();
    // Handles the events that are ready, waiting up to `timeout` for the first; for tests and
    // for callers that interleave other work. Returns false once stop() was called.
    bool run_once(std::chrono::milliseconds timeout);
    void stop();
    [[nodiscard]] bool stopped() const { return stopped_; }

  private:
    EventLoop() = default;
    void handle_signals();
    void reap_children();
    void run_posted();

    sys::UniqueFd epoll_;
    sys::UniqueFd signal_fd_;
    sys::UniqueFd wake_fd_;
    std::map<int, std::shared_ptr<FdCallback>> fds_;
    std::map<TimerId, std::pair<int, std::shared_ptr<Callback>>> timers_;  // id -> (timerfd, cb)
    std::map<int, TimerId> timer_by_fd_;
    TimerId next_timer_ = 1;
    std::map<pid_t, ExitCallback> children_;
    std::map<int, Callback> signal_handlers_;
    std::mutex posted_mutex_;  // guards posted_
    std::vector<Callback> posted_;
    bool stopped_ = false;
};

}  // namespace dora
