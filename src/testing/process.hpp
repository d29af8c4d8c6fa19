// Test support: a child process (a real binary) with its stdout and stderr captured, waits with
// deadlines, and clean-up by PID: a Process that is still running when it is destroyed gets
// SIGTERM, then SIGKILL if it has not exited within a few seconds.
//
// Output goes to anonymous in-memory files (memfd), not pipes: a child can never block on a full
// pipe however little the test reads, and nothing is left on disk. out()/err() return everything
// written so far.
//
// Thread safety: a Process is used by one thread. Distinct Processes are independent.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dora::testing {

// Written with designated initializers: {.cwd = dir, .env = {{"KEY", "value"}}} (the default
// member initializers let a caller leave out either).
struct SpawnOptions {
    std::filesystem::path cwd{};  // empty: the test's working directory
    // Environment changes for the child: a value sets the variable, std::nullopt removes it.
    std::map<std::string, std::optional<std::string>> env{};
};

class Process {
  public:
    // Starts argv[0] (a path, not looked up in PATH) with `argv`. A failure to start shows as a
    // process that exited with status 127 and says why on err().
    explicit Process(std::vector<std::string> argv, SpawnOptions options = {});
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }
    // Everything the process wrote so far (read on each call).
    [[nodiscard]] const std::string& out();
    [[nodiscard]] const std::string& err();
    [[nodiscard]] std::string all();  // stdout, then stderr

    // Waits until `done()` holds (output is refreshed before each check) or `timeout` passes;
    // returns done().
    bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout);
    // Waits until `text` appears on stdout (or stderr with `on_stderr`).
    bool wait_for_text(const std::string& text, std::chrono::milliseconds timeout,
                       bool on_stderr = false);

    // Waits for the exit; returns the wait status, or -1 when the deadline passed (the process
    // is then killed with SIGKILL and reaped).
    int wait(std::chrono::milliseconds timeout);
    // SIGTERM, then SIGKILL once `grace` has passed; returns the wait status.
    int terminate(std::chrono::milliseconds grace = std::chrono::seconds(5));
    void signal(int sig) const;

    [[nodiscard]] bool exited();  // reaps the process if it has exited
    [[nodiscard]] int status() const { return status_; }

  private:
    void refresh();
    void reap();

    pid_t pid_ = -1;
    int out_fd_ = -1;
    int err_fd_ = -1;
    std::string out_, err_;
    bool exited_ = false;
    int status_ = -1;
};

// The exit code for a wait status, or -1 when the process did not exit normally.
[[nodiscard]] int exit_code(int status);
// "exit code N", "signal N (NAME)" or "no status (timed out)", for messages.
[[nodiscard]] std::string describe_status(int status);

// True when `pid` no longer runs (gone, or a zombie).
[[nodiscard]] bool process_gone(pid_t pid);

}  // namespace dora::testing
