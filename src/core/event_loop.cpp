#include "core/event_loop.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace dora {

namespace {

constexpr int kHandledSignals[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};
// epoll user data of the loop's own descriptors; watches get ids from kFirstWatchId on.
constexpr uint64_t kWakeId = 1;
constexpr uint64_t kSignalId = 2;
constexpr uint64_t kTimerFdId = 3;
constexpr uint64_t kFirstWatchId = 16;

class RealTime final : public TimeSource {
  public:
    [[nodiscard]] SteadyClock::time_point now() const override { return SteadyClock::now(); }
};
const RealTime kRealTime;

}  // namespace

namespace detail {

// The loop's state, shared with the handles (weakly), so a handle outliving the loop is inert.
class LoopCore {
  public:
    struct FdEntry {
        int fd = -1;
        std::shared_ptr<EventLoop::FdCallback> callback;
    };
    struct TimerEntry {
        SteadyClock::time_point due;
        SteadyClock::duration interval{0};  // zero: one-shot
        std::shared_ptr<EventLoop::Callback> callback;
    };
    struct ChildEntry {
        uint64_t id = 0;
        std::shared_ptr<EventLoop::ExitCallback> callback;
    };

    const TimeSource* time = &kRealTime;
    sys::UniqueFd epoll;
    sys::UniqueFd signal_fd;
    sys::UniqueFd wake_fd;
    sys::UniqueFd timer_fd;
    uint64_t next_id = kFirstWatchId;

    std::unordered_map<uint64_t, FdEntry> fds;
    std::unordered_map<uint64_t, TimerEntry> timers;
    std::set<std::pair<SteadyClock::time_point, uint64_t>> timer_order;
    SteadyClock::time_point armed_for = SteadyClock::time_point::max();
    std::map<pid_t, ChildEntry> children;
    bool reap_pending = false;
    std::map<int, std::shared_ptr<EventLoop::Callback>> signals;
    std::unordered_map<uint64_t, std::shared_ptr<EventLoop::Callback>> deferred;
    std::vector<uint64_t> deferred_requested;

    std::mutex posted_mutex;  // guards posted
    std::vector<EventLoop::Callback> posted;
    std::atomic<bool> stop{false};
    std::atomic<std::thread::id> loop_thread{};
    // Held by the loop thread inside run_once() except during its wait for events, and by an
    // IdleLease's holder: whoever holds it may touch the loop's state (everything above).
    std::mutex busy;
    bool waiting = false;  // guarded by busy: the loop thread sleeps in epoll_wait
    int depth = 0;         // loop thread only: run_once() calls on the stack

    [[nodiscard]] bool real_time() const { return time == &kRealTime; }

    Result<> epoll_control(int op, int fd, uint32_t events, uint64_t id) {
        epoll_event ev{};
        ev.events = events;
        ev.data.u64 = id;
        if (::epoll_ctl(epoll.get(), op, fd, &ev) != 0) {
            return fail(
                sys::errno_error(op == EPOLL_CTL_ADD ? "epoll_ctl(ADD)" : "epoll_ctl(MOD)"));
        }
        return {};
    }

    void remove_fd(uint64_t id) {
        auto it = fds.find(id);
        if (it == fds.end()) {
            return;
        }
        ::epoll_ctl(epoll.get(), EPOLL_CTL_DEL, it->second.fd, nullptr);
        fds.erase(it);
    }

    void schedule(uint64_t id, TimerEntry entry) {
        timer_order.emplace(entry.due, id);
        timers.emplace(id, std::move(entry));
        arm();
    }

    void cancel_timer(uint64_t id) {
        auto it = timers.find(id);
        if (it == timers.end()) {
            return;
        }
        timer_order.erase({it->second.due, id});
        timers.erase(it);
        // The timerfd may stay armed for this one: a spurious wake-up runs nothing.
    }

    // Points the timerfd at the earliest deadline (real time only; a ManualClock is driven by
    // run_once calls).
    void arm() {
        if (!real_time() || timer_order.empty()) {
            return;
        }
        auto first = timer_order.begin()->first;
        if (first == armed_for) {
            return;
        }
        armed_for = first;
        auto since_epoch = first.time_since_epoch();
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
        itimerspec spec{};
        spec.it_value.tv_sec = static_cast<time_t>(secs.count());
        spec.it_value.tv_nsec = static_cast<long>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count());
        if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) {
            spec.it_value.tv_nsec = 1;  // zero would disarm
        }
        // Cannot fail for a valid timerfd and a normalised time; the loop checks deadlines on
        // every iteration anyway.
        [[maybe_unused]] int rc =
            ::timerfd_settime(timer_fd.get(), TFD_TIMER_ABSTIME, &spec, nullptr);
    }

    void run_due_timers() {
        auto now = time->now();
        // Only timers due now; those a callback adds wait for the next iteration.
        std::vector<uint64_t> due;
        for (auto it = timer_order.begin(); it != timer_order.end() && it->first <= now; ++it) {
            due.push_back(it->second);
        }
        if (due.empty()) {
            arm();  // re-arms only when the first deadline changed (a cancel, a new timer)
            return;
        }
        for (uint64_t id : due) {
            auto it = timers.find(id);
            if (it == timers.end()) {
                continue;  // cancelled by an earlier callback
            }
            auto callback = it->second.callback;  // alive while it runs, even if it cancels itself
            timer_order.erase({it->second.due, id});
            if (it->second.interval.count() > 0) {
                auto& entry = it->second;
                auto behind = (now - entry.due) / entry.interval + 1;
                entry.due += behind * entry.interval;
                timer_order.emplace(entry.due, id);
            } else {
                timers.erase(it);
            }
            (*callback)();
        }
        armed_for = SteadyClock::time_point::max();
        arm();
    }

    void run_posted() {
        std::vector<EventLoop::Callback> batch;
        {
            std::lock_guard lock(posted_mutex);
            batch.swap(posted);
        }
        for (auto& callback : batch) {
            callback();
        }
    }

    void run_deferred() {
        // Bounded: a deferred call requested by a deferred call runs next iteration.
        std::vector<uint64_t> batch;
        batch.swap(deferred_requested);
        for (uint64_t id : batch) {
            auto it = deferred.find(id);
            if (it == deferred.end()) {
                continue;
            }
            auto callback = it->second;
            (*callback)();
        }
    }

    void handle_signals() {
        signalfd_siginfo info{};
        while (::read(signal_fd.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
            int sig = static_cast<int>(info.ssi_signo);
            if (sig == SIGCHLD) {
                reap_children();
            } else if (auto it = signals.find(sig); it != signals.end()) {
                auto callback = it->second;
                (*callback)();
            }
        }
    }

    void reap_children() {
        reap_pending = false;
        // Reap only children we watch: other code (tests, libraries) may wait for its own.
        std::vector<pid_t> pids;
        for (const auto& [pid, entry] : children) {
            pids.push_back(pid);
        }
        for (pid_t pid : pids) {
            int status = 0;
            if (::waitpid(pid, &status, WNOHANG) != pid) {
                continue;
            }
            auto it = children.find(pid);
            if (it == children.end()) {
                continue;  // unwatched by an earlier callback of this round
            }
            auto callback = it->second.callback;
            children.erase(it);
            (*callback)(status);
        }
    }

    void drain_wake() {
        uint64_t value = 0;
        while (::read(wake_fd.get(), &value, sizeof value) > 0) {
        }
    }

    void wake() {
        uint64_t one = 1;
        // EAGAIN means the counter is already non-zero: the loop wakes anyway.
        [[maybe_unused]] auto n = ::write(wake_fd.get(), &one, sizeof one);
    }
};

}  // namespace detail

// ---- handles ----

FdWatch::FdWatch(FdWatch&& other) noexcept
    : core_(std::move(other.core_)), id_(std::exchange(other.id_, 0)), fd_(std::move(other.fd_)) {}

FdWatch& FdWatch::operator=(FdWatch&& other) noexcept {
    if (this != &other) {
        reset();
        core_ = std::move(other.core_);
        id_ = std::exchange(other.id_, 0);
        fd_ = std::move(other.fd_);
    }
    return *this;
}

Result<> FdWatch::set_events(uint32_t events) {
    auto core = core_.lock();
    if (!core || id_ == 0) {
        return fail("the watched descriptor was closed or its event loop is gone");
    }
    return core->epoll_control(EPOLL_CTL_MOD, fd_.get(), events, id_);
}

sys::UniqueFd FdWatch::release() {
    if (auto core = core_.lock(); core && id_ != 0) {
        core->remove_fd(id_);
    }
    core_.reset();
    id_ = 0;
    return std::move(fd_);
}

void FdWatch::reset() {
    // Leave epoll before closing: a reused descriptor number must never lose its registration.
    auto fd = release();
    fd.reset();
}

Timer::Timer(Timer&& other) noexcept
    : core_(std::move(other.core_)), id_(std::exchange(other.id_, 0)) {}

Timer& Timer::operator=(Timer&& other) noexcept {
    if (this != &other) {
        cancel();
        core_ = std::move(other.core_);
        id_ = std::exchange(other.id_, 0);
    }
    return *this;
}

void Timer::cancel() {
    if (auto core = core_.lock(); core && id_ != 0) {
        core->cancel_timer(id_);
    }
    core_.reset();
    id_ = 0;
}

bool Timer::active() const {
    auto core = core_.lock();
    return core && id_ != 0 && core->timers.contains(id_);
}

ChildWatch::ChildWatch(ChildWatch&& other) noexcept
    : core_(std::move(other.core_)),
      pid_(std::exchange(other.pid_, -1)),
      id_(std::exchange(other.id_, 0)) {}

ChildWatch& ChildWatch::operator=(ChildWatch&& other) noexcept {
    if (this != &other) {
        reset();
        core_ = std::move(other.core_);
        pid_ = std::exchange(other.pid_, -1);
        id_ = std::exchange(other.id_, 0);
    }
    return *this;
}

void ChildWatch::reset() {
    if (auto core = core_.lock(); core && id_ != 0) {
        if (auto it = core->children.find(pid_);
            it != core->children.end() && it->second.id == id_) {
            core->children.erase(it);
        }
    }
    core_.reset();
    pid_ = -1;
    id_ = 0;
}

Deferred::Deferred(Deferred&& other) noexcept
    : core_(std::move(other.core_)), id_(std::exchange(other.id_, 0)) {}

Deferred& Deferred::operator=(Deferred&& other) noexcept {
    if (this != &other) {
        reset();
        core_ = std::move(other.core_);
        id_ = std::exchange(other.id_, 0);
    }
    return *this;
}

void Deferred::request() {
    auto core = core_.lock();
    if (!core || id_ == 0) {
        return;
    }
    auto& requested = core->deferred_requested;
    if (std::find(requested.begin(), requested.end(), id_) == requested.end()) {
        requested.push_back(id_);
    }
}

void Deferred::reset() {
    if (auto core = core_.lock(); core && id_ != 0) {
        core->deferred.erase(id_);
        std::erase(core->deferred_requested, id_);
    }
    core_.reset();
    id_ = 0;
}

// ---- the loop ----

EventLoop::EventLoop(std::shared_ptr<detail::LoopCore> core) : core_(std::move(core)) {}

EventLoop::~EventLoop() = default;

Result<std::unique_ptr<EventLoop>> EventLoop::create(Options options) {
    auto core = std::make_shared<detail::LoopCore>();
    if (options.time != nullptr) {
        core->time = options.time;
    }
    core->epoll = sys::UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!core->epoll.valid()) {
        return fail(sys::errno_error("epoll_create1"));
    }
    if (options.handle_signals) {
        sigset_t set;
        sigemptyset(&set);
        for (int s : kHandledSignals) {
            sigaddset(&set, s);
        }
        if (int rc = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); rc != 0) {
            return fail(sys::errno_error("pthread_sigmask", rc));
        }
        core->signal_fd = sys::UniqueFd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
        if (!core->signal_fd.valid()) {
            return fail(sys::errno_error("signalfd"));
        }
    }
    core->wake_fd = sys::UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!core->wake_fd.valid()) {
        return fail(sys::errno_error("eventfd"));
    }
    core->timer_fd = sys::UniqueFd(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!core->timer_fd.valid()) {
        return fail(sys::errno_error("timerfd_create"));
    }
    for (auto [fd, id] :
         {std::pair{core->signal_fd.get(), kSignalId}, std::pair{core->wake_fd.get(), kWakeId},
          std::pair{core->timer_fd.get(), kTimerFdId}}) {
        if (fd < 0) {
            continue;  // no signalfd: signals are another loop's
        }
        if (auto ok = core->epoll_control(EPOLL_CTL_ADD, fd, EPOLLIN, id); !ok) {
            return fail(ok.error());
        }
    }
    return std::unique_ptr<EventLoop>(new EventLoop(std::move(core)));
}

Result<FdWatch> EventLoop::watch(sys::UniqueFd fd, uint32_t events, FdCallback callback) {
    uint64_t id = core_->next_id++;
    if (auto ok = core_->epoll_control(EPOLL_CTL_ADD, fd.get(), events, id); !ok) {
        return fail(ok.error());
    }
    core_->fds.emplace(
        id, detail::LoopCore::FdEntry{fd.get(), std::make_shared<FdCallback>(std::move(callback))});
    FdWatch watch;
    watch.core_ = core_;
    watch.id_ = id;
    watch.fd_ = std::move(fd);
    return watch;
}

Timer EventLoop::add_timer(SteadyClock::duration delay, Callback callback) {
    uint64_t id = core_->next_id++;
    core_->schedule(
        id, {now() + std::max(delay, SteadyClock::duration::zero()), SteadyClock::duration::zero(),
             std::make_shared<Callback>(std::move(callback))});
    Timer timer;
    timer.core_ = core_;
    timer.id_ = id;
    return timer;
}

Timer EventLoop::add_periodic(SteadyClock::duration interval, Callback callback) {
    return add_periodic(interval, interval, std::move(callback));
}

Timer EventLoop::add_periodic(SteadyClock::duration first, SteadyClock::duration interval,
                              Callback callback) {
    // A zero interval would fire on every iteration: treat it as the smallest positive one.
    interval = std::max(interval, SteadyClock::duration(1));
    uint64_t id = core_->next_id++;
    core_->schedule(id, {now() + std::max(first, SteadyClock::duration::zero()), interval,
                         std::make_shared<Callback>(std::move(callback))});
    Timer timer;
    timer.core_ = core_;
    timer.id_ = id;
    return timer;
}

ChildWatch EventLoop::watch_child(pid_t pid, ExitCallback callback) {
    uint64_t id = core_->next_id++;
    core_->children[pid] = {id, std::make_shared<ExitCallback>(std::move(callback))};
    // The child may have exited before it was watched: look once more this iteration.
    core_->reap_pending = true;
    ChildWatch watch;
    watch.core_ = core_;
    watch.pid_ = pid;
    watch.id_ = id;
    return watch;
}

void EventLoop::on_signal(int signal, Callback callback) {
    core_->signals[signal] = std::make_shared<Callback>(std::move(callback));
}

Deferred EventLoop::defer(Callback callback) {
    uint64_t id = core_->next_id++;
    core_->deferred.emplace(id, std::make_shared<Callback>(std::move(callback)));
    Deferred deferred;
    deferred.core_ = core_;
    deferred.id_ = id;
    return deferred;
}

void EventLoop::post(Callback callback) {
    {
        std::lock_guard lock(core_->posted_mutex);
        core_->posted.push_back(std::move(callback));
    }
    core_->wake();
}

void EventLoop::stop() {
    core_->stop.store(true);
    core_->wake();
}

bool EventLoop::stop_requested() const { return core_->stop.load(); }

IdleLease::~IdleLease() {
    if (!core_) {
        return;  // moved from
    }
    // What the loop does at the end of an iteration: the holder's sends flush here.
    core_->run_deferred();
    if (!core_->deferred_requested.empty() || core_->reap_pending) {
        core_->wake();  // the loop's wait was sized before these were asked for
    }
}

std::optional<IdleLease> EventLoop::try_borrow() {
    if (is_loop_thread()) {
        return std::nullopt;  // it holds `busy` itself (try_lock on an owned mutex is undefined)
    }
    std::unique_lock lock(core_->busy, std::try_to_lock);
    if (!lock.owns_lock() || !core_->waiting) {
        return std::nullopt;
    }
    return IdleLease(core_, std::move(lock));
}

bool EventLoop::is_loop_thread() const {
    return core_->loop_thread.load() == std::this_thread::get_id();
}

SteadyClock::time_point EventLoop::now() const { return core_->time->now(); }

bool EventLoop::run_once(SteadyClock::duration timeout) {
    // Keep the state alive through callbacks that destroy the EventLoop's owner's objects.
    std::shared_ptr<detail::LoopCore> core = core_;
    // Only the outermost run_once() lets the loop be borrowed while it waits: a nested one runs
    // inside a callback that is not finished.
    std::unique_lock busy(core->busy, std::defer_lock);
    if (core->depth == 0) {
        busy.lock();
    }
    ++core->depth;
    struct Leave {
        detail::LoopCore& core;
        ~Leave() { --core.depth; }
    } leave{*core};
    core->loop_thread.store(std::this_thread::get_id());
    if (core->stop.load()) {
        return false;
    }
    if (!core->timer_order.empty()) {
        auto until_due = core->timer_order.begin()->first - core->time->now();
        timeout = std::clamp(until_due, SteadyClock::duration::zero(), timeout);
    }
    if (!core->deferred_requested.empty() || core->reap_pending) {
        timeout = SteadyClock::duration::zero();
    }
    // Round up so a deadline 0.3 ms away does not become a busy loop of 0 ms waits (the timerfd
    // wakes us on time anyway).
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    std::array<epoll_event, 64> events{};
    if (busy.owns_lock()) {
        core->waiting = true;
        busy.unlock();
    }
    int n = ::epoll_wait(core->epoll.get(), events.data(), static_cast<int>(events.size()),
                         static_cast<int>(std::clamp<int64_t>(ms, 0, 60'000)));
    if (core->depth == 1) {
        busy.lock();  // after a lease that may be held now
        core->waiting = false;
    }
    for (int i = 0; i < n && !core->stop.load(); ++i) {
        const auto& event = events[static_cast<size_t>(i)];
        // Copied: epoll_event is packed, and find() would bind a reference to a misaligned field.
        const uint64_t id = event.data.u64;
        switch (id) {
            case kWakeId:
                core->drain_wake();
                core->run_posted();
                continue;
            case kSignalId:
                core->handle_signals();
                continue;
            case kTimerFdId: {
                uint64_t expirations = 0;
                [[maybe_unused]] auto r =
                    ::read(core->timer_fd.get(), &expirations, sizeof expirations);
                continue;  // due timers run below
            }
            default:
                break;
        }
        auto it = core->fds.find(id);
        if (it == core->fds.end()) {
            continue;  // removed by an earlier callback of this round
        }
        auto callback = it->second.callback;  // alive while it runs, even if it removes itself
        (*callback)(event.events);
    }
    if (core->reap_pending) {
        core->reap_children();
    }
    core->run_due_timers();
    core->run_deferred();
    return !core->stop.load();
}

void EventLoop::run() {
    while (run_once(std::chrono::seconds(1))) {
    }
    core_->stop.store(false);
}

}  // namespace dora
