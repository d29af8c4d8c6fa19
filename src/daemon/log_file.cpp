#include "daemon/log_file.hpp"

#include <fmt/format.h>

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
    log.times_.reset(std::fopen(times_path(path).c_str(), "ab"));  // without it: no times
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
    if (times_) {
        const auto now =
            static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
        unsigned char record[8];
        for (int b = 0; b < 8; ++b) {
            record[b] = static_cast<unsigned char>(now >> (8 * b));
        }
        std::fwrite(record, 1, sizeof(record), times_.get());
        std::fflush(times_.get());
    }
}

}  // namespace dora::daemon
