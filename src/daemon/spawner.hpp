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
#include <vector>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace dora::daemon {

struct SpawnSpec {
    std::vector<std::string> argv;  // argv[0] is looked up in PATH when it has no '/'
    std::filesystem::path working_dir;
    std::map<std::string, std::string> env;  // the complete environment of the process
};

struct SpawnedProcess {
    pid_t pid = -1;
    sys::UniqueFd stdout_fd;  // non-blocking read ends
    sys::UniqueFd stderr_fd;
};

[[nodiscard]] Result<SpawnedProcess> spawn_process(const SpawnSpec& spec);

// The current process environment as a map.
[[nodiscard]] std::map<std::string, std::string> current_environment();

// "exited with status 3", "was killed by signal 9 (SIGKILL)".
[[nodiscard]] std::string describe_wait_status(int wait_status);

}  // namespace dora::daemon
