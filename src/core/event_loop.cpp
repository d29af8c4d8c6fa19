#include "core/event_loop.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace dora {

namespace {

constexpr int kHandledSignals[] = {SIGCHLD, SIGINT, SIGTERM, SIGHUP};

itimerspec to_itimerspec(std::chrono::nanoseconds delay, std::chrono::nanoseconds interval) {
    auto split = [](std::chrono::nanoseconds d) {
        timespec ts{};
        ts.tv_sec = static_cast<time_t>(d.count() / 1'000'000'000);
        ts.tv_nsec = static_cast<long>(d.count() % 1'000'000'000);
        return ts;
    };
    itimerspec spec{};
    // A zero it_value disarms the timer: fire "now" as 1 ns instead.
    spec.it_value = split(delay.count() > 0 ? delay : std::chrono::nanoseconds(1));
    spec.it_interval = split(interval);
    return spec;
}

}  // namespace

Result<std::unique_ptr<EventLoop>> EventLoop::create() {
    std::unique_ptr<EventLoop> loop(new EventLoop());
    loop->epoll_ = sys::UniqueFd(::epoll_create1(EPOLL_CLOEXEC));
    if (!loop->epoll_.valid()) {
        return fail(sys::errno_error("epoll_create1"));
    }
    sigset_t set;
    sigemptyset(&set);
    for (int s : kHandledSignals) {
        sigaddset(&set, s);
    }
    if (::pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
        return fail(sys::errno_error("pthread_sigmask"));
    }
    loop->signal_fd_ = sys::UniqueFd(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!loop->signal_fd_.valid()) {
        return fail(sys::errno_error("signalfd"));
    }
    loop->wake_fd_ = sys::UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!loop->wake_fd_.valid()) {
        return fail(sys::errno_error("eventfd"));
    }
    EventLoop* self = loop.get();
    if (auto ok = loop->add_fd(loop->signal_fd_.get(), EPOLLIN,
                               [self](uint32_t) { self->handle_signals(); });
        !ok) {
        return fail(ok.error());
    }
    if (auto ok = loop->add_fd(loop->wake_fd_.get(), EPOLLIN,
                               [self](uint32_t) {
                                   uint64_t v = 0;
                                   while (::read(self->wake_fd_.get(), &v, sizeof v) > 0) {
                                   }
                                   self->run_posted();
                               });
        !ok) {
        return fail(ok.error());
    }
    return loop;
}

EventLoop::~EventLoop() {
    for (auto& [id, timer] : timers_) {
        ::close(timer.first);
    }
}

Result<> EventLoop::add_fd(int fd, uint32_t events, FdCallback callback) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) {
        return fail(sys::errno_error("epoll_ctl(ADD)"));
    }
    fds_[fd] = std::make_shared<FdCallback>(std::move(callback));
    return {};
}

Result<> EventLoop::modify_fd(int fd, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) {
        return fail(sys::errno_error("epoll_ctl(MOD)"));
    }
    return {};
}

void EventLoop::remove_fd(int fd) {
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    fds_.erase(fd);
}

Result<EventLoop::TimerId> EventLoop::add_timer(std::chrono::nanoseconds delay,
                                                std::chrono::nanoseconds interval,
                                                Callback callback) {
    int tfd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tfd < 0) {
        return fail(sys::errno_error("timerfd_create"));
    }
    auto spec = to_itimerspec(delay, interval);
    if (::timerfd_settime(tfd, 0, &spec, nullptr) != 0) {
        ::close(tfd);
        return fail(sys::errno_error("timerfd_settime"));
    }
    TimerId id = next_timer_++;
    auto cb = std::make_shared<Callback>(std::move(callback));
    bool periodic = interval.count() > 0;
    auto ok = add_fd(tfd, EPOLLIN, [this, tfd, id, cb, periodic](uint32_t) {
        uint64_t expirations = 0;
        if (::read(tfd, &expirations, sizeof expirations) <= 0) {
            return;
        }
        if (!periodic) {
            cancel_timer(id);
        }
        (*cb)();
    });
    if (!ok) {
        ::close(tfd);
        return fail(ok.error());
    }
    timers_[id] = {tfd, cb};
    timer_by_fd_[tfd] = id;
    return id;
}

void EventLoop::cancel_timer(TimerId id) {
    auto it = timers_.find(id);
    if (it == timers_.end()) {
        return;
    }
    int tfd = it->second.first;
    remove_fd(tfd);
    ::close(tfd);
    timer_by_fd_.erase(tfd);
    timers_.erase(it);
}

void EventLoop::watch_child(pid_t pid, ExitCallback callback) {
    children_[pid] = std::move(callback);
    // The child may have exited before we watched it.
    reap_children();
}

void EventLoop::on_signal(int signal, Callback callback) {
    signal_handlers_[signal] = std::move(callback);
}

void EventLoop::post(Callback callback) {
    {
        std::lock_guard lock(posted_mutex_);
        posted_.push_back(std::move(callback));
    }
    uint64_t one = 1;
    (void)!::write(wake_fd_.get(), &one, sizeof one);
}

void EventLoop::run_posted() {
    std::vector<Callback> batch;
    {
        std::lock_guard lock(posted_mutex_);
        batch.swap(posted_);
    }
    for (auto& cb : batch) {
        cb();
    }
}

void EventLoop::handle_signals() {
    signalfd_siginfo info{};
    while (::read(signal_fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        int sig = static_cast<int>(info.ssi_signo);
        if (sig == SIGCHLD) {
            reap_children();
        } else if (auto it = signal_handlers_.find(sig); it != signal_handlers_.end()) {
            auto cb = it->second;
            cb();
        }
    }
}

void EventLoop::reap_children() {
    // Reap only children we watch: other code (tests, libraries) may wait for its own.
    std::vector<pid_t> pids;
    for (const auto& [pid, cb] : children_) {
        pids.push_back(pid);
    }
    for (pid_t pid : pids) {
        int status = 0;
        pid_t r = ::waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            auto node = children_.extract(pid);
            node.mapped()(status);
        }
    }
}

bool EventLoop::run_once(std::chrono::milliseconds timeout) {
    if (stopped_) {
        return false;
    }
    epoll_event events[32];
    int n = ::epoll_wait(epoll_.get(), events, 32, static_cast<int>(timeout.count()));
    if (n < 0 && errno != EINTR) {
        return !stopped_;
    }
    for (int i = 0; i < n && !stopped_; ++i) {
        auto it = fds_.find(events[i].data.fd);
        if (it == fds_.end()) {
            continue;  // removed by an earlier callback of this round
        }
        auto cb = it->second;  // keep alive while it runs, even if it removes itself
        (*cb)(events[i].events);
    }
    return !stopped_;
}

void EventLoop::run() {
    while (run_once(std::chrono::milliseconds(1000))) {
    }
}

void EventLoop::stop() { stopped_ = true; }

}  // namespace dora
