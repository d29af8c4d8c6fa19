// Starting node processes.
//
// spawn_process forks and execs one process with its own working directory, environment and
// process group, stdout and stderr on pipes, and PR_SET_PDEATHSIG = SIGKILL so that the process
// dies with the daemon whatever kills the daemon. An exec failure (missing file, no permission)
// is reported as an error of spawn_process, not as a mysterious exit status.
//
// Thread safety: free functions; call from the daemon's loop thread (the thread whose death
// triggers PDEATHSIG).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace dora::daemon {

struct SpawnSpec {
    std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
    std::filesystem::path working_dir;
    std::map<std::string, std::string> env;  // the complete environment of the process
};

// A child process in its own process group, owned: destroying it while it may still run kills
// the group (SIGKILL) and reaps it, so no child outlives its owner by accident. Whoever reaps the
// process (the event loop's ChildWatch) calls reaped(), after which the pid is never signalled
// again (it may belong to another process by then).
class ChildProcess {
  public:
    ChildProcess() = default;
    explicit ChildProcess(pid_t pid) : pid_(pid) {}
    ChildProcess(ChildProcess&& other) noexcept : pid_(std::exchange(other.pid_, -1)) {}
    ChildProcess& operator=(ChildProcess&& other) noexcept;
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;
    ~ChildProcess() { kill_and_reap(); }

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] bool running() const { return pid_ > 0; }
    // Sends `signal` to the process and its group (no-op once reaped).
    void signal_group(int signal) const;
    // The process was reaped elsewhere: forget it.
    void reaped() { pid_ = -1; }
    // SIGKILL to the group, then a blocking wait (quick: the process cannot ignore SIGKILL).
    void kill_and_reap();

  private:
    pid_t pid_ = -1;
};

struct SpawnedProcess {
    ChildProcess process;
    sys::UniqueFd stdout_fd;  // non-blocking read ends
    sys::UniqueFd stderr_fd;
};

[[nodiscard]] Result<SpawnedProcess> spawn_process(const SpawnSpec& spec);

// The current process environment as a map.
[[nodiscard]] std::map<std::string, std::string> current_environment();

// "exited with status 3", "was killed by signal 9 (SIGKILL)".
[[nodiscard]] std::string describe_wait_status(int wait_status);

}  // namespace dora::daemon
