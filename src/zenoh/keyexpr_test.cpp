#include "zenoh/keyexpr.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/descriptor.hpp"
#include "message/data_keys.hpp"

namespace dora::zenoh::keyexpr {
namespace {

// (a, b, expected). Vectors include those of zenoh-pico's tests/z_keyexpr_test.c.
using Case = std::tuple<const char*, const char*, bool>;

const std::vector<Case> kIntersects = {
    {"a", "a", true},
    {"a/b", "a/b", true},
    {"*", "abc", true},
    {"*", "xxx", true},
    {"ab$*", "abcd", true},
    {"ab$*d", "abcd", true},
    {"ab$*d", "abcde", false},
    {"ab$*", "ab", true},
    {"ab/*", "ab", false},
    {"a/*/c/*/e", "a/b/c/d/e", true},
    {"a/**/d/**/l", "a/b/c/d/e/f/g/h/i/l", true},
    {"a/**/d/**/l", "a/d/foo/l", true},
    {"a/$*b/c/$*d/e", "a/xb/c/xd/e", true},
    {"a/*/c/*/e", "a/c/e", false},
    {"a/*/c/*/e", "a/b/c/d/x/e", false},
    {"ab$*cd", "abxxcxxd", false},
    {"ab$*cd", "abxxcxxcd", true},
    {"ab$*cd", "abxxcxxcdx", false},
    {"**", "abc", true},
    {"**", "a/b/c", true},
    {"ab/**", "ab", true},
    {"**/xyz", "a/b/xyz/d/e/f/xyz", true},
    {"**/xyz$*xyz", "a/b/xyz/d/e/f/xyz", false},
    {"a/**/c/**/e", "a/b/b/b/c/d/d/d/e", true},
    {"a/**/c/**/e", "a/c/e", true},
    {"a/**/c/*/e/*", "a/b/b/b/c/d/d/c/d/e/f", true},
    {"a/**/c/*/e/*", "a/b/b/b/c/d/d/c/d/d/e/f", false},
    {"x/abc", "abc", false},
    {"x/*", "x/abc", true},
    {"x/*", "abc", false},
    {"*", "x/abc", false},
    {"x/*", "x/abc$*", true},
    {"x/$*abc", "x/abc$*", true},
    {"x/a$*", "x/abc$*", true},
    {"x/a$*de", "x/abc$*de", true},
    {"x/a$*d$*e", "x/a$*e", true},
    {"x/a$*d$*e", "x/a$*c$*e", true},
    {"x/a$*d$*e", "x/ade", true},
    {"x/c$*", "x/abc$*", false},
    {"x/$*d", "x/$*e", false},
    {"a", "*", true},
    {"a", "**", true},
    {"a/a/a/a", "**", true},
    {"a/*/b", "a/b", false},
    {"a/**/b", "a/b", true},
    {"a/$*b$*", "a/ebc", true},
    {"a/b$*", "a/ebc", false},
    {"a/$*b", "a/cbc", false},
    {"a/**/$*b$*", "a/b", true},
    {"a/**/b$*", "a/ebc", false},
    {"a/**/b/c/**/d", "a/b/b/b/c/d", true},
    {"a/**/b/c/**/d", "a/b/b/b/c/@c/d", false},
    {"a/**/b/c/**/d", "a/b/@b/b/c/d", false},
    {"a/**/b/@b/**/b/c/**/d", "a/b/@b/b/c/d", true},
    // wildcards at start, middle and end, on either side
    {"*/b", "a/*", true},
    {"a/*", "*/a", true},
    {"*/*", "a", false},
    {"**/c", "a/**", true},
    {"**/c", "a/b/d", false},
    {"a/**", "b/**", false},
    {"**", "**", true},
    {"*/**", "a", true},
    {"*/**", "**", true},
    {"a/*/**", "a", false},
    {"a/*/**", "a/b/c/d", true},
    {"dora/**", "dora/default/x/output/n/o", true},
    {"dora/*/x/output/**", "dora/default/*/output/n/o", true},
    {"dora/*/y/**", "dora/default/x/output/n/o", false},
    // verbatim chunks
    {"@a", "@a", true},
    {"@a", "@ab", false},
    {"@a", "@a/b", false},
    {"@a", "@a/*", false},
    {"@a", "@a/*/**", false},
    {"@a", "@a$*/**", false},
    {"@a", "@a/**", true},
    {"**/xyz$*xyz", "@a/b/xyzdefxyz", false},
    {"@a/**/c/**/e", "@a/b/b/b/c/d/d/d/e", true},
    {"@a/**/c/**/e", "@a/@b/b/b/c/d/d/d/e", false},
    {"@a/**/@c/**/e", "@a/b/b/b/@c/d/d/d/e", true},
    {"@a/**/e", "@a/b/b/c/d/d/d/e", true},
    {"@a/**/e", "@a/b/b/@c/b/d/d/d/e", false},
    {"@a/*", "@a/@b", false},
    {"@a/**", "@a/@b", false},
    {"@a/**/@b", "@a/@b", true},
    {"@a/**/@b", "@a/**/@c/**/@b", false},
    {"@a/@b/**", "@a/@b", true},
    {"@a/**/@c/@b", "@a/**/@c/**/@b", true},
    {"@a/**/@c/**/@b", "@a/**/@c/@b", true},
};

const std::vector<Case> kIncludes = {
    {"a", "a", true},
    {"a/b", "a/b", true},
    {"*", "a", true},
    {"a", "*", false},
    {"*", "aaaaa", true},
    {"**", "a", true},
    {"a", "**", false},
    {"**", "a/a/a/a", true},
    {"**", "*/**", true},
    {"*/**", "*/**", true},
    {"*/**", "**", false},
    {"a/a/a/a", "**", false},
    {"a/*", "a/b", true},
    {"a/*/b", "a/b", false},
    {"a/**/b", "a/b", true},
    {"a/b$*", "a/b", true},
    {"a/b", "a/b$*", false},
    {"a/$*b$*", "a/b", true},
    {"a/$*b", "a/b", true},
    {"a/b$*", "a/bc", true},
    {"a/$*b$*", "a/ebc", true},
    {"a/$*b", "a/cb", true},
    {"a/b$*", "a/ebc", false},
    {"a/$*b", "a/cbc", false},
    {"a/**/b$*", "a/b", true},
    {"a/**/$*b$*", "a/ebc", true},
    {"a/**/$*b", "a/cbc", false},
    {"a/*/**", "a/b/**", true},
    {"a/b/**", "a/*/**", false},
    {"a/*", "a/b$*", true},
    {"a/b$*", "a/*", false},
    {"a/$*b$*", "a/$*b", true},
    {"a/$*b", "a/$*b$*", false},
    {"*", "a$*", true},
    {"a$*", "*", false},
    {"**/c", "a/b/c", true},
    {"**/c", "a/**/c", true},
    {"a/**/c", "**/c", false},
    {"@a", "@a", true},
    {"@a", "@ab", false},
    {"@a", "@a/b", false},
    {"@a", "@a/*", false},
    {"@a", "@a/*/**", false},
    {"@a$*/**", "@a", false},
    {"@a", "@a/**", false},
    {"@a/**", "@a", true},
    {"**/xyz$*xyz", "@a/b/xyzdefxyz", false},
    {"@a/**/c/**/e", "@a/b/b/b/c/d/d/d/e", true},
    {"@a/*", "@a/@b", false},
    {"@a/**", "@a/@b", false},
    {"@a/**/@b", "@a/@b", true},
    {"@a/@b/**", "@a/@b", true},
};

TEST(KeyExprTest, IntersectsVectors) {
    for (const auto& [a, b, expected] : kIntersects) {
        ASSERT_TRUE(validate(a)) << a << ": " << validate(a).error().message();
        ASSERT_TRUE(validate(b)) << b << ": " << validate(b).error().message();
        EXPECT_EQ(intersects(a, b), expected) << a << " ∩ " << b;
        EXPECT_EQ(intersects(b, a), expected) << b << " ∩ " << a << " (symmetry)";
    }
}

TEST(KeyExprTest, IncludesVectors) {
    for (const auto& [a, b, expected] : kIncludes) {
        ASSERT_TRUE(validate(a)) << a;
        ASSERT_TRUE(validate(b)) << b;
        EXPECT_EQ(includes(a, b), expected) << a << " ⊇ " << b;
        if (expected) {
            EXPECT_TRUE(intersects(a, b)) << a << " ⊇ " << b << " implies they intersect";
        }
    }
}

TEST(KeyExprTest, CanonizeRewrites) {
    const std::vector<std::pair<const char*, const char*>> cases = {
        {"greetings/hello/there", "greetings/hello/there"},
        {"greetings/good/*/morning", "greetings/good/*/morning"},
        {"greetings/*", "greetings/*"},
        {"greetings/*/**", "greetings/*/**"},
        {"greetings/$*", "greetings/*"},
        {"greetings/**/*/morning", "greetings/*/**/morning"},
        {"greetings/**/*/g/morning", "greetings/*/**/g/morning"},
        {"greetings/**/*/m", "greetings/*/**/m"},
        {"greetings/**/*", "greetings/*/**"},
        {"greetings/**/**", "greetings/**"},
        {"greetings/**/**/morning", "greetings/**/morning"},
        {"greetings/**/**/g/morning", "greetings/**/g/morning"},
        {"greetings/**/*/**", "greetings/*/**"},
        {"**/**/*/**/*", "*/*/**"},
        {"**/a/**/**", "**/a/**"},
        {"$*", "*"},
        {"$*$*", "*"},
        {"$*$*$*", "*"},
        {"$*hi$*$*", "$*hi$*"},
        {"$*$*hi$*", "$*hi$*"},
        {"hi$*$*$*", "hi$*"},
        {"$*$*$*hi", "$*hi"},
        {"$*$*$*hi$*$*$*", "$*hi$*"},
    };
    for (const auto& [in, out] : cases) {
        auto c = canonize(in);
        ASSERT_TRUE(c) << in << ": " << c.error().message();
        EXPECT_EQ(*c, out) << in;
        EXPECT_TRUE(validate(*c)) << *c;
        if (std::string_view(in) != out) {
            EXPECT_FALSE(validate(in)) << in << " is not canonical";
        }
    }
}

TEST(KeyExprTest, CanonizeRefusesWhatItCannotFix) {
    for (const char* bad : {"hi*", "/hi", "hi/", "", "a//b", "greetings/**/*/", "greetings/**/*/e?",
                            "greetings/**/*/e#", "greetings/**/*/e$", "greetings/**/*/$e", "a/$$",
                            "a/***", "a/b**", "*a"}) {
        auto c = canonize(bad);
        EXPECT_FALSE(c) << "'" << bad << "' -> " << (c ? *c : "");
        EXPECT_FALSE(validate(bad)) << bad;
    }
}

TEST(KeyExprTest, ErrorsNameTheProblem) {
    EXPECT_NE(validate("a//b").error().message().find("empty chunk"), std::string::npos);
    EXPECT_NE(validate("a/b*").error().message().find("'*' inside chunk"), std::string::npos);
    EXPECT_NE(validate("a/**/**").error().message().find("canonical form: 'a/**'"),
              std::string::npos);
}

TEST(KeyExprTest, JoinConcatenatesScopeAndSuffix) {
    EXPECT_EQ(join("demo", "/**"), "demo/**");
    EXPECT_EQ(join("", "a/b"), "a/b");
}

// The ids a dataflow accepts (core/descriptor.hpp id_problem) can never misroute: the data key of
// one node's output matches no other output's key. Random ids from an alphabet full of key
// expression specials; the rejected ones show what the check prevents.
TEST(KeyExprTest, AcceptedIdsNeverMatchAnotherOutputsKey) {
    std::mt19937 random(20261130);
    const std::string alphabet = "ab*$?#/-_.@";
    auto random_id = [&] {
        std::string id(1 + random() % 4, 'a');
        for (char& c : id) c = alphabet[random() % alphabet.size()];
        return id;
    };
    std::set<std::pair<std::string, std::string>> accepted;
    int rejected_that_would_misroute = 0;
    for (int i = 0; i < 3000; ++i) {
        const std::string node = random_id();
        const std::string output = random_id();
        const bool ok = id_problem(node, false).empty() && id_problem(output, true).empty();
        const auto key = message::output_key("net", "df", node, output);
        if (!ok) {
            if (validate(key) && intersects(key, message::output_key("net", "df", "a", "b")) &&
                !(node == "a" && output == "b")) {
                ++rejected_that_would_misroute;
            }
            continue;
        }
        ASSERT_TRUE(validate(key)) << key;
        accepted.emplace(node, output);
    }
    ASSERT_GT(accepted.size(), 50u);
    EXPECT_GT(rejected_that_would_misroute, 0);  // `*`, `**`... would have matched a/b
    for (const auto& [node_a, output_a] : accepted) {
        const auto a = message::output_key("net", "df", node_a, output_a);
        for (const auto& [node_b, output_b] : accepted) {
            const auto b = message::output_key("net", "df", node_b, output_b);
            if (node_a != node_b || output_a != output_b) {
                ASSERT_FALSE(intersects(a, b)) << a << " matches " << b;
            }
        }
    }
}

}  // namespace
}  // namespace dora::zenoh::keyexpr
