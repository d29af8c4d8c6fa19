// A child process the event loop watches: spawned with spawn_process, its stdout and stderr read
// as lines as they come, its exit reported once what it wrote before exiting has been read. Node
// processes (LocalDataflow) and build commands (BuildRunner) are both run this way, so neither
// ever blocks the daemon's loop.
//
// The exit handler runs last: it may destroy this object (e.g. to spawn a replacement). Destroying
// a WatchedProcess whose process still runs kills its process group and reaps it.
//
// Thread safety: the loop thread only.
#pragma once

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string_view>

#include "core/event_loop.hpp"
#include "daemon/line_buffer.hpp"
#include "daemon/spawner.hpp"

namespace dora::daemon {

class WatchedProcess {
  public:
    // `stream` is "stdout" or "stderr"; `line` is without its newline.
    using LineHandler = std::function<void(std::string_view stream, std::string_view line)>;
    using ExitHandler = std::function<void(int wait_status)>;

    [[nodiscard]] static Result<std::unique_ptr<WatchedProcess>> spawn(EventLoop& loop,
                                                                       const SpawnSpec& spec,
                                                                       LineHandler on_line,
                                                                       ExitHandler on_exit);
    WatchedProcess(const WatchedProcess&) = delete;
    WatchedProcess& operator=(const WatchedProcess&) = delete;
    ~WatchedProcess() = default;

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] bool running() const { return process_.running(); }
    // Sends `signal` to the process group while it runs.
    void signal_group(int signal) const { process_.signal_group(signal); }

  private:
    struct Stream {
        const char* name;
        FdWatch watch;
        LineBuffer lines;
    };
    WatchedProcess(LineHandler on_line, ExitHandler on_exit);
    [[nodiscard]] Result<> watch(EventLoop& loop, Stream& stream, sys::UniqueFd fd);
    void drain(Stream& stream);
    void on_exit(int status);

    LineHandler on_line_;
    ExitHandler on_exit_;
    ChildProcess process_;
    pid_t pid_ = -1;
    Stream out_{"stdout", {}, {}};
    Stream err_{"stderr", {}, {}};
    ChildWatch exit_watch_;
};

}  // namespace dora::daemon
