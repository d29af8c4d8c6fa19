#include "cli/quiet_log.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "core/error.hpp"
#include "core/sys.hpp"

namespace dora::cli {

std::filesystem::path default_quiet_log(const std::string& kind) {
    return sys::runtime_dir() / (kind + ".log");
}

std::function<void(const std::string&)> open_quiet_log(const std::filesystem::path& path,
                                                       const std::string& prefix) {
    std::error_code ec;
    if (path.has_parent_path()) {
        std::filesystem::create_directories(path.parent_path(), ec);
        if (!ec) {
            ::chmod(path.parent_path().c_str(), 0700);
        }
    }
    std::FILE* file = std::fopen(path.c_str(), "a");
    if (file == nullptr) {
        throw Exception(Error::make("--quiet: cannot open the log file {}: {}", path.string(),
                                    std::strerror(errno)));
    }
    struct Sink {
        std::FILE* file;
        std::mutex mutex;
        ~Sink() { std::fclose(file); }
    };
    auto sink = std::make_shared<Sink>(file);
    return [sink, prefix](const std::string& line) {
        const auto now =
            std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
        const std::string text = fmt::format("{:%FT%T}Z {} {}\n", now, prefix, line);
        std::lock_guard guard(sink->mutex);
        std::fwrite(text.data(), 1, text.size(), sink->file);
        std::fflush(sink->file);
    };
}

}  // namespace dora::cli
