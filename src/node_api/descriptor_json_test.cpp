#include "node_api/descriptor_json.hpp"

#include <gtest/gtest.h>

namespace dora::node_api {
namespace {

std::string json(std::string_view yaml) {
    auto converted = yaml_to_json(yaml);
    EXPECT_TRUE(converted) << converted.error().message();
    return converted ? *converted : "";
}

TEST(YamlToJson, PlainScalarsResolveLikeTheYamlCoreSchema) {
    EXPECT_EQ(json(R"(a: [1, 0x10, 0o17, 1.5, "2", true, False, ~, null, hello, -3, +007])"),
              R"({"a":[1,16,15,1.5,"2",true,false,null,null,"hello",-3,7]})");
}

TEST(YamlToJson, FloatsStayFloatsAndNonFiniteOnesBecomeNull) {
    EXPECT_EQ(json("[100.0, 1e3, .5, .inf, -.Inf, .nan]"), "[100.0,1000.0,0.5,null,null,null]");
}

TEST(YamlToJson, IntegersOfAnyLengthKeepTheirDigits) {
    EXPECT_EQ(json("[123456789012345678901234567890, 0xffffffffffffffffff]"),
              R"([123456789012345678901234567890,"0xffffffffffffffffff"])");
}

TEST(YamlToJson, QuotedScalarsAndKeysAreStringsEscapedForJson) {
    EXPECT_EQ(json("1: 'true'\n\"k\\\"q\": \"line\\nbreak\"\nempty:\n"),
              R"({"1":"true","k\"q":"line\nbreak","empty":null})");
}

TEST(YamlToJson, ADataflowKeepsItsShape) {
    EXPECT_EQ(json("nodes:\n  - id: a\n    outputs: [x]\n  - id: b\n    inputs:\n      in: a/x\n"),
              R"({"nodes":[{"id":"a","outputs":["x"]},{"id":"b","inputs":{"in":"a/x"}}]})");
}

TEST(YamlToJson, InvalidYamlIsAnErrorWithItsPosition) {
    auto converted = yaml_to_json("a: [1, 2\nb: c");
    ASSERT_FALSE(converted);
    EXPECT_NE(converted.error().message().find("not valid YAML"), std::string::npos);
    EXPECT_NE(converted.error().message().find("line"), std::string::npos)
        << converted.error().message();
}

TEST(YamlToJson, ComplexKeysAreRefused) {
    auto converted = yaml_to_json("? [a, b]\n: c\n");
    ASSERT_FALSE(converted);
    EXPECT_NE(converted.error().message().find("not a scalar"), std::string::npos);
}

TEST(YamlToJson, EmptyTextIsNull) { EXPECT_EQ(json(""), "null"); }

}  // namespace
}  // namespace dora::node_api
