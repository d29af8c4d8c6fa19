// A node's log file (out/<dataflow>/log_<node>.txt), owned: opened for appending, one line per
// write, closed when the object goes. Each line is flushed so `dora logs` and a crash both see
// everything written so far.
//
// Thread safety: one owner.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string_view>

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

  private:
    struct Closer {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, Closer> file_;
};

}  // namespace dora::daemon
