// The one event loop of every dora process (daemon, coordinator, router, Zenoh tools, `dora run`):
// a thread, epoll, and every source of events (file descriptors, timers, signals, child exits,
// work posted from other threads, end-of-iteration flushes) turned into a callback that runs on
// that thread. Only callbacks change a component's state, so the state needs no locks.
//
// Registrations are move-only handles that cancel themselves when destroyed: FdWatch (owns the
// descriptor too, so it leaves epoll before it is closed), Timer, ChildWatch and Deferred. A
// handle may be destroyed from inside its own callback, and may outlive the loop (it is then
// inert). Nothing posted to the loop runs after the loop is destroyed.
//
// Time: timers use the loop's TimeSource (real steady time by default; tests inject a
// ManualClock and drive the loop with run_once). Components read the time through now() so that
// tests control every duration they compare.
//
// Signals: the loop blocks SIGCHLD, SIGINT, SIGTERM and SIGHUP for the creating thread and reads
// them through a signalfd; create the loop before any other thread so threads inherit the blocked
// mask (child processes must restore it: the spawner does). A process-directed signal is read by
// one signalfd only, so a process has one loop that handles signals: any other loop (a network
// thread's, a benchmark's) is created with `handle_signals = false`, and leaves them to it.
//
// Borrowing an idle loop: a thread with work for the loop may, while the loop thread sleeps in its
// wait for events, take an IdleLease (try_borrow) and run that work itself, as the loop thread
// would: the loop does not leave its wait before the lease ends (it wakes, then waits for the
// lease), so nothing runs concurrently and the loop's state needs no more locks. The lease runs
// the Deferred calls its holder requested when it ends. That saves the wake-up of a post() on
// the latency path (a daemon's egress thread publishing into the Zenoh session). A loop that is
// busy, or not inside run_once() at all, cannot be borrowed: try_borrow() says so at once.
//
// Thread safety: everything runs on the thread that calls run()/run_once() (the loop thread) or
// on the thread holding an IdleLease, except post(), stop(), is_loop_thread() and try_borrow(),
// which any thread may call. Handles are used on the loop thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace dora {

using SteadyClock = std::chrono::steady_clock;

// Where a loop's timers read the time.
class TimeSource {
  public:
    virtual ~TimeSource() = default;
    [[nodiscard]] virtual SteadyClock::time_point now() const = 0;
};

// A clock that moves only when told (tests). Starts at an arbitrary fixed point.
class ManualClock final : public TimeSource {
  public:
    [[nodiscard]] SteadyClock::time_point now() const override { return now_; }
    void advance(SteadyClock::duration d) { now_ += d; }

  private:
    SteadyClock::time_point now_ = SteadyClock::time_point(std::chrono::hours(1000));
};

namespace detail {
class LoopCore;
}

// A watched file descriptor, owned: destroying (or reset()) removes it from the loop and closes
// it. release() removes it from the loop and hands the descriptor back.
class FdWatch {
  public:
    FdWatch() = default;
    FdWatch(FdWatch&& other) noexcept;
    FdWatch& operator=(FdWatch&& other) noexcept;
    FdWatch(const FdWatch&) = delete;
    FdWatch& operator=(const FdWatch&) = delete;
    ~FdWatch() { reset(); }

    [[nodiscard]] int fd() const { return fd_.get(); }
    [[nodiscard]] bool active() const { return fd_.valid(); }
    // Changes the epoll event mask (EPOLLIN, EPOLLOUT, ...).
    [[nodiscard]] Result<> set_events(uint32_t events);
    void reset();
    [[nodiscard]] sys::UniqueFd release();

  private:
    friend class EventLoop;
    std::weak_ptr<detail::LoopCore> core_;
    uint64_t id_ = 0;
    sys::UniqueFd fd_;
};

// A one-shot or periodic timer; destroying (or cancel()) cancels it.
class Timer {
  public:
    Timer() = default;
    Timer(Timer&& other) noexcept;
    Timer& operator=(Timer&& other) noexcept;
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;
    ~Timer() { cancel(); }

    void cancel();
    // False once a one-shot timer has fired or the timer was cancelled.
    [[nodiscard]] bool active() const;

  private:
    friend class EventLoop;
    std::weak_ptr<detail::LoopCore> core_;
    uint64_t id_ = 0;
};

// Interest in one child process's exit; destroying it stops watching (the process is not touched).
class ChildWatch {
  public:
    ChildWatch() = default;
    ChildWatch(ChildWatch&& other) noexcept;
    ChildWatch& operator=(ChildWatch&& other) noexcept;
    ChildWatch(const ChildWatch&) = delete;
    ChildWatch& operator=(const ChildWatch&) = delete;
    ~ChildWatch() { reset(); }

    void reset();

  private:
    friend class EventLoop;
    std::weak_ptr<detail::LoopCore> core_;
    pid_t pid_ = -1;
    uint64_t id_ = 0;
};

// A callback that runs once at the end of the loop iteration in which request() was called
// (however often it was called): many sends become one flush. Destroying it cancels.
class Deferred {
  public:
    Deferred() = default;
    Deferred(Deferred&& other) noexcept;
    Deferred& operator=(Deferred&& other) noexcept;
    Deferred(const Deferred&) = delete;
    Deferred& operator=(const Deferred&) = delete;
    ~Deferred() { reset(); }

    void request();
    void reset();

  private:
    friend class EventLoop;
    std::weak_ptr<detail::LoopCore> core_;
    uint64_t id_ = 0;
};

// The loop thread's place, held by another thread while the loop sleeps (EventLoop::try_borrow).
// Move-only; ending it runs the Deferred calls requested meanwhile and lets the loop go on.
class IdleLease {
  public:
    IdleLease(IdleLease&& other) noexcept = default;
    IdleLease& operator=(IdleLease&&) = delete;
    IdleLease(const IdleLease&) = delete;
    IdleLease& operator=(const IdleLease&) = delete;
    ~IdleLease();

  private:
    friend class EventLoop;
    IdleLease(std::shared_ptr<detail::LoopCore> core, std::unique_lock<std::mutex> lock)
        : core_(std::move(core)), lock_(std::move(lock)) {}
    std::shared_ptr<detail::LoopCore> core_;
    std::unique_lock<std::mutex> lock_;
};

class EventLoop {
  public:
    using Callback = std::function<void()>;
    using FdCallback = std::function<void(uint32_t events)>;  // EPOLLIN/EPOLLOUT/EPOLLHUP/...
    using ExitCallback = std::function<void(int wait_status)>;

    struct Options {
        const TimeSource* time = nullptr;  // null: real steady time
        // False: no signalfd and no change to the signal mask; on_signal and watch_child are then
        // not available (this loop never learns of signals or child exits).
        bool handle_signals = true;
    };

    [[nodiscard]] static Result<std::unique_ptr<EventLoop>> create(Options options);
    [[nodiscard]] static Result<std::unique_ptr<EventLoop>> create() { return create(Options{}); }
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    // Watches `fd` (taken over) for `events`; `callback` gets the ready events.
    [[nodiscard]] Result<FdWatch> watch(sys::UniqueFd fd, uint32_t events, FdCallback callback);

    // Calls `callback` once after `delay`.
    [[nodiscard]] Timer add_timer(SteadyClock::duration delay, Callback callback);
    // Calls `callback` every `interval`, the first time after `first` (default: one interval).
    // Late ticks coalesce: a loop that was busy for three intervals calls it once.
    [[nodiscard]] Timer add_periodic(SteadyClock::duration interval, Callback callback);
    [[nodiscard]] Timer add_periodic(SteadyClock::duration first, SteadyClock::duration interval,
                                     Callback callback);

    // Calls `callback` with the wait status when child `pid` exits (it is reaped here).
    [[nodiscard]] ChildWatch watch_child(pid_t pid, ExitCallback callback);
    // Calls `callback` on SIGINT, SIGTERM or SIGHUP (one handler per signal, for the loop's life).
    void on_signal(int signal, Callback callback);

    [[nodiscard]] Deferred defer(Callback callback);

    // Queues `callback` to run on the loop thread soon (any thread may call this). Callbacks still
    // queued when the loop is destroyed never run.
    void post(Callback callback);
    // Makes run() return after the current iteration (any thread may call this).
    void stop();
    [[nodiscard]] bool stop_requested() const;
    [[nodiscard]] bool is_loop_thread() const;
    // The loop's place while its thread sleeps in the wait for events (see IdleLease); nothing
    // when the loop is busy or not running. Any thread; never blocks.
    [[nodiscard]] std::optional<IdleLease> try_borrow();

    // Runs until stop(); the request is then consumed, so a later run() runs again.
    void run();
    // One iteration: waits up to `timeout` for the first event (less if a timer is due sooner),
    // handles what is ready, runs due timers and deferred calls. The calling thread becomes the
    // loop thread. Returns false once stop() was requested.
    bool run_once(SteadyClock::duration timeout);

    [[nodiscard]] SteadyClock::time_point now() const;

  private:
    explicit EventLoop(std::shared_ptr<detail::LoopCore> core);
    std::shared_ptr<detail::LoopCore> core_;
};

}  // namespace dora
