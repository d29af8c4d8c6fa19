// `--quiet` for `dora coordinator` and `dora daemon` (dora's flag): their log lines go to a file
// instead of the terminal, so nothing they would have said is lost.
//
// Thread safety: the returned function may be called from any thread (a mutex guards the file).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

namespace dora::cli {

// Where a quiet process of `kind` ("coordinator", "daemon-<machine>") logs by default:
// $XDG_RUNTIME_DIR/dora/<kind>.log, else /tmp/dora-$UID/<kind>.log.
[[nodiscard]] std::filesystem::path default_quiet_log(const std::string& kind);

// Opens `path` for appending (creating its directory, mode 0700) and returns a function that
// writes one line with a UTC timestamp and `prefix`; throws dora::Exception when it cannot.
[[nodiscard]] std::function<void(const std::string&)> open_quiet_log(
    const std::filesystem::path& path, const std::string& prefix);

}  // namespace dora::cli
