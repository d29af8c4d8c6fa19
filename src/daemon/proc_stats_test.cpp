#include "daemon/proc_stats.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace dora::daemon {
namespace {

// A real line (Linux 6.x), the command "cat".
constexpr std::string_view kCatStat =
    "10926 (cat) R 10922 10922 8448 0 -1 4194304 98 0 0 0 7 3 2 1 20 0 1 0 5562087 3133440 359 "
    "18446744073709551615 93966634921984 93966634941865 140725124014288 0 0 0 0 0 0 0 0 0 17 0 0 "
    "0 0 0 0 93966634957872 93966634959488 93967267708928 140725124016832 140725124016852 "
    "140725124016852 140725124018155 0\n";

TEST(ProcStat, ReadsStateParentTimesAndStartTime) {
    auto stat = parse_proc_stat(kCatStat);
    ASSERT_TRUE(stat) << stat.error().message();
    EXPECT_EQ(stat->state, 'R');
    EXPECT_EQ(stat->ppid, 10922);
    EXPECT_EQ(stat->utime, 7u);
    EXPECT_EQ(stat->stime, 3u);
    EXPECT_EQ(stat->cutime, 2u);
    EXPECT_EQ(stat->cstime, 1u);
    EXPECT_EQ(stat->starttime, 5562087u);
}

TEST(ProcStat, ACommandWithSpacesAndParenthesesDoesNotShiftTheFields) {
    std::string line(kCatStat);
    line.replace(line.find("(cat)"), 5, "(a) b (c) d)");
    auto stat = parse_proc_stat(line);
    ASSERT_TRUE(stat) << stat.error().message();
    EXPECT_EQ(stat->ppid, 10922);
    EXPECT_EQ(stat->utime, 7u);
    EXPECT_EQ(stat->starttime, 5562087u);
}

TEST(ProcStat, TruncatedOrGarbledLinesAreErrors) {
    EXPECT_FALSE(parse_proc_stat(""));
    EXPECT_FALSE(parse_proc_stat("123 cat R 1 2 3"));  // no parentheses
    auto cut = parse_proc_stat(kCatStat.substr(0, 60));
    ASSERT_FALSE(cut);
    EXPECT_NE(cut.error().message().find("20 needed"), std::string::npos) << cut.error().message();
    std::string garbled(kCatStat);
    garbled.replace(garbled.find(" 7 3 "), 5, " x 3 ");
    EXPECT_FALSE(parse_proc_stat(garbled));
}

TEST(ProcStat, StatmGivesTheResidentPages) {
    auto pages = parse_statm_resident_pages("765 442 413 5 0 123 0\n");
    ASSERT_TRUE(pages);
    EXPECT_EQ(*pages, 442u);
    EXPECT_FALSE(parse_statm_resident_pages("765"));
    EXPECT_FALSE(parse_statm_resident_pages("765 -4 1"));
    EXPECT_FALSE(parse_statm_resident_pages(""));
}

TEST(ProcStat, ReadsThisProcessAndFailsForOneThatDoesNotExist) {
    auto self = read_process_usage(::getpid());
    ASSERT_TRUE(self) << self.error().message();
    EXPECT_GT(self->rss_bytes, 1u << 20);  // a test binary is at least a MiB resident
    EXPECT_LT(self->rss_bytes, 1ull << 32);
    EXPECT_GT(self->start_ns, 0u);
    EXPECT_LE(self->start_ns, boottime_ns());
    EXPECT_FALSE(read_process_usage(0x3fffffff));
}

TEST(ProcStat, DescendantsCountTowardsTheProcess) {
    // A child that spins: its CPU time shows in ours while it runs.
    const auto before = read_process_usage(::getpid());
    ASSERT_TRUE(before);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        volatile uint64_t spins = 0;
        for (;;) {
            spins = spins + 1;
        }
    }
    // Until the child has used 50 ms of CPU (however busy the machine), then once more.
    Result<ProcessUsage> during = before;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
        during = read_process_usage(::getpid());
        if (!during || during->cpu_ns >= before->cpu_ns + 50'000'000) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    ASSERT_TRUE(during) << during.error().message();
    EXPECT_EQ(during->processes, before->processes + 1);
    EXPECT_GE(during->cpu_ns, before->cpu_ns + 50'000'000) << "the child's CPU time is not ours";
    EXPECT_GT(during->rss_bytes, before->rss_bytes) << "nor its memory";
}

constexpr uint64_t kSecond = 1'000'000'000;

TEST(CpuMeter, FirstSampleIsTheAverageSinceTheProcessStarted) {
    CpuMeter meter;
    ProcessUsage usage;
    usage.start_ns = 10 * kSecond;
    usage.cpu_ns = 2 * kSecond;  // 2 s of CPU in 4 s alive
    EXPECT_DOUBLE_EQ(meter.sample("a", 7, usage, 14 * kSecond), 50.0);
}

TEST(CpuMeter, LaterSamplesCoverTheWindowSinceThePreviousOne) {
    CpuMeter meter;
    ProcessUsage usage{kSecond, 0, 0, 1};
    (void)meter.sample("a", 7, usage, 100 * kSecond);
    usage.cpu_ns += 3 * kSecond / 2;  // 1.5 s of CPU in 1 s: one core and a half
    EXPECT_DOUBLE_EQ(meter.sample("a", 7, usage, 101 * kSecond), 150.0);
    usage.cpu_ns += 0;  // idle for 2 s
    EXPECT_DOUBLE_EQ(meter.sample("a", 7, usage, 103 * kSecond), 0.0);
}

TEST(CpuMeter, ASampleSoonAfterAnotherRepeatsTheLastWindow) {
    CpuMeter meter;
    ProcessUsage usage{0, 0, 0, 1};
    (void)meter.sample("a", 7, usage, 100 * kSecond);
    usage.cpu_ns = kSecond / 4;
    EXPECT_DOUBLE_EQ(meter.sample("a", 7, usage, 101 * kSecond), 25.0);
    usage.cpu_ns += kSecond / 100;  // 10 ms in 10 ms would read 100 %
    EXPECT_DOUBLE_EQ(meter.sample("a", 7, usage, 101 * kSecond + kSecond / 100), 25.0);
    // The window that was not closed still counts from 101 s.
    usage.cpu_ns = kSecond / 4 + kSecond / 2;
    EXPECT_DOUBLE_EQ(meter.sample("a", 7, usage, 102 * kSecond), 50.0);
}

TEST(CpuMeter, ARestartedProcessStartsOverAndCpuNeverGoesNegative) {
    CpuMeter meter;
    ProcessUsage usage{5 * kSecond, 0, 0, 1};
    (void)meter.sample("a", 7, usage, 10 * kSecond);
    ProcessUsage fresh{kSecond / 10, 0, 20 * kSecond, 1};  // new pid, started at 20 s
    EXPECT_DOUBLE_EQ(meter.sample("a", 8, fresh, 21 * kSecond), 10.0);
    fresh.cpu_ns = 0;  // a descendant's time left the sum
    EXPECT_DOUBLE_EQ(meter.sample("a", 8, fresh, 22 * kSecond), 0.0);
}

TEST(CpuMeter, ForgetsKeysNotSampledSinceTheLastRound) {
    CpuMeter meter;
    ProcessUsage usage{kSecond, 0, 0, 1};
    (void)meter.sample("a", 7, usage, 2 * kSecond);
    (void)meter.sample("b", 9, usage, 2 * kSecond);
    meter.forget_unsampled();
    (void)meter.sample("a", 7, usage, 3 * kSecond);
    meter.forget_unsampled();    // b is gone: its next sample is a first one again
    usage.cpu_ns = 3 * kSecond;  // since its start: 3 s in 4 s (its old window would say 100 %)
    EXPECT_DOUBLE_EQ(meter.sample("b", 9, usage, 4 * kSecond), 75.0);
}

}  // namespace
}  // namespace dora::daemon
