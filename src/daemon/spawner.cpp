#include "daemon/spawner.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace dora::daemon {

namespace {

struct Pipe {
    sys::UniqueFd read;
    sys::UniqueFd write;
};

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return fail(sys::errno_error("pipe2"));
    }
    return Pipe{sys::UniqueFd(fds[0]), sys::UniqueFd(fds[1])};
}

// Runs in the child between fork and exec: async-signal-safe calls only. Reports errno and the
// failing step through `report` and exits.
[[noreturn]] void child_fail(int report, int step) {
    int msg[2] = {step, errno};
    // Nothing is left to do if this fails: the parent then sees exit status 127 without a reason.
    (void)!::write(report, msg, sizeof msg);
    ::_exit(127);
}

const char* step_name(int step) {
    switch (step) {
        case 1:
            return "changing to the working directory";
        case 2:
            return "redirecting output";
        case 3:
            return "executing";
        default:
            return "preparing";
    }
}

}  // namespace

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
    if (this != &other) {
        kill_and_reap();
        pid_ = std::exchange(other.pid_, -1);
    }
    return *this;
}

void ChildProcess::signal_group(int signal) const {
    if (pid_ > 0) {
        // The group may be gone already (ESRCH) while the leader is a zombie: nothing to do then.
        ::kill(-pid_, signal);
        ::kill(pid_, signal);
    }
}

void ChildProcess::kill_and_reap() {
    if (pid_ <= 0) {
        return;
    }
    signal_group(SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

std::map<std::string, std::string> current_environment() {
    std::map<std::string, std::string> env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view kv(*e);
        auto eq = kv.find('=');
        if (eq != std::string_view::npos) {
            env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
        }
    }
    return env;
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) {
        return fmt::format("exited with status {}", WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char* name = sigabbrev_np(sig);
        return fmt::format("was killed by signal {} (SIG{})", sig, name ? name : "?");
    }
    return fmt::format("ended with wait status {:#x}", status);
}

Result<SpawnedProcess> spawn_process(const SpawnSpec& spec) {
    if (spec.argv.empty()) {
        return fail("nothing to execute: empty command line");
    }
    auto out = make_pipe();
    auto err = make_pipe();
    auto report = make_pipe();
    if (!out || !err || !report) {
        return fail(!out ? out.error() : !err ? err.error() : report.error());
    }
    // Everything the child needs is prepared before fork: no allocation after it.
    std::vector<char*> argv;
    for (const auto& a : spec.argv) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (const auto& [k, v] : spec.env) {
        env_strings.push_back(k + "=" + v);
    }
    std::vector<char*> envp;
    for (auto& s : env_strings) {
        envp.push_back(s.data());
    }
    envp.push_back(nullptr);
    std::string dir = spec.working_dir.string();
    const pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) {
        return fail(sys::errno_error("fork"));
    }
    if (pid == 0) {
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127);  // the daemon died before we set PDEATHSIG
        }
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD}) {
            ::signal(s, SIG_DFL);
        }
        if (!dir.empty() && ::chdir(dir.c_str()) != 0) {
            child_fail(report->write.get(), 1);
        }
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(out->write.get(), 1) < 0 ||
            ::dup2(err->write.get(), 2) < 0) {
            child_fail(report->write.get(), 2);
        }
        // The node gets the limit the daemon was started with; last, because until exec closes
        // them the child holds the daemon's descriptors, numbered beyond that limit.
        sys::restore_open_file_limit();
        ::execvpe(argv[0], argv.data(), envp.data());
        child_fail(report->write.get(), 3);
    }
    ::setpgid(pid, pid);      // also from the parent: no race with the kill of a group
    ChildProcess child(pid);  // from here on, any early return kills and reaps it
    out->write.reset();
    err->write.reset();
    report->write.reset();
    int msg[2] = {0, 0};
    ssize_t n;
    do {
        n = ::read(report->read.get(), msg, sizeof msg);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof msg)) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        child.reaped();
        return fail("{} {} in {}: {}", step_name(msg[0]), spec.argv[0], dir, std::strerror(msg[1]));
    }
    if (auto ok = sys::set_nonblocking(out->read.get()); !ok) {
        return fail(ok.error());
    }
    if (auto ok = sys::set_nonblocking(err->read.get()); !ok) {
        return fail(ok.error());
    }
    return SpawnedProcess{std::move(child), std::move(out->read), std::move(err->read)};
}

}  // namespace dora::daemon
