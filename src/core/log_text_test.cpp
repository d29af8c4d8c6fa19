#include "core/log_text.hpp"

#include <gtest/gtest.h>

namespace dora {
namespace {

using namespace std::chrono_literals;

TEST(EscapeForLog, PrintableTextIsKept) {
    EXPECT_EQ(escape_for_log("dora/default/x/output/a/b"), "dora/default/x/output/a/b");
    EXPECT_EQ(escape_for_log("caf\xc3\xa9 \xe2\x9c\x93"), "caf\xc3\xa9 \xe2\x9c\x93");
}

TEST(EscapeForLog, ControlCharactersCannotBreakOrForgeALine) {
    EXPECT_EQ(escape_for_log("a\nb\rc\td"), "a\\nb\\rc\\td");
    EXPECT_EQ(escape_for_log(std::string_view("x\0y\x1b[31m\x7f", 9)), "x\\x00y\\x1b[31m\\x7f");
    // An escape already in the text stays distinguishable from one we made.
    EXPECT_EQ(escape_for_log("a\\nb"), "a\\\\nb");
    // C1 controls (U+0085 NEL, U+009B CSI) in valid UTF-8 are control characters too.
    EXPECT_EQ(escape_for_log("\xc2\x85\xc2\x9b"), "\\xc2\\x85\\xc2\\x9b");
}

TEST(EscapeForLog, BytesThatAreNotUtf8BecomeHexEscapes) {
    EXPECT_EQ(escape_for_log("\xfe\xff"), "\\xfe\\xff");
    EXPECT_EQ(escape_for_log("\xc3"), "\\xc3");                             // cut sequence
    EXPECT_EQ(escape_for_log("\xc0\xaf"), "\\xc0\\xaf");                    // overlong '/'
    EXPECT_EQ(escape_for_log("\xed\xa0\x80"), "\\xed\\xa0\\x80");           // surrogate
    EXPECT_EQ(escape_for_log("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
}

TEST(EscapeForLog, LongTextIsCutAndItsLengthNamed) {
    const std::string key(65536, 'k');
    const std::string out = escape_for_log(key, 16);
    EXPECT_EQ(out, std::string(16, 'k') + "\u2026(65536 bytes)");
    EXPECT_EQ(escape_for_log("short", 16), "short");
    EXPECT_EQ(escape_for_log(std::string(16, 'k'), 16), std::string(16, 'k'));
}

TEST(LogThrottle, ReportsAtMostOncePerIntervalAndCountsWhatItHeldBack) {
    LogThrottle throttle(1s);
    const auto t0 = LogThrottle::Clock::time_point(1000h);
    ASSERT_EQ(throttle.admit(t0), std::optional<uint64_t>(0));
    for (int i = 0; i < 500; ++i) {
        EXPECT_FALSE(throttle.admit(t0 + std::chrono::milliseconds(i)));
    }
    EXPECT_EQ(throttle.held_back(), 500u);
    EXPECT_EQ(throttle.admit(t0 + 1s), std::optional<uint64_t>(500));
    EXPECT_EQ(throttle.held_back(), 0u);
    EXPECT_FALSE(throttle.admit(t0 + 1500ms));
}

}  // namespace
}  // namespace dora
