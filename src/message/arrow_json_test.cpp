#include "message/arrow_json.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "message/arrow_layout.hpp"

namespace dora::message {
namespace {

std::vector<std::byte> bytes_of(const void* p, size_t n) {
    std::vector<std::byte> out(n);
    std::memcpy(out.data(), p, n);
    return out;
}

TEST(ArrowJson, RendersPrimitiveArraysWithTheirType) {
    const int64_t values[] = {1, -2, 3};
    auto data = bytes_of(values, sizeof(values));
    auto info = primitive_type_info("l", 3, 8);
    auto out = arrow_to_json(info, data);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(out->value.dump(), "[1,-2,3]");
    EXPECT_FALSE(out->truncated);
    EXPECT_EQ(arrow_type_name(info), "int64");

    const float floats[] = {0.5F, 1.5F};
    auto fdata = bytes_of(floats, sizeof(floats));
    auto fout = arrow_to_json(primitive_type_info("f", 2, 4), fdata);
    ASSERT_TRUE(fout);
    EXPECT_EQ(fout->value.dump(), "[0.5,1.5]");
}

TEST(ArrowJson, RendersStringsAndReplacesInvalidUtf8) {
    std::vector<std::string_view> strings = {"héllo", "{\"a\": 1}", "bad\xff"};
    auto layout = utf8_layout(strings);
    std::vector<std::byte> data(layout.total_size);
    pack_utf8(strings, layout, data.data());
    auto out = arrow_to_json(layout.type_info, data);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(out->value[0], "héllo");
    EXPECT_EQ(out->value[1], "{\"a\": 1}");
    EXPECT_EQ(out->value[2], "bad\xef\xbf\xbd");
    EXPECT_EQ(arrow_type_name(layout.type_info), "utf8");
}

TEST(ArrowJson, CutsLongArraysAndSaysSo) {
    std::vector<uint8_t> raw(5000, 7);
    auto data = bytes_of(raw.data(), raw.size());
    auto out = arrow_to_json(bytes_type_info(raw.size()), data, {.max_elements = 4});
    ASSERT_TRUE(out);
    EXPECT_TRUE(out->truncated);
    EXPECT_EQ(out->value.dump(), "[7,7,7,7,\"… 4996 more\"]");
}

TEST(ArrowJson, StopsPastTheTotalValueBudget) {
    std::vector<uint8_t> raw(100, 1);
    auto data = bytes_of(raw.data(), raw.size());
    auto out = arrow_to_json(bytes_type_info(raw.size()), data, {.max_values = 50});
    ASSERT_FALSE(out);
    EXPECT_NE(out.error().message().find("more than 50 values"), std::string::npos)
        << out.error().message();
    EXPECT_TRUE(arrow_to_json(bytes_type_info(raw.size()), data, {.max_values = 100}));
}

TEST(ArrowJson, RendersNullsStructsAndLists) {
    // struct<x: int32 (with a null), s: list<int16>> of two elements, hand-laid out.
    std::vector<std::byte> data(64 * 6);
    auto put = [&](size_t at, const void* p, size_t n) { std::memcpy(data.data() + at, p, n); };
    const uint8_t validity = 0b01;  // x[1] is null
    const int32_t xs[] = {5, 99};
    const int32_t list_offsets[] = {0, 2, 3};
    const int16_t items[] = {10, 20, 30};
    put(0, &validity, 1);
    put(64, xs, sizeof(xs));
    put(128, list_offsets, sizeof(list_offsets));
    put(192, items, sizeof(items));
    ArrowTypeInfo x = primitive_type_info("i", 2, 4);
    x.name = "x";
    x.null_count = 1;
    x.buffers = {BufferRef{0, 1}, BufferRef{64, 8}};
    ArrowTypeInfo item = primitive_type_info("s", 3, 2);
    item.buffers = {BufferRef::null(), BufferRef{192, 6}};
    ArrowTypeInfo list;
    list.format = "+l";
    list.name = "s";
    list.length = 2;
    list.buffers = {BufferRef::null(), BufferRef{128, 12}};
    list.children.push_back(item);
    ArrowTypeInfo root;
    root.format = "+s";
    root.length = 2;
    root.buffers = {BufferRef::null()};
    root.children = {x, list};
    auto out = arrow_to_json(root, data);
    ASSERT_TRUE(out) << out.error().message();
    EXPECT_EQ(out->value.dump(), R"([{"s":[10,20],"x":5},{"s":[30],"x":null}])");
    EXPECT_EQ(arrow_type_name(root), "struct<x: int32, s: list<int16>>");
}

TEST(ArrowJson, RefusesLayoutsOutsideTheData) {
    std::vector<std::byte> data(16);
    auto info = primitive_type_info("l", 3, 8);  // 24 bytes, only 16 there
    auto out = arrow_to_json(info, data);
    ASSERT_FALSE(out);
    // Offsets that point past the characters.
    std::vector<std::string_view> strings = {"abc"};
    auto layout = utf8_layout(strings);
    std::vector<std::byte> text(layout.total_size);
    pack_utf8(strings, layout, text.data());
    const int32_t bad_end = 1000;
    std::memcpy(text.data() + layout.type_info.buffers[1].offset + 4, &bad_end, 4);
    EXPECT_FALSE(arrow_to_json(layout.type_info, text));
}

TEST(ArrowJson, TextIsFoundInStringsAndInBytesThatAreUtf8) {
    const std::string json_text = R"({"sensor": "t", "value": 21.5})";
    auto data = bytes_of(json_text.data(), json_text.size());
    EXPECT_EQ(message_text(bytes_type_info(json_text.size()), data), json_text);
    const uint8_t binary[] = {0xde, 0xad, 0xbe, 0xef};
    auto raw = bytes_of(binary, sizeof(binary));
    EXPECT_FALSE(message_text(bytes_type_info(sizeof(binary)), raw));
    const char control[] = {'a', 0x01, 'b'};
    auto ctl = bytes_of(control, sizeof(control));
    EXPECT_FALSE(message_text(bytes_type_info(sizeof(control)), ctl));
    std::vector<std::string_view> one = {"héllo"};
    auto layout = utf8_layout(one);
    std::vector<std::byte> packed(layout.total_size);
    pack_utf8(one, layout, packed.data());
    EXPECT_EQ(message_text(layout.type_info, packed), "héllo");
    const int64_t numbers[] = {1, 2};
    auto ints = bytes_of(numbers, sizeof(numbers));
    EXPECT_FALSE(message_text(primitive_type_info("l", 2, 8), ints));
}

TEST(ArrowJson, ParametersBecomeAnObject) {
    Parameters p{{"flag", true}, {"n", int64_t{3}}, {"names", std::vector<std::string>{"a"}}};
    EXPECT_EQ(parameters_to_json(p).dump(), R"({"flag":true,"n":3,"names":["a"]})");
}

}  // namespace
}  // namespace dora::message
