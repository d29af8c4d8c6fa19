// Test helper: runs a real binary with captured stdout/stderr, a deadline, and cleanup.
// Waiting is always for a condition with a deadline, never a fixed sleep.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace dora::testing {

class Process {
  public:
    explicit Process(std::vector<std::string> argv, std::string cwd = {}) {
        int out[2], err[2];
        if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
            return;
        }
        pid_ = ::fork();
        if (pid_ == 0) {
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            ::dup2(out[1], 1);
            ::dup2(err[1], 2);
            if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
                ::_exit(126);
            }
            std::vector<char*> args;
            for (auto& a : argv) args.push_back(a.data());
            args.push_back(nullptr);
            ::execv(args[0], args.data());
            ::_exit(127);
        }
        ::close(out[1]);
        ::close(err[1]);
        out_ = out[0];
        err_ = err[0];
        ::fcntl(out_, F_SETFL, O_NONBLOCK);
        ::fcntl(err_, F_SETFL, O_NONBLOCK);
    }
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process() {
        if (pid_ > 0 && !exited_) {
            ::kill(pid_, SIGKILL);
            int status;
            ::waitpid(pid_, &status, 0);
        }
        if (out_ >= 0) ::close(out_);
        if (err_ >= 0) ::close(err_);
    }

    [[nodiscard]] pid_t pid() const { return pid_; }
    [[nodiscard]] const std::string& out() const { return stdout_; }
    [[nodiscard]] const std::string& err() const { return stderr_; }
    [[nodiscard]] std::string all() const { return stdout_ + stderr_; }

    // Reads output until `done()` holds or the deadline passes; returns done().
    bool pump_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done()) {
            auto now = std::chrono::steady_clock::now();
            if (now >= deadline) {
                return false;
            }
            pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
            int wait_ms = static_cast<int>(std::min<int64_t>(
                50,
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1));
            ::poll(fds, 2, wait_ms);
            drain();
            reap();
        }
        return true;
    }

    // Waits for exit; returns the wait status or -1 on timeout (the process is then killed).
    int wait(std::chrono::milliseconds timeout) {
        if (!pump_until([this] { return exited_ && eof_out_ && eof_err_; }, timeout) && !exited_) {
            ::kill(pid_, SIGKILL);
            return -1;
        }
        return status_;
    }

    [[nodiscard]] bool exited() const { return exited_; }

  private:
    void drain() {
        char buf[65536];
        for (auto [fd, text, eof] :
             {std::tuple{out_, &stdout_, &eof_out_}, std::tuple{err_, &stderr_, &eof_err_}}) {
            for (;;) {
                ssize_t n = ::read(fd, buf, sizeof buf);
                if (n > 0) {
                    text->append(buf, static_cast<size_t>(n));
                    continue;
                }
                if (n == 0) *eof = true;
                break;
            }
        }
    }
    void reap() {
        if (!exited_ && ::waitpid(pid_, &status_, WNOHANG) == pid_) {
            exited_ = true;
        }
    }

    pid_t pid_ = -1;
    int out_ = -1;
    int err_ = -1;
    std::string stdout_, stderr_;
    bool eof_out_ = false, eof_err_ = false, exited_ = false;
    int status_ = 0;
};

// True when `pid` no longer runs (gone, or a zombie).
inline bool process_gone(pid_t pid) {
    if (::kill(pid, 0) != 0) {
        return true;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = content.rfind(')');
    return close == std::string::npos || (close + 2 < content.size() && content[close + 2] == 'Z');
}

inline bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!cond()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

}  // namespace dora::testing
