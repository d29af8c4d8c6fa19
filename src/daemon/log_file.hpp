// A node's log file (out/<dataflow>/log_<node>.txt), owned: opened for appending, one line per
// write, closed when the object goes. Each line is flushed so `dora logs` and a crash both see
// everything written so far. Beside it, log_<node>.times holds when each line was written (one
// u64 little-endian of ns since the Unix epoch per line, in the same order): the .txt file stays
// the lines as the node wrote them (as dora's), and `dora logs --since/--all-nodes` read both.
// Only the log is held open; the times file is opened to append each record (a few more system
// calls per line, and no second descriptor per node).
//
// Thread safety: one owner.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace dora::daemon {

class LogFile {
  public:
    LogFile() = default;
    // Creates the file's directory if needed and opens the file for appending.
    [[nodiscard]] static Result<LogFile> open(const std::filesystem::path& path);

    // The line as the node wrote it (stdout and stderr alike), as dora's log files hold them.
    void write_line(std::string_view line);
    [[nodiscard]] bool is_open() const { return file_ != nullptr; }
    void close() { file_.reset(); }
    // log_<node>.times beside log_<node>.txt.
    [[nodiscard]] static std::filesystem::path times_path(const std::filesystem::path& log);
    // When each of the `lines` lines of `log` was written (0 where the times file does not say:
    // missing, or shorter after a crash between the two writes).
    [[nodiscard]] static std::vector<uint64_t> read_times(const std::filesystem::path& log,
                                                          size_t lines);

  private:
    struct Closer {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, Closer> file_;
    // Opened for each line, not held: a daemon of 5,000 nodes must not hold 5,000 more files.
    std::filesystem::path times_path_;
};

}  // namespace dora::daemon
