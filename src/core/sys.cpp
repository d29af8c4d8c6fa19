#include "core/sys.hpp"

#include <fcntl.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
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

Result<std::optional<size_t>> read_some(int fd, void* buffer, size_t size) {
    for (;;) {
        ssize_t n = ::read(fd, buffer, size);
        if (n >= 0) {
            return std::optional<size_t>(static_cast<size_t>(n));
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return std::optional<size_t>();
        }
        return fail(errno_error("read"));
    }
}

Result<size_t> send_some(int fd, const void* data, size_t size) {
    for (;;) {
        ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n >= 0) {
            return static_cast<size_t>(n);
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return size_t{0};
        }
        return fail(errno_error("send"));
    }
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

std::filesystem::path runtime_dir() {
    const char* runtime = std::getenv("XDG_RUNTIME_DIR");
    if (runtime != nullptr && *runtime != '\0') {
        return std::filesystem::path(runtime) / "dora";
    }
    return fmt::format("/tmp/dora-{}", ::getuid());
}

void return_free_heap() { ::malloc_trim(0); }

namespace {
// The soft limit found before raise_open_file_limit raised it; RLIM_INFINITY when not raised.
// Plain values written once at start-up, before any thread or child exists.
rlim_t g_inherited_soft_limit = RLIM_INFINITY;
rlim_t g_hard_limit = RLIM_INFINITY;
}  // namespace

uint64_t raise_open_file_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return 0;
    }
    if (limit.rlim_cur >= limit.rlim_max) {
        return limit.rlim_cur;
    }
    const rlim_t old = limit.rlim_cur;
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return old;
    }
    g_inherited_soft_limit = old;
    g_hard_limit = limit.rlim_max;
    return limit.rlim_cur;
}

void restore_open_file_limit() {
    if (g_inherited_soft_limit != RLIM_INFINITY) {
        rlimit limit{g_inherited_soft_limit, g_hard_limit};
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
}

std::string machine_identity() {
    if (const char* given = std::getenv("DORA_MACHINE_IDENTITY"); given != nullptr && *given != 0) {
        return given;
    }
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
