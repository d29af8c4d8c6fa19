#include "cli/detached.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace dora::cli {

// Runs this `dora` binary with `args` in its own session, detached from the terminal.
Started spawn_detached(const std::vector<std::string>& args, const std::filesystem::path& log) {
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
        throw Exception(Error::make("cannot find the dora binary: {}", ec.message()));
    }
    std::vector<std::string> argv{self.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        throw Exception(sys::errno_error("opening " + log.string()));
    }
    pid_t pid = ::fork();
    if (pid == 0) {
        ::setsid();
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        std::vector<char*> raw;
        for (auto& a : argv) raw.push_back(a.data());
        raw.push_back(nullptr);
        sys::restore_open_file_limit();  // it raises its own, and gives its nodes this one
        ::execv(raw[0], raw.data());
        ::_exit(127);
    }
    ::close(log_fd);
    if (pid < 0) {
        throw Exception(sys::errno_error("fork"));
    }
    return {pid, log};
}

std::string log_tail(const std::filesystem::path& file) {
    std::ifstream in(file);
    std::string content((std::istreambuf_iterator<char>(in)), {});
    if (content.size() > 2000) content = content.substr(content.size() - 2000);
    return content;
}

bool child_exited(pid_t pid) {
    int status = 0;
    return ::waitpid(pid, &status, WNOHANG) == pid;
}

}  // namespace dora::cli
