// The test helpers themselves: processes are captured, bounded in time and cleaned up; waiting
// ends at the deadline; scratch directories go away.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "testing/env.hpp"
#include "testing/ports.hpp"
#include "testing/process.hpp"
#include "testing/temp_dir.hpp"
#include "testing/text.hpp"
#include "testing/wait.hpp"

namespace dora::testing {
namespace {

using namespace std::chrono_literals;

TEST(Process, CapturesStdoutAndStderrAndTheExitCode) {
    Process p({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
    EXPECT_EQ(exit_code(p.wait(10s)), 3);
    EXPECT_EQ(p.out(), "out\n");
    EXPECT_EQ(p.err(), "err\n");
}

TEST(Process, RunsInTheGivenDirectoryWithTheGivenEnvironment) {
    TempDir dir;
    ::setenv("DORA_TESTING_REMOVED", "still here", 1);
    Process p({"/bin/sh", "-c", "pwd; echo \"$DORA_TESTING_SET${DORA_TESTING_REMOVED:-gone}\""},
              {.cwd = dir.path(),
               .env = {{"DORA_TESTING_SET", "set-"}, {"DORA_TESTING_REMOVED", std::nullopt}}});
    ::unsetenv("DORA_TESTING_REMOVED");
    EXPECT_EQ(exit_code(p.wait(10s)), 0) << p.all();
    EXPECT_EQ(p.out(), std::filesystem::canonical(dir.path()).string() + "\nset-gone\n");
}

TEST(Process, WaitPastTheDeadlineKillsTheProcess) {
    Process p({"/bin/sh", "-c", "exec sleep 30"});
    auto start = Clock::now();
    EXPECT_EQ(p.wait(100ms), -1);
    EXPECT_LT(Clock::now() - start, 5s);
    EXPECT_TRUE(process_gone(p.pid()));
}

TEST(Process, DestructionStopsARunningProcessByItsPid) {
    pid_t pid = 0;
    {
        Process p({"/bin/sh", "-c", "echo ready; exec sleep 30"});
        ASSERT_TRUE(p.wait_for_text("ready", 10s)) << p.all();
        pid = p.pid();
    }
    EXPECT_TRUE(process_gone(pid));
}

TEST(Process, ProgramThatCannotRunExitsWith127AndSaysWhy) {
    Process p({"/nonexistent/program"});
    EXPECT_EQ(exit_code(p.wait(10s)), 127);
    EXPECT_TRUE(contains(p.err(), "/nonexistent/program"));
}

TEST(Process, DescribesHowAProcessEnded) {
    Process p({"/bin/sh", "-c", "kill -TERM $$"});
    EXPECT_EQ(describe_status(p.wait(10s)), "signal 15 (SIGTERM)");
    EXPECT_EQ(describe_status(-1), "no status (timed out and killed)");
}

TEST(WaitUntil, ReturnsAsSoonAsTheConditionHolds) {
    int polls = 0;
    EXPECT_TRUE(wait_until([&] { return ++polls == 3; }, 10s, 1ms));
    EXPECT_EQ(polls, 3);
}

TEST(WaitUntil, GivesUpAtTheDeadline) {
    auto start = Clock::now();
    EXPECT_FALSE(wait_until([] { return false; }, 50ms));
    EXPECT_GE(Clock::now() - start, 50ms);
    EXPECT_LT(Clock::now() - start, 5s);
}

TEST(Ports, NothingAnswersOnAFreePort) {
    uint16_t port = free_tcp_port();
    EXPECT_NE(port, 0);
    EXPECT_FALSE(tcp_port_answers(port));
}

TEST(TempDir, IsRemovedWithItsContent) {
    std::filesystem::path path;
    {
        TempDir dir("dora-testing-test");
        path = dir.path();
        auto file = dir.write("a/b.txt", "text");
        EXPECT_EQ(read_file(file), "text");
    }
    EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(ScopedEnv, RestoresThePreviousValueOrAbsence) {
    ::setenv("DORA_TESTING_ENV", "before", 1);
    {
        ScopedEnv changed("DORA_TESTING_ENV", "during");
        ScopedEnv added("DORA_TESTING_ADDED", "new");
        EXPECT_STREQ(std::getenv("DORA_TESTING_ENV"), "during");
        EXPECT_STREQ(std::getenv("DORA_TESTING_ADDED"), "new");
    }
    EXPECT_STREQ(std::getenv("DORA_TESTING_ENV"), "before");
    EXPECT_EQ(std::getenv("DORA_TESTING_ADDED"), nullptr);
    ::unsetenv("DORA_TESTING_ENV");
}

TEST(Text, CountsAndReplacesEveryOccurrence) {
    EXPECT_EQ(count_of("a connected b connected ", " connected "), 2u);
    EXPECT_EQ(replace_all("NODE x NODE", "NODE", "/bin/NODE"), "/bin/NODE x /bin/NODE");
    EXPECT_TRUE(contains("one two", "two"));
    EXPECT_FALSE(contains("one two", "three"));
}

}  // namespace
}  // namespace dora::testing
