// Child processes on the daemon's loop: WatchedProcess (nodes and builds) and BuildRunner.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "daemon/build_runner.hpp"
#include "daemon/watched_process.hpp"
#include "testing/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace dora::daemon {
namespace {

class ProcessTest : public ::testing::Test {
  protected:
    std::unique_ptr<EventLoop> loop_ = EventLoop::create().value();

    template <typename Condition>
    bool run_until(Condition cond, std::chrono::milliseconds limit = 10s) {
        auto deadline = SteadyClock::now() + limit;
        while (!cond() && SteadyClock::now() < deadline) {
            loop_->run_once(20ms);
        }
        return cond();
    }
};

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST_F(ProcessTest, LinesArriveBeforeTheExitThatFollowsThem) {
    std::vector<std::string> lines;
    std::optional<int> status;
    auto process = WatchedProcess::spawn(
        *loop_, SpawnSpec{{"sh", "-c", "echo one; echo two >&2; printf three; exit 3"}, "/", {}},
        [&](std::string_view stream, std::string_view line) {
            lines.push_back(std::string(stream) + ":" + std::string(line));
        },
        [&](int s) {
            status = s;
            EXPECT_EQ(lines.size(), 3u);  // everything it wrote, before its exit
        });
    ASSERT_TRUE(process) << process.error().message();
    ASSERT_TRUE(run_until([&] { return status.has_value(); }));
    EXPECT_EQ(describe_wait_status(*status), "exited with status 3");
    std::sort(lines.begin(), lines.end());
    EXPECT_EQ(lines, (std::vector<std::string>{"stderr:two", "stdout:one", "stdout:three"}));
}

TEST_F(ProcessTest, TheExitHandlerMayDestroyTheProcessObject) {
    std::unique_ptr<WatchedProcess> process;
    bool exited = false;
    process = WatchedProcess::spawn(
                  *loop_, SpawnSpec{{"true"}, "/", {}}, [](std::string_view, std::string_view) {},
                  [&](int) {
                      process.reset();
                      exited = true;
                  })
                  .value();
    ASSERT_TRUE(run_until([&] { return exited; }));
    EXPECT_EQ(process, nullptr);
}

TEST_F(ProcessTest, DestroyingARunningProcessKillsItsWholeGroup) {
    testing::TempDir dir;
    auto pid_file = dir.path() / "grandchild";
    auto process =
        WatchedProcess::spawn(
            *loop_,
            SpawnSpec{
                {"sh", "-c", "sleep 60 & echo $! > " + pid_file.string() + "; wait"}, "/", {}},
            [](std::string_view, std::string_view) {}, [](int) {})
            .value();
    pid_t child = process->pid();
    ASSERT_TRUE(run_until([&] { return fs::exists(pid_file) && fs::file_size(pid_file) > 0; }));
    pid_t grandchild = 0;
    std::ifstream(pid_file) >> grandchild;
    ASSERT_GT(grandchild, 0);
    process.reset();
    EXPECT_FALSE(process_exists(child));  // reaped, not a zombie
    // The grandchild got SIGKILL with the group; it is reparented, so it may linger briefly.
    EXPECT_TRUE(run_until([&] { return !process_exists(grandchild); }, 5s));
}

TEST_F(ProcessTest, BuildStepsRunInOrderInTheirDirectoriesAndStreamTheirOutput) {
    testing::TempDir dir;
    auto quoted = dir.path() / "it's a dir";  // a quote once broke `cd '<dir>' && ...`
    fs::create_directories(quoted);
    BuildRunner runner(*loop_, {{"PATH", "/usr/bin:/bin"}});
    std::vector<std::string> lines;
    std::optional<bool> success;
    runner.run(
        {{"a", "pwd; echo first", quoted}, {"b", "echo second >&2", dir.path()}},
        [&](const std::string& node, std::string_view line) {
            lines.push_back(node + ":" + std::string(line));
        },
        [&](bool ok, const std::string&) { success = ok; });
    ASSERT_TRUE(run_until([&] { return success.has_value(); }));
    EXPECT_TRUE(*success);
    EXPECT_EQ(lines, (std::vector<std::string>{"a:" + quoted.string(), "a:first", "b:second"}));
    EXPECT_EQ(runner.running(), 0u);
}

TEST_F(ProcessTest, AFailedBuildStepEndsTheRequestNamingNodeCommandAndStatus) {
    testing::TempDir dir;
    BuildRunner runner(*loop_, {{"PATH", "/usr/bin:/bin"}});
    std::optional<std::string> failure;
    bool second_ran = false;
    runner.run(
        {{"broken", "exit 7", dir.path()}, {"later", "echo ran", dir.path()}},
        [&](const std::string& node, std::string_view) { second_ran |= node == "later"; },
        [&](bool ok, const std::string& message) {
            EXPECT_FALSE(ok);
            failure = message;
        });
    ASSERT_TRUE(run_until([&] { return failure.has_value(); }));
    EXPECT_NE(failure->find("broken"), std::string::npos) << *failure;
    EXPECT_NE(failure->find("exit 7"), std::string::npos) << *failure;
    EXPECT_NE(failure->find("exited with status 7"), std::string::npos) << *failure;
    EXPECT_FALSE(second_ran);
}

TEST_F(ProcessTest, AFailedStepNamesItsLastLineAndWhatToCheck) {
    testing::TempDir dir;
    BuildRunner runner(*loop_, {{"PATH", "/usr/bin:/bin"}});
    BuildRunner::Step step{"fetcher", "", dir.path()};
    step.argv = {"/bin/sh", "-c", "echo first >&2; echo 'HTTP 404' >&2; exit 122"};
    step.what = "node fetcher: downloading u";
    step.hint = [](int code) { return code == 122 ? std::string("check the URL") : ""; };
    std::optional<std::string> failure;
    runner.run(
        {step}, [](const std::string&, std::string_view) {},
        [&](bool, const std::string& message) { failure = message; });
    ASSERT_TRUE(run_until([&] { return failure.has_value(); }));
    EXPECT_EQ(*failure,
              "node fetcher: downloading u exited with status 122 (its last line: HTTP 404); "
              "check the URL");
}

TEST_F(ProcessTest, TheLoopKeepsServingTimersWhileABuildRuns) {
    testing::TempDir dir;
    BuildRunner runner(*loop_, {{"PATH", "/usr/bin:/bin"}});
    bool done = false;
    runner.run(
        {{"slow", "sleep 1", dir.path()}}, [](const std::string&, std::string_view) {},
        [&](bool, const std::string&) { done = true; });
    int ticks = 0;
    Timer tick = loop_->add_periodic(50ms, [&] { ++ticks; });
    ASSERT_TRUE(run_until([&] { return done; }));
    EXPECT_GE(ticks, 10);  // ~20 in a second: the loop never waited for the build
}

TEST_F(ProcessTest, CancellingBuildsKillsThemAndReportsTheCancellation) {
    testing::TempDir dir;
    BuildRunner runner(*loop_, {{"PATH", "/usr/bin:/bin"}});
    std::optional<std::string> failure;
    runner.run(
        {{"forever", "sleep 60", dir.path()}}, [](const std::string&, std::string_view) {},
        [&](bool, const std::string& message) { failure = message; });
    loop_->run_once(0ms);
    runner.cancel_all();
    ASSERT_TRUE(failure.has_value());
    EXPECT_NE(failure->find("cancelled"), std::string::npos);
    EXPECT_EQ(runner.running(), 0u);
}

}  // namespace
}  // namespace dora::daemon
