// `dora build` on this machine: runs the build commands of a dataflow's nodes as child processes
// watched by the daemon's loop, so running dataflows, heartbeats and other requests go on while a
// build takes minutes. The steps of one request run one after the other (their output stays
// readable, and a later step may need an earlier one's result); each is `sh -c <build>` in the
// node's working directory, its stdout and stderr streamed line by line as they come. The first
// failing step ends the request with the node, command and exit status named, the step's last
// output line, and (for the steps that fetch a node's source) what to check.
//
// Thread safety: the loop thread only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/event_loop.hpp"
#include "daemon/watched_process.hpp"

namespace dora::daemon {

class BuildRunner {
  public:
    struct Step {
        std::string node_id;
        std::string command;
        std::filesystem::path working_dir;
        // When set, run this instead of `sh -c <command>` (the steps that fetch node sources).
        std::vector<std::string> argv{};
        // How failures name the step; "the build of node <id> (<command>)" when empty.
        std::string what{};
        // What to check, from the step's exit code; appended to the failure message.
        std::function<std::string(int exit_code)> hint{};
        // What a source-fetching step creates (its clone directory or downloaded file).
        std::filesystem::path target{};
    };
    using LineHandler = std::function<void(const std::string& node_id, std::string_view line)>;
    // `message` names the failed node, its command and exit status; "" on success.
    using DoneHandler = std::function<void(bool success, const std::string& message)>;

    // `env` is the complete environment of build commands.
    BuildRunner(EventLoop& loop, std::map<std::string, std::string> env);
    BuildRunner(const BuildRunner&) = delete;
    BuildRunner& operator=(const BuildRunner&) = delete;

    // Starts the steps of one request; `on_done` runs once, after the last step or the first
    // failure (at once when there are no steps).
    void run(std::vector<Step> steps, LineHandler on_line, DoneHandler on_done);
    [[nodiscard]] size_t running() const { return jobs_.size(); }
    // Kills every running build (the daemon is shutting down); their requests end as failed.
    void cancel_all();

  private:
    struct Job {
        uint64_t id = 0;
        std::vector<Step> steps;
        size_t next = 0;
        LineHandler on_line;
        DoneHandler on_done;
        std::unique_ptr<WatchedProcess> process;
        std::string last_line;  // of the running step, for its failure message
    };
    void start_next(Job& job);
    void on_step_exit(uint64_t job_id, int status);
    void finish(uint64_t job_id, bool success, const std::string& message);
    [[nodiscard]] static std::string failure_message(const Job& job, int status);

    EventLoop& loop_;
    std::map<std::string, std::string> env_;
    uint64_t next_job_ = 1;
    std::map<uint64_t, Job> jobs_;
    // Finished steps' processes, destroyed outside their own exit callbacks.
    std::vector<std::unique_ptr<WatchedProcess>> finished_;
    Deferred reap_;
};

}  // namespace dora::daemon
