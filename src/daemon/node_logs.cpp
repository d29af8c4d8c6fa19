#include "daemon/node_logs.hpp"

#include <fmt/format.h>
#include <time.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace dora::daemon {

namespace {

std::optional<std::string> string_field(const nlohmann::json& object, const char* key) {
    auto it = object.find(key);
    if (it == object.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
}

std::string utc_now_rfc3339() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const time_t secs = system_clock::to_time_t(now);
    const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    tm utc{};
    ::gmtime_r(&secs, &utc);
    char text[40];
    const size_t n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
    return std::string(text, n) + fmt::format(".{:03}Z", millis);
}

const char* serialized_level(LogLevel level) {
    switch (level) {
        case LogLevel::kStdout:
            return "stdout";
        case LogLevel::kError:
            return "ERROR";
        case LogLevel::kWarn:
            return "WARN";
        case LogLevel::kInfo:
            return "INFO";
        case LogLevel::kDebug:
            return "DEBUG";
        case LogLevel::kTrace:
            return "TRACE";
    }
    return "stdout";
}

nlohmann::json optional_json(const std::optional<std::string>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

LogEntry classify_log_line(std::string_view line) {
    LogEntry plain;
    plain.message = std::string(line);
    if (line.empty() || line.front() != '{') {
        return plain;  // cheap exit for the common plain line
    }
    auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return plain;
    auto level_text = string_field(json, "level");
    auto message = string_field(json, "message");
    auto level = level_text ? parse_log_level(*level_text) : std::nullopt;
    if (!level || !message) return plain;
    LogEntry entry;
    entry.level = *level;
    entry.message = std::move(*message);
    entry.target = string_field(json, "target");
    entry.module_path = string_field(json, "module_path");
    entry.file = string_field(json, "file");
    entry.timestamp = string_field(json, "timestamp");
    if (auto it = json.find("line"); it != json.end() && it->is_number_unsigned()) {
        entry.line = it->get<uint32_t>();
    }
    if (auto it = json.find("fields"); it != json.end() && it->is_object()) {
        for (const auto& [key, value] : it->items()) {
            entry.fields[key] = value.is_string() ? value.get<std::string>() : value.dump();
        }
    }
    return entry;
}

std::string log_entry_json(const LogEntry& entry, const LogOrigin& origin) {
    nlohmann::json out;
    out["build_id"] = nullptr;
    out["dataflow_id"] = origin.dataflow_id;
    out["node_id"] = origin.node_id;
    out["daemon_id"] =
        origin.machine_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(origin.machine_id);
    out["level"] = serialized_level(entry.level);
    out["target"] = optional_json(entry.target);
    out["module_path"] = optional_json(entry.module_path);
    out["file"] = optional_json(entry.file);
    out["line"] = entry.line ? nlohmann::json(*entry.line) : nlohmann::json(nullptr);
    out["message"] = entry.message;
    out["timestamp"] = entry.timestamp.value_or(utc_now_rfc3339());
    out["fields"] = entry.fields.empty() ? nlohmann::json(nullptr) : nlohmann::json(entry.fields);
    // Replace, not throw, on bytes that are not UTF-8: a node may print anything.
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace dora::daemon
