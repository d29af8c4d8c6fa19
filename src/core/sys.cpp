#include "core/sys.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace dora::sys {

Error errno_error(std::string_view what) { return errno_error(what, errno); }

Error errno_error(std::string_view what, int err) {
    return Error::make("{}: {}", what, std::strerror(err)).with_code(err);
}

void UniqueFd::reset(int fd) {
    if (fd_ >= 0) {
        ::close(fd_);
    }
    fd_ = fd;
}

Result<> write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return fail(errno_error("write"));
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

std::string machine_identity() {
    for (const char* file : {"/etc/machine-id", "/proc/sys/kernel/random/boot_id"}) {
        std::ifstream in(file);
        std::string id;
        if (in && std::getline(in, id) && !id.empty()) {
            return id;
        }
    }
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    return host;
}

Result<> set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        return fail(errno_error("fcntl(O_NONBLOCK)"));
    }
    int fdflags = ::fcntl(fd, F_GETFD);
    if (fdflags < 0 || ::fcntl(fd, F_SETFD, fdflags | FD_CLOEXEC) < 0) {
        return fail(errno_error("fcntl(FD_CLOEXEC)"));
    }
    return {};
}

}  // namespace dora::sys
