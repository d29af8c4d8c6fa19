#include "daemon/log_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace dora::daemon {

Result<LogFile> LogFile::open(const std::filesystem::path& path) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) {
        return fail("cannot create the log directory {}: {}", path.parent_path().string(),
                    ec.message());
    }
    LogFile log;
    log.file_.reset(std::fopen(path.c_str(), "a"));
    if (!log.file_) {
        return fail("cannot open the log file {}: {}", path.string(), std::strerror(errno));
    }
    log.times_path_ = times_path(path);
    return log;
}

std::filesystem::path LogFile::times_path(const std::filesystem::path& log) {
    std::filesystem::path out = log;
    out.replace_extension(".times");
    return out;
}

std::vector<uint64_t> LogFile::read_times(const std::filesystem::path& log, size_t lines) {
    std::vector<uint64_t> out(lines, 0);
    std::unique_ptr<std::FILE, Closer> in(std::fopen(times_path(log).c_str(), "rb"));
    if (!in) {
        return out;
    }
    unsigned char record[8];
    for (size_t i = 0; i < lines && std::fread(record, 1, sizeof(record), in.get()) == 8; ++i) {
        uint64_t value = 0;
        for (int b = 7; b >= 0; --b) {
            value = (value << 8) | record[b];
        }
        out[i] = value;
    }
    return out;
}

void LogFile::write_line(std::string_view line) {
    if (!file_) {
        return;
    }
    // A full disk must not stop the node: the line still reaches the CLI; the file misses it.
    fmt::print(file_.get(), "{}\n", line);
    std::fflush(file_.get());
    const auto now = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    unsigned char record[8];
    for (int b = 0; b < 8; ++b) {
        record[b] = static_cast<unsigned char>(now >> (8 * b));
    }
    // Without it the lines keep no times (`dora logs --since` says so); the log is not affected.
    const int fd = ::open(times_path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) {
        (void)!::write(fd, record, sizeof(record));
        ::close(fd);
    }
}

}  // namespace dora::daemon
