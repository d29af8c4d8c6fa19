#include "daemon/log_file.hpp"

#include <fmt/format.h>

#include <cerrno>
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
    return log;
}

void LogFile::write_line(std::string_view line) {
    if (!file_) {
        return;
    }
    // A full disk must not stop the node: the line still reaches the CLI; the file misses it.
    fmt::print(file_.get(), "{}\n", line);
    std::fflush(file_.get());
}

}  // namespace dora::daemon
