#include "daemon/node_logs.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace dora::daemon {
namespace {

TEST(NodeLogs, AStructuredLineKeepsItsLevelTargetAndFields) {
    LogEntry e = classify_log_line(
        R"({"timestamp":"2026-01-01T00:00:00Z","level":"warn","node_id":"n","message":"hot",)"
        R"("target":"t","fields":{"unit":"C"}})");
    EXPECT_EQ(e.level, LogLevel::kWarn);
    EXPECT_EQ(e.message, "hot");
    EXPECT_EQ(e.target, "t");
    EXPECT_EQ(e.fields.at("unit"), "C");
    EXPECT_EQ(e.timestamp, "2026-01-01T00:00:00Z");
}

TEST(NodeLogs, PlainOrMalformedLinesAreStdoutLevel) {
    for (const char* line : {"hello", "{not json", R"({"level":"loud","message":"x"})",
                             R"({"level":"info"})", R"([1,2])"}) {
        LogEntry e = classify_log_line(line);
        EXPECT_EQ(e.level, LogLevel::kStdout) << line;
        EXPECT_EQ(e.message, line);
    }
}

TEST(NodeLogs, EntryJsonHasDorasLogMessageShape) {
    LogEntry e = classify_log_line(R"({"level":"INFO","message":"m","line":7})");
    auto json = nlohmann::json::parse(log_entry_json(e, {"df", "node", "edge"}));
    EXPECT_EQ(json["level"], "INFO");
    EXPECT_EQ(json["message"], "m");
    EXPECT_EQ(json["line"], 7);
    EXPECT_EQ(json["dataflow_id"], "df");
    EXPECT_EQ(json["node_id"], "node");
    EXPECT_EQ(json["daemon_id"], "edge");
    EXPECT_TRUE(json["fields"].is_null());
    EXPECT_TRUE(json["timestamp"].is_string());
    auto plain = nlohmann::json::parse(log_entry_json(classify_log_line("x"), {"df", "n", ""}));
    EXPECT_EQ(plain["level"], "stdout");
    EXPECT_TRUE(plain["daemon_id"].is_null());
}

}  // namespace
}  // namespace dora::daemon
