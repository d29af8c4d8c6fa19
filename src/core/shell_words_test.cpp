#include "core/shell_words.hpp"

#include <gtest/gtest.h>

#include <map>

namespace dora {
namespace {

using Words = std::vector<std::string>;

Words split_ok(std::string_view text) {
    auto words = split_shell_words(text);
    EXPECT_TRUE(words) << (words ? "" : words.error().message());
    return words ? *words : Words{};
}

std::string split_error(std::string_view text) {
    auto words = split_shell_words(text);
    EXPECT_FALSE(words);
    return words ? "" : words.error().message();
}

TEST(SplitShellWords, SplitsOnRunsOfBlanks) {
    EXPECT_EQ(split_ok("  --rate  10\t--name\nx "), (Words{"--rate", "10", "--name", "x"}));
    EXPECT_EQ(split_ok(""), Words{});
    EXPECT_EQ(split_ok("   "), Words{});
}

TEST(SplitShellWords, SingleQuotesKeepEverythingLiterally) {
    EXPECT_EQ(split_ok(R"('a b' 'c\d' '$HOME' 'it"s')"),
              (Words{"a b", R"(c\d)", "$HOME", "it\"s"}));
}

TEST(SplitShellWords, DoubleQuotesEscapeOnlyTheShellSpecialCharacters) {
    EXPECT_EQ(split_ok(R"("a \"b\" \\ \$x \n")"), (Words{R"(a "b" \ $x \n)"}));
}

TEST(SplitShellWords, BackslashOutsideQuotesEscapesTheNextCharacter) {
    EXPECT_EQ(split_ok(R"(a\ b c\'d \\)"), (Words{"a b", "c'd", "\\"}));
    EXPECT_EQ(split_ok("one\\\ntwo"), (Words{"onetwo"}));
}

TEST(SplitShellWords, AdjacentQuotedPartsJoinIntoOneWord) {
    EXPECT_EQ(split_ok(R"(--name="my node"'!' x'')"), (Words{"--name=my node!", "x"}));
}

TEST(SplitShellWords, EmptyQuotesAreAnEmptyWord) {
    EXPECT_EQ(split_ok(R"(a '' "")"), (Words{"a", "", ""}));
}

TEST(SplitShellWords, CommentsAndOperatorsAreOrdinaryCharacters) {
    EXPECT_EQ(split_ok("--color #fff a|b >out"), (Words{"--color", "#fff", "a|b", ">out"}));
}

TEST(SplitShellWords, UnterminatedQuotesAndTrailingBackslashNameThePosition) {
    EXPECT_NE(split_error("ok 'oops").find("single quote at position 4"), std::string::npos);
    EXPECT_NE(split_error(R"(a "b)").find("double quote at position 3"), std::string::npos);
    EXPECT_NE(split_error(R"(ab\)").find("trailing backslash at position 3"), std::string::npos);
}

class ExpandEnv : public ::testing::Test {
  protected:
    Result<std::string> expand(std::string_view text) {
        return expand_env(text, [this](std::string_view name) -> std::optional<std::string> {
            auto found = vars_.find(std::string(name));
            if (found == vars_.end()) return std::nullopt;
            return found->second;
        });
    }
    std::map<std::string, std::string> vars_{{"HOME", "/home/me"}, {"A_1", "x"}, {"EMPTY", ""}};
};

TEST_F(ExpandEnv, ReplacesBareAndBracedNames) {
    EXPECT_EQ(expand("$HOME/data:${A_1}y:$A_1-z").value(), "/home/me/data:xy:x-z");
}

TEST_F(ExpandEnv, UnsetVariablesBecomeEmpty) {
    EXPECT_EQ(expand("[$NOPE][${NOPE}][$EMPTY]").value(), "[][][]");
}

TEST_F(ExpandEnv, DollarNotFollowedByANameStaysLiteral) {
    EXPECT_EQ(expand("cost $5, $ alone, end $").value(), "cost $5, $ alone, end $");
    EXPECT_EQ(expand("$$HOME").value(), "$/home/me");
}

TEST_F(ExpandEnv, TextWithoutVariablesIsUnchanged) {
    EXPECT_EQ(expand("plain text").value(), "plain text");
}

TEST_F(ExpandEnv, BadBracesAreErrorsWithThePosition) {
    auto unterminated = expand("ab${HOME");
    ASSERT_FALSE(unterminated);
    EXPECT_NE(unterminated.error().message().find("position 3"), std::string::npos);
    auto invalid = expand("${1X}");
    ASSERT_FALSE(invalid);
    EXPECT_NE(invalid.error().message().find("\"1X\""), std::string::npos);
    EXPECT_FALSE(expand("${}"));
}

TEST(ProcessEnvLookup, ReadsTheProcessEnvironment) {
    ::setenv("DORA_SHELL_WORDS_TEST", "yes", 1);
    EXPECT_EQ(process_env_lookup("DORA_SHELL_WORDS_TEST"), "yes");
    ::unsetenv("DORA_SHELL_WORDS_TEST");
    EXPECT_EQ(process_env_lookup("DORA_SHELL_WORDS_TEST"), std::nullopt);
}

}  // namespace
}  // namespace dora
