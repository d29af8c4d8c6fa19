#include "daemon/build_runner.hpp"

#include <signal.h>
#include <sys/wait.h>

namespace dora::daemon {
namespace {

std::string step_name(const BuildRunner::Step& step) {
    if (!step.what.empty()) return step.what;
    return fmt::format("the build of node {} ({})", step.node_id, step.command);
}

}  // namespace

BuildRunner::BuildRunner(EventLoop& loop, std::map<std::string, std::string> env)
    : loop_(loop), env_(std::move(env)), reap_(loop.defer([this] { finished_.clear(); })) {}

void BuildRunner::run(std::vector<Step> steps, LineHandler on_line, DoneHandler on_done) {
    if (steps.empty()) {
        on_done(true, "");
        return;
    }
    uint64_t id = next_job_++;
    Job& job = jobs_[id];
    job.id = id;
    job.steps = std::move(steps);
    job.on_line = std::move(on_line);
    job.on_done = std::move(on_done);
    start_next(job);
}

void BuildRunner::start_next(Job& job) {
    const Step& step = job.steps[job.next];
    SpawnSpec spec;
    // The command line is handed to the shell as one argument: no quoting of the directory or
    // the command can break it.
    spec.argv =
        step.argv.empty() ? std::vector<std::string>{"/bin/sh", "-c", step.command} : step.argv;
    spec.working_dir = step.working_dir;
    spec.env = env_;
    const uint64_t id = job.id;
    const std::string node = step.node_id;
    auto process = WatchedProcess::spawn(
        loop_, spec,
        [this, id, node](std::string_view, std::string_view line) {
            if (auto it = jobs_.find(id); it != jobs_.end()) {
                if (!line.empty()) it->second.last_line = line;
                it->second.on_line(node, line);
            }
        },
        [this, id](int status) { on_step_exit(id, status); });
    if (!process) {
        finish(id, false,
               fmt::format("{} could not start: {}", step_name(step), process.error().message()));
        return;
    }
    job.process = std::move(*process);
}

void BuildRunner::on_step_exit(uint64_t job_id, int status) {
    auto it = jobs_.find(job_id);
    if (it == jobs_.end()) {
        return;
    }
    Job& job = it->second;
    finished_.push_back(std::move(job.process));  // we are inside its exit callback
    reap_.request();
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        finish(job_id, false, failure_message(job, status));
        return;
    }
    job.last_line.clear();
    if (++job.next == job.steps.size()) {
        finish(job_id, true, "");
        return;
    }
    start_next(job);
}

std::string BuildRunner::failure_message(const Job& job, int status) {
    const Step& step = job.steps[job.next];
    std::string message = fmt::format("{} {}", step_name(step), describe_wait_status(status));
    if (!job.last_line.empty()) message += fmt::format(" (its last line: {})", job.last_line);
    if (step.hint && WIFEXITED(status)) {
        if (std::string hint = step.hint(WEXITSTATUS(status)); !hint.empty()) {
            message += "; " + hint;
        }
    }
    return message;
}

void BuildRunner::finish(uint64_t job_id, bool success, const std::string& message) {
    auto node = jobs_.extract(job_id);
    if (node.empty()) {
        return;
    }
    if (node.mapped().process) {
        finished_.push_back(std::move(node.mapped().process));
        reap_.request();
    }
    node.mapped().on_done(success, message);
}

void BuildRunner::cancel_all() {
    std::vector<uint64_t> ids;
    for (const auto& [id, job] : jobs_) {
        ids.push_back(id);
    }
    for (uint64_t id : ids) {
        finish(id, false, "the build was cancelled: the daemon is shutting down");
    }
    finished_.clear();  // kills and reaps what still runs
}

}  // namespace dora::daemon
