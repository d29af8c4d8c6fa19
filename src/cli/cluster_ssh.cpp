#include "cli/cluster_ssh.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>

#include "core/sys.hpp"

namespace dora::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
    sys::UniqueFd read;
    sys::UniqueFd write;
};

Result<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return fail(sys::errno_error("pipe"));
    return Pipe{sys::UniqueFd(fds[0]), sys::UniqueFd(fds[1])};
}

[[noreturn]] void exec_child(const std::vector<std::string>& argv, int in, int out, int err) {
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    ::setpgid(0, 0);  // ssh's own children (a ProxyCommand) go with it on a timeout
    std::vector<char*> raw;
    for (const auto& a : argv) raw.push_back(const_cast<char*>(a.c_str()));
    raw.push_back(nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execvp(raw[0], raw.data());
    ::_exit(127);
}

// Feeds `input` to `in` and reads `out`/`err` until both close or the deadline passes.
Result<bool> pump(int in, int out, int err, std::string_view input, CommandOutput& result,
                  Clock::time_point deadline) {
    size_t written = 0;
    std::array<int, 3> fds{in, out, err};
    std::array<char, 65536> buffer{};
    while (fds[1] >= 0 || fds[2] >= 0) {
        std::array<pollfd, 3> polls{};
        for (size_t i = 0; i < 3; ++i) {
            polls[i] = {fds[i], static_cast<short>(i == 0 ? POLLOUT : POLLIN), 0};
        }
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        if (::poll(polls.data(), 3, static_cast<int>(left.count())) < 0 && errno != EINTR) {
            return fail(sys::errno_error("poll"));
        }
        if (fds[0] >= 0 && (polls[0].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
            ssize_t n = written < input.size()
                            ? ::write(fds[0], input.data() + written, input.size() - written)
                            : 0;
            if (n > 0) written += static_cast<size_t>(n);
            if (n <= 0 || written == input.size()) {
                ::close(fds[0]);
                fds[0] = -1;
            }
        }
        for (size_t i = 1; i < 3; ++i) {
            if (fds[i] < 0 || polls[i].revents == 0) continue;
            ssize_t n = ::read(fds[i], buffer.data(), buffer.size());
            if (n > 0) {
                (i == 1 ? result.out : result.err).append(buffer.data(), static_cast<size_t>(n));
            } else if (n == 0 || errno != EINTR) {
                fds[i] = -1;
            }
        }
    }
    if (fds[0] >= 0) ::close(fds[0]);
    return true;
}

bool contains(const std::string& text, std::string_view part) {
    return text.find(part) != std::string::npos;
}

// The last non-empty line of ssh's stderr (its diagnosis), without the trailing newline.
std::string last_line(const std::string& text) {
    size_t end = text.find_last_not_of("\r\n");
    if (end == std::string::npos) return "(no message)";
    size_t start = text.rfind('\n', end);
    return text.substr(start == std::string::npos ? 0 : start + 1,
                       end - (start == std::string::npos ? 0 : start + 1) + 1);
}

Error ssh_error(const ClusterMachine& m, const std::string& err) {
    std::string said = last_line(err);
    while (!said.empty() && said.back() == '.') said.pop_back();
    if (contains(err, "Permission denied")) {
        return Error::make(
            "ssh could not log in: {}. ssh uses your keys and ~/.ssh/config: add your public "
            "key to ~/.ssh/authorized_keys there (`ssh-copy-id {}{}`), or name the key with "
            "`identity_file:` for this machine",
            said, m.ssh_port ? fmt::format("-p {} ", *m.ssh_port) : "",
            m.user.empty() ? m.host : m.user + "@" + m.host);
    }
    if (contains(err, "Host key verification failed") ||
        contains(err, "REMOTE HOST IDENTIFICATION")) {
        return Error::make(
            "ssh does not trust its host key ({}): connect once with `ssh {}` to check and "
            "accept it, or add `StrictHostKeyChecking=accept-new` to `ssh: options:`",
            said, m.user.empty() ? m.host : m.user + "@" + m.host);
    }
    for (const char* unreachable :
         {"Connection refused", "timed out", "No route to host", "Could not resolve",
          "Network is unreachable", "Connection closed", "Connection reset"}) {
        if (contains(err, unreachable)) {
            return Error::make(
                "unreachable: {}. Check that the machine is on and runs sshd, and its "
                "`host:`/`port:` in the cluster file",
                said);
        }
    }
    return Error::make("ssh failed: {}", said);
}

}  // namespace

Result<CommandOutput> run_command(const std::vector<std::string>& argv, const std::string& input,
                                  const std::string& input_file, std::chrono::seconds timeout) {
    auto out = make_pipe();
    auto err = make_pipe();
    if (!out || !err) return fail(!out ? out.error() : err.error());
    sys::UniqueFd in_read;
    sys::UniqueFd in_write;
    if (!input_file.empty()) {
        in_read = sys::UniqueFd(::open(input_file.c_str(), O_RDONLY | O_CLOEXEC));
        if (!in_read.valid()) return fail(sys::errno_error("opening " + input_file));
    } else {
        auto in = make_pipe();
        if (!in) return fail(in.error());
        in_read = std::move(in->read);
        in_write = std::move(in->write);
    }
    pid_t pid = ::fork();
    if (pid < 0) return fail(sys::errno_error("fork"));
    if (pid == 0) exec_child(argv, in_read.get(), out->write.get(), err->write.get());
    in_read.reset();
    out->write.reset();
    err->write.reset();
    CommandOutput result;
    const int in_fd = in_write.valid() ? in_write.release() : -1;
    auto finished =
        pump(in_fd, out->read.get(), err->read.get(), input, result, Clock::now() + timeout);
    if (!finished || !*finished) ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!finished) return fail(finished.error());
    if (!*finished) {
        return fail("`{}` did not finish within {} s", argv[0], timeout.count());
    }
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (result.exit_code == 127 && result.out.empty() && result.err.empty()) {
        return fail("cannot run `{}`: not found on PATH", argv[0]);
    }
    return result;
}

std::string shell_quote(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') {
            out += "'\\''";
        } else {
            out += c;
        }
    }
    return out + "'";
}

std::string ssh_address(const ClusterMachine& machine) {
    return fmt::format("{}{}:{}", machine.user.empty() ? "" : machine.user + "@", machine.host,
                       machine.ssh_port.value_or(22));
}

std::vector<std::string> ssh_argv(const ClusterFile& file, const ClusterMachine& machine,
                                  const std::string& script) {
    std::vector<std::string> argv{"ssh"};
    if (!file.ssh_config.empty()) argv.insert(argv.end(), {"-F", file.ssh_config});
    // The first value ssh gets for an option wins: the file's options come before ours.
    for (const auto& option : file.ssh_options) argv.insert(argv.end(), {"-o", option});
    argv.insert(argv.end(), {"-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o",
                             "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3"});
    if (!machine.identity_file.empty()) {
        argv.insert(argv.end(), {"-i", machine.identity_file, "-o", "IdentitiesOnly=yes"});
    }
    if (machine.ssh_port) argv.insert(argv.end(), {"-p", std::to_string(*machine.ssh_port)});
    if (!machine.user.empty()) argv.insert(argv.end(), {"-l", machine.user});
    argv.insert(argv.end(), {"--", machine.host, "sh -c " + shell_quote(script)});
    return argv;
}

Result<CommandOutput> ssh_run(const ClusterFile& file, const ClusterMachine& machine,
                              const SshRun& run) {
    auto output =
        run_command(ssh_argv(file, machine, run.script), run.input, run.input_file, run.timeout);
    if (!output) return fail(output.error().context("running ssh"));
    if (output->exit_code == 255) return fail(ssh_error(machine, output->err));
    return output;
}

}  // namespace dora::cli
