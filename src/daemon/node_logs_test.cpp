#include "daemon/node_logs.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>

#include "daemon/log_file.hpp"
#include "testing/temp_dir.hpp"

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

TEST(LogFile, KeepsWhenEachLineWasWrittenBesideTheLines) {
    dora::testing::TempDir dir;
    const auto log = dir.path() / "out" / "x" / "log_n.txt";
    auto now = [] {
        return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
    };
    const uint64_t before = now();
    {
        auto file = LogFile::open(log);
        ASSERT_TRUE(file) << file.error().message();
        file->write_line("one");
        file->write_line("two");
        file->write_line("three");
    }
    const uint64_t after = now();
    std::ifstream in(log);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content, "one\ntwo\nthree\n") << "the log itself holds only the lines";
    auto times = LogFile::read_times(log, 3);
    ASSERT_EQ(times.size(), 3u);
    EXPECT_GE(times[0], before);
    EXPECT_LE(times[0], times[1]);
    EXPECT_LE(times[1], times[2]);
    EXPECT_LE(times[2], after);
    // More lines than times (a log of an older daemon, a crash between the two writes): 0.
    auto more = LogFile::read_times(log, 5);
    EXPECT_EQ(more[3], 0u);
    std::filesystem::remove(LogFile::times_path(log));
    EXPECT_EQ(LogFile::read_times(log, 2), (std::vector<uint64_t>{0, 0}));
}

}  // namespace
}  // namespace dora::daemon
