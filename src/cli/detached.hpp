// Starting this `dora` executable again in the background, detached from the terminal (its own
// session, stdin from /dev/null, output appended to a log file): how `dora up` and
// `dora cluster up` start a coordinator or daemon that outlives them.
//
// Thread safety: free functions; call from the CLI's main thread (fork).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace dora::cli {

struct Started {
    pid_t pid = -1;
    std::filesystem::path log;
};

// Runs this `dora` binary with `args` in its own session; throws dora::Exception on failure.
[[nodiscard]] Started spawn_detached(const std::vector<std::string>& args,
                                     const std::filesystem::path& log);

// The last 2000 bytes of `file` (a log, for an error message).
[[nodiscard]] std::string log_tail(const std::filesystem::path& file);

// True once the child `pid` has exited (reaps it).
[[nodiscard]] bool child_exited(pid_t pid);

}  // namespace dora::cli
