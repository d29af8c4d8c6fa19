// dora 1.x structured node logs: a line a node prints is either a structured log entry (a JSON
// object with `level` and `message`, as dora's `node.log(...)` writes it) or a plain line (level
// "stdout"). `min_log_level` keeps lines by level; `send_logs_as` sends each kept line as a JSON
// log entry in the shape of dora's LogMessage (dataflow_id, node_id, daemon_id, level, target,
// module_path, file, line, message, timestamp, fields).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/descriptor.hpp"

namespace dora::daemon {

struct LogEntry {
    LogLevel level = LogLevel::kStdout;
    std::string message;
    std::optional<std::string> target;
    std::optional<std::string> module_path;
    std::optional<std::string> file;
    std::optional<uint32_t> line;
    std::optional<std::string> timestamp;  // as the node wrote it (RFC 3339), if it did
    std::map<std::string, std::string> fields;
};

// A structured entry when `line` is a JSON object with a known `level` and a string `message`;
// otherwise a plain line (level stdout, message = the line).
[[nodiscard]] LogEntry classify_log_line(std::string_view line);

struct LogOrigin {
    std::string dataflow_id;
    std::string node_id;
    std::string machine_id;  // "" = the default daemon (daemon_id null)
};

// The JSON text sent on a node's send_logs_as output. The level is spelled as dora serializes it:
// "stdout", or "ERROR", "WARN", "INFO", "DEBUG", "TRACE". A missing timestamp is now (UTC).
[[nodiscard]] std::string log_entry_json(const LogEntry& entry, const LogOrigin& origin);

}  // namespace dora::daemon
