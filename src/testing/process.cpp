#include "testing/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include "testing/wait.hpp"

extern char** environ;

namespace dora::testing {

namespace {

using namespace std::chrono_literals;

// The parent's environment with `changes` applied, as "KEY=VALUE" strings.
std::vector<std::string> child_environment(
    const std::map<std::string, std::optional<std::string>>& changes) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string_view entry(*e);
        auto key = std::string(entry.substr(0, entry.find('=')));
        if (!changes.contains(key)) {
            env.emplace_back(entry);
        }
    }
    for (const auto& [key, value] : changes) {
        if (value) {
            env.push_back(key + "=" + *value);
        }
    }
    return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (auto& s : strings) {
        out.push_back(s.data());
    }
    out.push_back(nullptr);
    return out;
}

// Appends what was written to `fd` since `text.size()` bytes.
void read_new(int fd, std::string& text) {
    if (fd < 0) {
        return;
    }
    char buffer[65536];
    for (;;) {
        ssize_t n = ::pread(fd, buffer, sizeof buffer, static_cast<off_t>(text.size()));
        if (n <= 0) {
            return;
        }
        text.append(buffer, static_cast<size_t>(n));
    }
}

}  // namespace

Process::Process(std::vector<std::string> argv, SpawnOptions options) {
    out_fd_ = ::memfd_create("dora-test-stdout", MFD_CLOEXEC);
    err_fd_ = ::memfd_create("dora-test-stderr", MFD_CLOEXEC);
    auto fail = [&](const std::string& why) {
        err_ = why + "\n";
        exited_ = true;
        status_ = 127 << 8;  // as a shell reports a command it could not run
    };
    if (out_fd_ < 0 || err_fd_ < 0 || argv.empty()) {
        fail(argv.empty() ? "no program to run"
                          : std::string("memfd_create: ") + std::strerror(errno));
        return;
    }
    auto env = child_environment(options.env);
    auto env_pointers = pointers(env);
    auto arg_pointers = pointers(argv);

    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attributes);
    ::posix_spawn_file_actions_adddup2(&actions, out_fd_, STDOUT_FILENO);
    ::posix_spawn_file_actions_adddup2(&actions, err_fd_, STDERR_FILENO);
    if (!options.cwd.empty()) {
        ::posix_spawn_file_actions_addchdir_np(&actions, options.cwd.c_str());
    }
    // The child starts with no blocked signals and default dispositions, whatever the test did.
    sigset_t none;
    sigset_t defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2}) {
        sigaddset(&defaults, sig);
    }
    ::posix_spawnattr_setsigmask(&attributes, &none);
    ::posix_spawnattr_setsigdefault(&attributes, &defaults);
    ::posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = ::posix_spawn(&pid_, argv[0].c_str(), &actions, &attributes, arg_pointers.data(),
                           env_pointers.data());
    ::posix_spawn_file_actions_destroy(&actions);
    ::posix_spawnattr_destroy(&attributes);
    if (rc != 0) {
        pid_ = -1;
        fail("cannot run " + argv[0] + ": " + std::strerror(rc));
    }
}

Process::~Process() {
    if (pid_ > 0 && !exited()) {
        terminate();
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    if (err_fd_ >= 0) ::close(err_fd_);
}

const std::string& Process::out() {
    refresh();
    return out_;
}

const std::string& Process::err() {
    refresh();
    return err_;
}

std::string Process::all() {
    refresh();
    return out_ + err_;
}

void Process::refresh() {
    read_new(out_fd_, out_);
    read_new(err_fd_, err_);
}

void Process::reap() {
    if (pid_ > 0 && !exited_ && ::waitpid(pid_, &status_, WNOHANG) == pid_) {
        exited_ = true;
    }
}

bool Process::exited() {
    reap();
    return exited_;
}

bool Process::wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    return wait_until(
        [&] {
            reap();
            refresh();
            return done();
        },
        timeout, 5ms);
}

bool Process::wait_for_text(const std::string& text, std::chrono::milliseconds timeout,
                            bool on_stderr) {
    return wait_for([&] { return (on_stderr ? err_ : out_).find(text) != std::string::npos; },
                    timeout);
}

int Process::wait(std::chrono::milliseconds timeout) {
    if (!wait_for([this] { return exited_; }, timeout)) {
        signal(SIGKILL);
        if (pid_ > 0 && ::waitpid(pid_, &status_, 0) == pid_) {
            exited_ = true;
        }
        refresh();
        return -1;
    }
    refresh();  // whatever was written between the last read and the exit
    return status_;
}

int Process::terminate(std::chrono::milliseconds grace) {
    if (exited()) {
        return status_;
    }
    signal(SIGTERM);
    if (wait(grace) == -1) {
        return -1;
    }
    return status_;
}

void Process::signal(int sig) const {
    if (pid_ > 0 && !exited_) {
        ::kill(pid_, sig);
    }
}

int exit_code(int status) { return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1; }

std::string describe_status(int status) {
    if (status < 0) {
        return "no status (timed out and killed)";
    }
    if (WIFEXITED(status)) {
        return "exit code " + std::to_string(WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        const char* name = ::sigabbrev_np(WTERMSIG(status));
        return "signal " + std::to_string(WTERMSIG(status)) + " (SIG" +
               (name != nullptr ? name : "?") + ")";
    }
    return "status " + std::to_string(status);
}

bool process_gone(pid_t pid) {
    if (::kill(pid, 0) != 0) {
        return true;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = content.rfind(')');
    return close == std::string::npos || (close + 2 < content.size() && content[close + 2] == 'Z');
}

}  // namespace dora::testing
