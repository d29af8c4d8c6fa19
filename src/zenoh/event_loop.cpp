#include "zenoh/event_loop.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>

namespace dora::zenoh {

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    sys::UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll.valid()) {
        return fail(sys::errno_error("epoll_create1"));
    }
    sys::UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake.valid()) {
        return fail(sys::errno_error("eventfd"));
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake.get();
    if (::epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wake.get(), &ev) != 0) {
        return fail(sys::errno_error("epoll_ctl(eventfd)"));
    }
    return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll), std::move(wake)));
}

EventLoop::EventLoop(sys::UniqueFd epoll, sys::UniqueFd wake)
    : epoll_(std::move(epoll)), wake_(std::move(wake)) {}

EventLoop::~EventLoop() = default;

Result<> EventLoop::control(int op, int fd, uint32_t events, FdHandler* handler) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), op, fd, &ev) != 0) {
        return fail(sys::errno_error(op == EPOLL_CTL_ADD ? "epoll_ctl(ADD)" : "epoll_ctl(MOD)"));
    }
    handlers_[fd] = handler;
    return {};
}

Result<> EventLoop::add_fd(int fd, uint32_t events, FdHandler* handler) {
    return control(EPOLL_CTL_ADD, fd, events, handler);
}

Result<> EventLoop::modify_fd(int fd, uint32_t events, FdHandler* handler) {
    return control(EPOLL_CTL_MOD, fd, events, handler);
}

void EventLoop::remove_fd(int fd) {
    if (handlers_.erase(fd) > 0) {
        ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    }
}

EventLoop::TimerId EventLoop::add_timer(Clock::time_point when, std::function<void()> fn) {
    TimerId id = next_timer_++;
    timers_.emplace(id, std::make_pair(when, std::move(fn)));
    timer_order_.emplace(when, id);
    return id;
}

void EventLoop::cancel_timer(TimerId id) {
    auto it = timers_.find(id);
    if (it == timers_.end()) {
        return;
    }
    auto [first, last] = timer_order_.equal_range(it->second.first);
    for (auto o = first; o != last; ++o) {
        if (o->second == id) {
            timer_order_.erase(o);
            break;
        }
    }
    timers_.erase(it);
}

void EventLoop::request_flush(Flushable* f) {
    if (std::find(flushes_.begin(), flushes_.end(), f) == flushes_.end()) {
        flushes_.push_back(f);
    }
}

void EventLoop::cancel_flush(Flushable* f) {
    std::erase(flushes_, f);
    std::replace(flushing_.begin(), flushing_.end(), f, static_cast<Flushable*>(nullptr));
}

void EventLoop::post(std::function<void()> fn) {
    {
        std::lock_guard lock(posted_mutex_);
        posted_.push_back(std::move(fn));
    }
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
}

void EventLoop::stop() {
    {
        std::lock_guard lock(posted_mutex_);
        stop_requested_ = true;
    }
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof(one));
}

bool EventLoop::is_loop_thread() const { return loop_thread_.load() == std::this_thread::get_id(); }

void EventLoop::run() {
    for (;;) {
        {
            std::lock_guard lock(posted_mutex_);
            if (stop_requested_) {
                stop_requested_ = false;
                return;
            }
        }
        run_once(std::chrono::seconds(1));
    }
}

void EventLoop::run_once(Clock::duration timeout) {
    loop_thread_.store(std::this_thread::get_id());
    auto now = Clock::now();
    if (!timer_order_.empty()) {
        timeout =
            std::min(timeout, std::max(Clock::duration::zero(), timer_order_.begin()->first - now));
    }
    // Round up so a timer due in 0.3 ms does not turn into a busy loop of 0 ms waits.
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(timeout).count();
    std::array<epoll_event, 64> events{};
    int n = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()),
                         static_cast<int>(std::min<int64_t>(ms, 60000)));
    for (int i = 0; i < n; ++i) {
        int fd = events[static_cast<size_t>(i)].data.fd;
        if (fd == wake_.get()) {
            uint64_t count = 0;
            [[maybe_unused]] auto r = ::read(wake_.get(), &count, sizeof(count));
            continue;
        }
        // The handler may have been removed by an earlier one in this batch.
        auto it = handlers_.find(fd);
        if (it != handlers_.end()) {
            it->second->on_ready(events[static_cast<size_t>(i)].events);
        }
    }
    run_posted();
    run_timers();
    run_flushes();
}

void EventLoop::run_timers() {
    auto now = Clock::now();
    // Only timers due now; ones added by callbacks wait for the next iteration.
    std::vector<TimerId> due;
    for (auto it = timer_order_.begin(); it != timer_order_.end() && it->first <= now; ++it) {
        due.push_back(it->second);
    }
    for (TimerId id : due) {
        auto it = timers_.find(id);
        if (it == timers_.end()) {
            continue;  // cancelled by an earlier callback
        }
        auto fn = std::move(it->second.second);
        cancel_timer(id);
        fn();
    }
}

void EventLoop::run_posted() {
    std::vector<std::function<void()>> work;
    {
        std::lock_guard lock(posted_mutex_);
        work.swap(posted_);
    }
    for (auto& fn : work) {
        fn();
    }
}

void EventLoop::run_flushes() {
    // Bounded: a flush that requests another flush is served next iteration.
    flushing_.swap(flushes_);
    for (size_t i = 0; i < flushing_.size(); ++i) {
        if (Flushable* f = flushing_[i]) {
            f->flush();
        }
    }
    flushing_.clear();
}

}  // namespace dora::zenoh
