// Thin wrappers over POSIX calls: each turns errno into an Error value with context, once.
//
// Thread safety: free functions; UniqueFd is a move-only owner of one file descriptor and is not
// synchronised (one owner at a time).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/error.hpp"

namespace dora::sys {

// Error whose message is "<what>: <strerror(errno)>" for the current errno (or `err`).
[[nodiscard]] Error errno_error(std::string_view what);
[[nodiscard]] Error errno_error(std::string_view what, int err);

class UniqueFd {
  public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept {
        if (this != &other) {
            reset(std::exchange(other.fd_, -1));
        }
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    [[nodiscard]] int get() const { return fd_; }
    [[nodiscard]] bool valid() const { return fd_ >= 0; }
    [[nodiscard]] int release() { return std::exchange(fd_, -1); }
    void reset(int fd = -1);

  private:
    int fd_ = -1;
};

// One non-blocking read of up to `size` bytes into `buffer`, retried on EINTR: the bytes read,
// 0 at the end of the stream, std::nullopt when nothing is there now (EAGAIN).
[[nodiscard]] Result<std::optional<size_t>> read_some(int fd, void* buffer, size_t size);
// One non-blocking send of up to `size` bytes (no SIGPIPE), retried on EINTR: the bytes the
// socket took, 0 when it is full now (EAGAIN).
[[nodiscard]] Result<size_t> send_some(int fd, const void* data, size_t size);

// Writes all of `data`, retrying on EINTR and short writes.
[[nodiscard]] Result<> write_all(int fd, std::string_view data);

// Raises this process's soft limit of open files to its hard limit: a daemon holds a few
// descriptors per running node (its output pipes, its connection), a coordinator or router one
// per connection, and the usual soft limit of 1024 would stop a daemon at a few hundred nodes.
// Returns the new soft limit (the old one when the hard limit is no higher). Processes this one
// starts should get the old limit back (restore_open_file_limit): many programs assume 1024.
[[nodiscard]] uint64_t raise_open_file_limit();
// Between fork and exec (async-signal-safe; right before exec: the child may hold descriptors
// numbered beyond the old limit until exec closes them): puts back the soft limit
// raise_open_file_limit found.
// No effect when it did not raise it.
void restore_open_file_limit();

// Identifies this machine's filesystem view: DORA_MACHINE_IDENTITY when set (for processes that
// do not share files although they share /etc/machine-id: containers of one image, cloned VMs),
// else /etc/machine-id (or the kernel boot id). Processes in different network namespaces of one
// host share it, and so share files.
[[nodiscard]] std::string machine_identity();

// Where dora-cpp keeps this user's runtime files (logs, daemon work dirs, node configurations):
// $XDG_RUNTIME_DIR/dora, else /tmp/dora-<uid>. Not created here.
[[nodiscard]] std::filesystem::path runtime_dir();

// Hands the heap's free memory back to the system (glibc's malloc_trim). Call it after freeing
// a large buffer: glibc keeps freed heap memory below its (adaptive, up to 32 MiB) mmap threshold
// for reuse, so a process would otherwise keep its high-water mark. Costs a walk of the heap.
void return_free_heap();

// Sets O_NONBLOCK and FD_CLOEXEC on `fd`.
[[nodiscard]] Result<> set_nonblocking(int fd);

}  // namespace dora::sys
