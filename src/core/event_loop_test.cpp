#include "core/event_loop.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace dora {
namespace {

using namespace std::chrono_literals;

class EventLoopTest : public ::testing::Test {
  protected:
    ManualClock clock_;
    std::unique_ptr<EventLoop> loop_ = EventLoop::create({&clock_}).value();

    void spin(int rounds = 3) {
        for (int i = 0; i < rounds; ++i) {
            loop_->run_once(0ms);
        }
    }
};

sys::UniqueFd make_eventfd() { return sys::UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)); }

void signal_eventfd(int fd) {
    uint64_t one = 1;
    ASSERT_EQ(::write(fd, &one, sizeof one), static_cast<ssize_t>(sizeof one));
}

TEST_F(EventLoopTest, OneShotTimerFiresOnceWhenItsTimeComes) {
    int fired = 0;
    Timer timer = loop_->add_timer(100ms, [&] { ++fired; });
    spin();
    EXPECT_EQ(fired, 0);
    EXPECT_TRUE(timer.active());
    clock_.advance(100ms);
    spin();
    EXPECT_EQ(fired, 1);
    EXPECT_FALSE(timer.active());
    clock_.advance(1s);
    spin();
    EXPECT_EQ(fired, 1);
}

TEST_F(EventLoopTest, DestroyingATimerCancelsIt) {
    int fired = 0;
    {
        Timer timer = loop_->add_timer(10ms, [&] { ++fired; });
    }
    clock_.advance(1s);
    spin();
    EXPECT_EQ(fired, 0);
}

TEST_F(EventLoopTest, PeriodicTimerCoalescesLateTicks) {
    int fired = 0;
    Timer timer = loop_->add_periodic(10ms, [&] { ++fired; });
    clock_.advance(10ms);
    spin(1);
    EXPECT_EQ(fired, 1);
    clock_.advance(35ms);  // three intervals late: one call, then back on the 10 ms grid
    spin(1);
    EXPECT_EQ(fired, 2);
    clock_.advance(4ms);  // 49 ms: the next tick is at 50 ms
    spin(1);
    EXPECT_EQ(fired, 2);
    clock_.advance(1ms);
    spin(1);
    EXPECT_EQ(fired, 3);
}

TEST_F(EventLoopTest, ATimerMayCancelItselfAndOthersFromItsCallback) {
    int first = 0;
    int second = 0;
    Timer a;
    Timer b;
    // Both due at once; `a` was added first, so it runs first and cancels `b` before its turn.
    a = loop_->add_periodic(10ms, [&] {
        ++first;
        a.cancel();
        b.cancel();
    });
    b = loop_->add_timer(10ms, [&] { ++second; });
    clock_.advance(20ms);
    spin();
    EXPECT_EQ(first, 1);
    EXPECT_EQ(second, 0);
    EXPECT_FALSE(a.active());
}

TEST_F(EventLoopTest, MovedTimerKeepsRunningAndTheSourceIsInert) {
    int fired = 0;
    Timer original = loop_->add_timer(10ms, [&] { ++fired; });
    Timer moved = std::move(original);
    original.cancel();  // NOLINT(bugprone-use-after-move): a moved-from handle is inert
    clock_.advance(10ms);
    spin();
    EXPECT_EQ(fired, 1);
}

TEST_F(EventLoopTest, FdWatchDeliversReadinessAndClosesOnReset) {
    int fired = 0;
    auto watch = loop_->watch(make_eventfd(), EPOLLIN, [&](uint32_t events) {
        EXPECT_TRUE(events & EPOLLIN);
        ++fired;
    });
    ASSERT_TRUE(watch);
    int fd = watch->fd();
    signal_eventfd(fd);
    spin(1);
    EXPECT_GE(fired, 1);
    watch->reset();
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);  // closed
}

TEST_F(EventLoopTest, AnFdCallbackMayDestroyItsOwnWatch) {
    std::optional<FdWatch> watch;
    int fired = 0;
    watch = loop_
                ->watch(make_eventfd(), EPOLLIN,
                        [&](uint32_t) {
                            ++fired;
                            watch.reset();
                        })
                .value();
    signal_eventfd(watch->fd());
    spin();
    EXPECT_EQ(fired, 1);
    EXPECT_FALSE(watch.has_value());
}

TEST_F(EventLoopTest, ReleasedDescriptorLeavesTheLoopButStaysOpen) {
    int fired = 0;
    auto watch = loop_->watch(make_eventfd(), EPOLLIN, [&](uint32_t) { ++fired; }).value();
    sys::UniqueFd fd = watch.release();
    ASSERT_TRUE(fd.valid());
    signal_eventfd(fd.get());
    spin();
    EXPECT_EQ(fired, 0);
}

TEST_F(EventLoopTest, DeferredRunsOnceAtTheEndOfTheIterationItWasRequestedIn) {
    int flushed = 0;
    Deferred flush = loop_->defer([&] { ++flushed; });
    flush.request();
    flush.request();
    spin(1);
    EXPECT_EQ(flushed, 1);
    spin(1);
    EXPECT_EQ(flushed, 1);
    flush.request();
    flush.reset();
    spin(1);
    EXPECT_EQ(flushed, 1);
}

TEST_F(EventLoopTest, PostFromAnotherThreadRunsOnTheLoopThread) {
    std::atomic<bool> ran{false};
    std::thread::id ran_on;
    std::thread other([&] {
        loop_->post([&] {
            ran_on = std::this_thread::get_id();
            ran = true;
        });
    });
    other.join();
    for (int i = 0; i < 100 && !ran; ++i) {
        loop_->run_once(10ms);
    }
    EXPECT_TRUE(ran);
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    EXPECT_TRUE(loop_->is_loop_thread());
}

TEST_F(EventLoopTest, ALoopThatIsNotWaitingCannotBeBorrowed) {
    EXPECT_FALSE(loop_->try_borrow()) << "not inside run_once";
    bool tried = false;
    bool borrowed_while_busy = true;
    loop_->post([&] {
        std::thread other([&] { borrowed_while_busy = loop_->try_borrow().has_value(); });
        other.join();
        tried = true;
    });
    for (int i = 0; i < 100 && !tried; ++i) {
        loop_->run_once(10ms);
    }
    ASSERT_TRUE(tried);
    EXPECT_FALSE(borrowed_while_busy) << "borrowed while a callback ran";
}

TEST_F(EventLoopTest, ASleepingLoopIsBorrowedAndStaysAsleepUntilTheLeaseEnds) {
    std::thread runner([&] { loop_->run(); });
    auto borrow = [&]() -> std::optional<IdleLease> {
        for (auto deadline = SteadyClock::now() + 10s; SteadyClock::now() < deadline;) {
            if (auto lease = loop_->try_borrow()) {
                return lease;
            }
            std::this_thread::sleep_for(100us);
        }
        return std::nullopt;
    };
    std::optional<IdleLease> lease = borrow();
    ASSERT_TRUE(lease) << "the loop was never found asleep";
    // In the loop's place: a Deferred requested now runs when the lease ends, on this thread.
    std::thread::id flushed_on;
    Deferred flush = loop_->defer([&] { flushed_on = std::this_thread::get_id(); });
    flush.request();
    std::atomic<bool> posted_ran{false};
    loop_->post([&] { posted_ran = true; });  // wakes the loop, which waits for the lease
    std::this_thread::sleep_for(20ms);
    EXPECT_FALSE(posted_ran) << "the loop ran while its place was borrowed";
    lease.reset();
    EXPECT_EQ(flushed_on, std::this_thread::get_id());
    for (int i = 0; i < 1000 && !posted_ran; ++i) {
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_TRUE(posted_ran);
    loop_->stop();
    runner.join();
}

TEST_F(EventLoopTest, StopFromAnotherThreadEndsRunAndALaterRunRunsAgain) {
    std::thread stopper([&] { loop_->stop(); });
    loop_->run();  // returns once the stop arrives
    stopper.join();
    EXPECT_FALSE(loop_->stop_requested());
    int ran = 0;
    loop_->post([&] {
        ++ran;
        loop_->stop();
    });
    loop_->run();
    EXPECT_EQ(ran, 1);
}

TEST_F(EventLoopTest, HandlesOutliveTheLoopHarmlessly) {
    Timer timer = loop_->add_timer(1s, [] {});
    Deferred deferred = loop_->defer([] {});
    auto watch = loop_->watch(make_eventfd(), EPOLLIN, [](uint32_t) {}).value();
    int fd = watch.fd();
    loop_.reset();
    timer.cancel();
    deferred.request();
    EXPECT_FALSE(timer.active());
    watch.reset();
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1);
}

TEST(EventLoopRealTime, ChildWatchReportsTheExitStatus) {
    auto loop = EventLoop::create().value();
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ::_exit(7);
    }
    std::optional<int> status;
    ChildWatch watch = loop->watch_child(pid, [&](int s) { status = s; });
    auto deadline = SteadyClock::now() + 10s;
    while (!status && SteadyClock::now() < deadline) {
        loop->run_once(50ms);
    }
    ASSERT_TRUE(status.has_value());
    EXPECT_TRUE(WIFEXITED(*status));
    EXPECT_EQ(WEXITSTATUS(*status), 7);
}

TEST(EventLoopRealTime, TimersFireOnTimeWithoutPolling) {
    auto loop = EventLoop::create().value();
    auto start = SteadyClock::now();
    bool fired = false;
    Timer timer = loop->add_timer(30ms, [&] { fired = true; });
    // One long wait: the timer, not the timeout, must end it.
    loop->run_once(5s);
    EXPECT_TRUE(fired);
    EXPECT_LT(SteadyClock::now() - start, 2s);
}

TEST(EventLoopRealTime, SignalHandlerRuns) {
    auto loop = EventLoop::create().value();
    bool got = false;
    loop->on_signal(SIGHUP, [&] { got = true; });
    ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
    auto deadline = SteadyClock::now() + 5s;
    while (!got && SteadyClock::now() < deadline) {
        loop->run_once(50ms);
    }
    EXPECT_TRUE(got);
}

TEST(EventLoopRealTime, ALoopThatDoesNotHandleSignalsLeavesThemToTheOneThatDoes) {
    auto main_loop = EventLoop::create().value();
    auto network_loop = EventLoop::create({nullptr, /*handle_signals=*/false}).value();
    bool got = false;
    main_loop->on_signal(SIGHUP, [&] { got = true; });
    ASSERT_EQ(::kill(::getpid(), SIGHUP), 0);
    // Had the second loop a signalfd too, it would read (and drop) the signal here.
    for (int i = 0; i < 5; ++i) {
        network_loop->run_once(10ms);
    }
    auto deadline = SteadyClock::now() + 5s;
    while (!got && SteadyClock::now() < deadline) {
        main_loop->run_once(50ms);
    }
    EXPECT_TRUE(got);
}

}  // namespace
}  // namespace dora
