#include "message/arrow_layout.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace dora::message {
namespace {

using Buffer = std::optional<std::vector<std::byte>>;

template <typename T>
Buffer buffer_of(std::vector<T> values) {
    std::vector<std::byte> bytes(values.size() * sizeof(T));
    if (!bytes.empty()) {
        std::memcpy(bytes.data(), values.data(), bytes.size());
    }
    return bytes;
}

Buffer text_buffer(std::string_view text) {
    const auto* begin = reinterpret_cast<const std::byte*>(text.data());
    return std::vector<std::byte>(begin, begin + text.size());
}

Buffer bits(std::string_view ones_and_zeros) {  // "1011": element 0 valid, 1 null, ...
    std::vector<std::byte> bytes((ones_and_zeros.size() + 7) / 8);
    for (size_t i = 0; i < ones_and_zeros.size(); ++i) {
        if (ones_and_zeros[i] == '1') {
            bytes[i / 8] |= std::byte(1 << (i % 8));
        }
    }
    return bytes;
}

// A producer-side Arrow array for tests: owns its buffers and children and builds the
// ArrowArray/ArrowSchema views on them. Its release callbacks only mark the struct released.
struct TestArray {
    std::string format;
    int64_t length = 0;
    int64_t null_count = 0;
    int64_t offset = 0;
    std::vector<Buffer> buffers;
    std::vector<TestArray> children;
    std::shared_ptr<TestArray> dictionary;
    std::string name;

    ArrowArray array{};
    ArrowSchema schema{};
    std::vector<const void*> pointers;
    std::vector<ArrowArray*> child_arrays;
    std::vector<ArrowSchema*> child_schemas;

    // Call after the last change and before handing out `array`/`schema`.
    void build() {
        pointers.clear();
        for (const Buffer& buffer : buffers) {
            pointers.push_back(buffer ? static_cast<const void*>(buffer->data()) : nullptr);
        }
        child_arrays.clear();
        child_schemas.clear();
        for (TestArray& child : children) {
            child.build();
            child_arrays.push_back(&child.array);
            child_schemas.push_back(&child.schema);
        }
        if (dictionary) {
            dictionary->build();
        }
        array = ArrowArray{length,
                           null_count,
                           offset,
                           static_cast<int64_t>(pointers.size()),
                           static_cast<int64_t>(children.size()),
                           pointers.data(),
                           child_arrays.data(),
                           dictionary ? &dictionary->array : nullptr,
                           [](ArrowArray* a) { a->release = nullptr; },
                           nullptr};
        schema = ArrowSchema{format.c_str(),
                             name.c_str(),
                             nullptr,
                             ARROW_FLAG_NULLABLE,
                             static_cast<int64_t>(children.size()),
                             child_schemas.data(),
                             dictionary ? &dictionary->schema : nullptr,
                             [](ArrowSchema* s) { s->release = nullptr; },
                             nullptr};
    }
};

TestArray make_array(std::string format, int64_t length, int64_t null_count,
                     std::vector<Buffer> buffers, std::vector<TestArray> children = {}) {
    TestArray a;
    a.format = std::move(format);
    a.length = length;
    a.null_count = null_count;
    a.buffers = std::move(buffers);
    a.children = std::move(children);
    return a;
}

TestArray int32_array() {
    return make_array("i", 5, 1, {bits("10111"), buffer_of<int32_t>({1, 2, 3, 4, 5})});
}

TestArray utf8_array() {
    return make_array("u", 3, 1,
                      {bits("101"), buffer_of<int32_t>({0, 3, 3, 8}), text_buffer("foohello")});
}

// A 64-byte aligned data region, as a shared-memory slot would be.
struct Region {
    alignas(64) std::array<std::byte, 4096> bytes;
};

// A keep_alive whose destruction the test can see.
std::shared_ptr<const void> counted_keep_alive(int& drops) {
    return std::shared_ptr<const void>(new int(0), [&drops](const void* p) {
        ++drops;
        delete static_cast<const int*>(p);
    });
}

// Packs `source`, then exports the packed region; the test releases the outputs.
struct RoundTrip {
    std::unique_ptr<Region> region = std::make_unique<Region>();
    PackedLayout plan;
    ArrowArray array{};
    ArrowSchema schema{};
    int drops = 0;

    void run(TestArray& source) {
        source.build();
        auto planned = plan_packing(source.array, source.schema);
        ASSERT_TRUE(planned.has_value()) << planned.error().message();
        plan = std::move(*planned);
        ASSERT_LE(plan.total_size, region->bytes.size());
        region->bytes.fill(std::byte{0xff});
        pack(source.array, plan, region->bytes.data());
        auto exported = export_array(plan.type_info, region->bytes.data(), plan.total_size,
                                     counted_keep_alive(drops), &array, &schema);
        ASSERT_TRUE(exported.has_value()) << exported.error().message();
    }

    // Releases both exported structs; returns how often keep_alive was dropped by then.
    int release() {
        array.release(&array);
        schema.release(&schema);
        return drops;
    }
};

template <typename T>
T value_at(const ArrowArray& array, size_t buffer, int64_t index) {
    T value{};
    std::memcpy(&value,
                static_cast<const std::byte*>(array.buffers[buffer]) +
                    static_cast<size_t>(index) * sizeof(T),
                sizeof value);
    return value;
}

bool is_valid(const ArrowArray& array, int64_t index) {
    if (array.buffers[0] == nullptr) {
        return true;
    }
    const auto i = static_cast<size_t>(array.offset + index);
    const auto byte = static_cast<const uint8_t*>(array.buffers[0])[i / 8];
    return ((byte >> (i % 8)) & 1) != 0;
}

std::string string_at(const ArrowArray& array, int64_t index) {
    const auto begin = value_at<int32_t>(array, 1, array.offset + index);
    const auto end = value_at<int32_t>(array, 1, array.offset + index + 1);
    return std::string(static_cast<const char*>(array.buffers[2]) + begin,
                       static_cast<size_t>(end - begin));
}

// ---- packing and export round trips --------------------------------------------------------

TEST(ArrowLayout, PrimitiveWithNullsRoundTripsZeroCopy) {
    TestArray source = int32_array();
    RoundTrip trip;
    trip.run(source);

    EXPECT_EQ(trip.plan.type_info.buffers[0], (BufferRef{0, 1}));
    EXPECT_EQ(trip.plan.type_info.buffers[1], (BufferRef{64, 20}));
    EXPECT_EQ(trip.plan.total_size, 84U);
    EXPECT_EQ(trip.array.length, 5);
    EXPECT_EQ(trip.array.null_count, 1);
    EXPECT_EQ(trip.array.buffers[1], trip.region->bytes.data() + 64);
    EXPECT_FALSE(is_valid(trip.array, 1));
    EXPECT_EQ(value_at<int32_t>(trip.array, 1, 4), 5);
    EXPECT_STREQ(trip.schema.format, "i");
    EXPECT_EQ(trip.schema.flags, ARROW_FLAG_NULLABLE);

    EXPECT_EQ(trip.release(), 1);
}

TEST(ArrowLayout, PackZeroesThePaddingBetweenBuffers) {
    TestArray source = int32_array();
    RoundTrip trip;
    trip.run(source);

    for (size_t i = 1; i < 64; ++i) {
        EXPECT_EQ(trip.region->bytes[i], std::byte{0}) << i;
    }
    EXPECT_EQ(trip.release(), 1);
}

TEST(ArrowLayout, SlicedPrimitiveKeepsItsOffsetAndTheBytesBeforeIt) {
    TestArray source = int32_array();
    source.offset = 2;
    source.length = 3;
    source.null_count = 0;
    source.buffers[0] = std::nullopt;
    RoundTrip trip;
    trip.run(source);

    EXPECT_TRUE(trip.plan.type_info.buffers[0].is_null());
    EXPECT_EQ(trip.plan.type_info.buffers[1], (BufferRef{0, 20}));
    EXPECT_EQ(trip.array.offset, 2);
    EXPECT_EQ(trip.array.buffers[0], nullptr);
    EXPECT_EQ(value_at<int32_t>(trip.array, 1, trip.array.offset), 3);
    EXPECT_EQ(trip.release(), 1);
}

TEST(ArrowLayout, Utf8WithNullsRoundTrips) {
    TestArray source = utf8_array();
    RoundTrip trip;
    trip.run(source);

    EXPECT_EQ(trip.plan.type_info.buffers[2], (BufferRef{128, 8}));
    EXPECT_EQ(string_at(trip.array, 0), "foo");
    EXPECT_FALSE(is_valid(trip.array, 1));
    EXPECT_EQ(string_at(trip.array, 2), "hello");
    EXPECT_EQ(trip.release(), 1);
}

TEST(ArrowLayout, ListOfIntsWithNullsRoundTrips) {
    TestArray source =
        make_array("+l", 3, 1, {bits("101"), buffer_of<int32_t>({0, 2, 2, 5})}, {int32_array()});
    RoundTrip trip;
    trip.run(source);

    ASSERT_EQ(trip.array.n_children, 1);
    const ArrowArray& child = *trip.array.children[0];
    EXPECT_EQ(value_at<int32_t>(trip.array, 1, 3), 5);
    EXPECT_EQ(child.length, 5);
    EXPECT_EQ(value_at<int32_t>(child, 1, 2), 3);
    EXPECT_EQ(trip.schema.n_children, 1);
    EXPECT_STREQ(trip.schema.children[0]->format, "i");
    EXPECT_EQ(trip.release(), 1);
}

TEST(ArrowLayout, StructWithNullsRoundTrips) {
    TestArray ints = int32_array();
    ints.name = "id";
    ints.length = 3;
    ints.null_count = 0;
    ints.buffers[0] = std::nullopt;
    TestArray strings = utf8_array();
    strings.name = "label";
    TestArray source = make_array("+s", 3, 1, {bits("110")}, {ints, strings});
    RoundTrip trip;
    trip.run(source);

    EXPECT_FALSE(is_valid(trip.array, 2));
    EXPECT_EQ(value_at<int32_t>(*trip.array.children[0], 1, 1), 2);
    EXPECT_EQ(string_at(*trip.array.children[1], 2), "hello");
    EXPECT_STREQ(trip.schema.children[0]->name, "id");
    EXPECT_STREQ(trip.schema.children[1]->name, "label");
    EXPECT_STREQ(trip.schema.children[1]->format, "u");
    EXPECT_EQ(trip.release(), 1);
}

TEST(ArrowLayout, DictionaryEncodedStringsRoundTrip) {
    TestArray source = make_array("c", 4, 0, {std::nullopt, buffer_of<int8_t>({2, 0, 0, 1})});
    source.dictionary = std::make_shared<TestArray>(utf8_array());
    RoundTrip trip;
    trip.run(source);

    ASSERT_NE(trip.array.dictionary, nullptr);
    ASSERT_NE(trip.schema.dictionary, nullptr);
    EXPECT_EQ(string_at(*trip.array.dictionary, value_at<int8_t>(trip.array, 1, 0)), "hello");
    EXPECT_STREQ(trip.schema.dictionary->format, "u");
    EXPECT_EQ(trip.release(), 1);
}

TEST(ArrowLayout, BooleanFixedSizeListAndNullTypesRoundTrip) {
    const TestArray booleans = make_array("b", 10, 0, {std::nullopt, bits("1100000001")});
    const TestArray nulls = make_array("n", 2, 2, {});
    TestArray pairs = make_array("+w:2", 2, 0, {std::nullopt}, {int32_array()});
    pairs.children[0].length = 4;
    TestArray source = make_array("+s", 2, 0, {std::nullopt}, {booleans, nulls, pairs});
    RoundTrip trip;
    trip.run(source);

    const ArrowArray& bools = *trip.array.children[0];
    EXPECT_EQ(bools.n_buffers, 2);
    EXPECT_EQ(static_cast<const uint8_t*>(bools.buffers[1])[1], 0x02);
    EXPECT_EQ(trip.array.children[1]->n_buffers, 0);
    EXPECT_EQ(trip.array.children[2]->children[0]->length, 4);
    EXPECT_EQ(trip.release(), 1);
}

TEST(ArrowLayout, EmptyStringArrayWithoutBuffersExportsReadableOffsets) {
    TestArray source = make_array("u", 0, 0, {std::nullopt, std::nullopt, std::nullopt});
    RoundTrip trip;
    trip.run(source);

    EXPECT_EQ(trip.plan.total_size, 0U);
    ASSERT_NE(trip.array.buffers[1], nullptr);
    EXPECT_EQ(value_at<int32_t>(trip.array, 1, 0), 0);
    EXPECT_EQ(trip.release(), 1);
}

// ---- release semantics ---------------------------------------------------------------------

TEST(ArrowLayout, KeepAliveLivesUntilTheArrayIsReleasedNotTheSchema) {
    TestArray source = int32_array();
    RoundTrip trip;
    trip.run(source);

    trip.schema.release(&trip.schema);
    EXPECT_EQ(trip.drops, 0);
    EXPECT_EQ(trip.schema.release, nullptr);
    trip.array.release(&trip.array);
    EXPECT_EQ(trip.drops, 1);
    EXPECT_EQ(trip.array.release, nullptr);
}

TEST(ArrowLayout, AMovedChildOutlivesItsParent) {
    TestArray source = make_array("+s", 5, 0, {std::nullopt}, {int32_array(), int32_array()});
    RoundTrip trip;
    trip.run(source);

    ArrowArray moved = *trip.array.children[1];
    trip.array.children[1]->release = nullptr;
    trip.array.release(&trip.array);
    trip.schema.release(&trip.schema);

    EXPECT_EQ(trip.drops, 0);
    EXPECT_EQ(value_at<int32_t>(moved, 1, 4), 5);
    moved.release(&moved);
    EXPECT_EQ(moved.release, nullptr);
    EXPECT_EQ(trip.drops, 1);
}

TEST(ArrowLayout, ExportRejectsABadLayoutAndLeavesTheOutputsAlone) {
    Region region;
    ArrowTypeInfo info = bytes_type_info(100);
    ArrowArray array{};
    ArrowSchema schema{};
    array.length = -7;
    int drops = 0;

    auto exported =
        export_array(info, region.bytes.data(), 99, counted_keep_alive(drops), &array, &schema);

    ASSERT_FALSE(exported.has_value());
    EXPECT_NE(exported.error().message().find("outside the 99-byte data region"),
              std::string::npos);
    EXPECT_EQ(array.length, -7);
    EXPECT_EQ(array.release, nullptr);
    EXPECT_EQ(drops, 1);
}

// ---- offsets contents ----------------------------------------------------------------------

PackedLayout packed_strings(TestArray& source, Region& region) {
    source.build();
    auto plan = plan_packing(source.array, source.schema);
    EXPECT_TRUE(plan.has_value());
    pack(source.array, *plan, region.bytes.data());
    return *plan;
}

TEST(ArrowLayout, CheckOffsetsRejectsDecreasingOffsets) {
    TestArray source = utf8_array();
    source.buffers[1] = buffer_of<int32_t>({0, 3, 2, 8});
    Region region;
    const PackedLayout plan = packed_strings(source, region);

    auto checked = check_offsets(plan.type_info, region.bytes.data());

    ASSERT_FALSE(checked.has_value());
    EXPECT_EQ(checked.error().message(),
              "offsets: array of format 'u': offset 2 is 2, outside [3, 8]");
}

TEST(ArrowLayout, ExportRejectsOffsetsPastTheCharacterData) {
    TestArray source = utf8_array();
    Region region;
    const PackedLayout plan = packed_strings(source, region);
    const int32_t past_end = 9;
    std::memcpy(region.bytes.data() + plan.type_info.buffers[1].offset + 12, &past_end, 4);
    ArrowArray array{};
    ArrowSchema schema{};

    auto exported =
        export_array(plan.type_info, region.bytes.data(), plan.total_size, {}, &array, &schema);

    ASSERT_FALSE(exported.has_value());
    EXPECT_NE(exported.error().message().find("offset 3 is 9"), std::string::npos);
}

TEST(ArrowLayout, CheckOffsetsRejectsListOffsetsPastTheChild) {
    TestArray source =
        make_array("+l", 1, 0, {std::nullopt, buffer_of<int32_t>({0, 6})}, {int32_array()});
    Region region;
    const PackedLayout plan = packed_strings(source, region);

    EXPECT_FALSE(check_offsets(plan.type_info, region.bytes.data()).has_value());
}

// ---- planning errors -----------------------------------------------------------------------

std::string plan_error(TestArray& source) {
    source.build();
    auto plan = plan_packing(source.array, source.schema);
    return plan ? std::string("(planned)") : plan.error().message();
}

TEST(ArrowLayout, PlanRejectsMalformedArrays) {
    TestArray released = int32_array();
    released.build();
    released.array.release = nullptr;
    EXPECT_FALSE(plan_packing(released.array, released.schema).has_value());

    TestArray wrong_buffers = int32_array();
    wrong_buffers.buffers.pop_back();
    EXPECT_EQ(plan_error(wrong_buffers),
              "plan_packing: array of format 'i': has 1 buffers, the format needs 2");

    TestArray unsupported = int32_array();
    unsupported.format = "+ud:0";
    EXPECT_NE(plan_error(unsupported).find("unsupported Arrow format '+ud:0'"), std::string::npos);

    TestArray no_offsets = utf8_array();
    no_offsets.buffers[1] = std::nullopt;
    EXPECT_EQ(plan_error(no_offsets), "plan_packing: offsets buffer of 'u' is null");

    TestArray no_data = int32_array();
    no_data.buffers[1] = std::nullopt;
    EXPECT_EQ(plan_error(no_data), "plan_packing: buffer 1 of 'i' is null but holds 20 bytes");

    TestArray list_without_child = make_array("+l", 0, 0, {std::nullopt, std::nullopt});
    EXPECT_NE(plan_error(list_without_child).find("has 0 children"), std::string::npos);
}

TEST(ArrowLayout, PlanTreatsAnUnknownNullCountWithoutBitmapAsNoNulls) {
    TestArray source = int32_array();
    source.buffers[0] = std::nullopt;
    source.null_count = -1;
    source.build();

    auto plan = plan_packing(source.array, source.schema);

    ASSERT_TRUE(plan.has_value());
    EXPECT_EQ(plan->type_info.null_count, 0);
}

// ---- helpers for common payloads -----------------------------------------------------------

TEST(ArrowLayout, BytesAndPrimitiveTypeInfosPassTheLayoutCheck) {
    EXPECT_TRUE(check_layout(bytes_type_info(0), 0).has_value());
    EXPECT_TRUE(check_layout(bytes_type_info(1000), 1000).has_value());
    EXPECT_FALSE(check_layout(bytes_type_info(1000), 999).has_value());
    const ArrowTypeInfo doubles = primitive_type_info("g", 10, 8);
    EXPECT_EQ(doubles.buffers[1], (BufferRef{0, 80}));
    EXPECT_TRUE(check_layout(doubles, 80).has_value());
}

TEST(ArrowLayout, Utf8LayoutPacksStringsThatExportBack) {
    const std::vector<std::string_view> strings = {"sensor", "", "h\xc3\xa9llo"};
    const PackedLayout layout = utf8_layout(strings);
    Region region;
    region.bytes.fill(std::byte{0xff});

    pack_utf8(strings, layout, region.bytes.data());
    ArrowArray array{};
    ArrowSchema schema{};
    auto exported =
        export_array(layout.type_info, region.bytes.data(), layout.total_size, {}, &array, &schema);

    ASSERT_TRUE(exported.has_value()) << exported.error().message();
    EXPECT_EQ(layout.type_info.format, "u");
    EXPECT_EQ(layout.total_size, 64U + 12U);
    EXPECT_EQ(region.bytes[16], std::byte{0});  // padding after the offsets
    EXPECT_EQ(string_at(array, 0), "sensor");
    EXPECT_EQ(string_at(array, 1), "");
    EXPECT_EQ(string_at(array, 2), "h\xc3\xa9llo");
    array.release(&array);
    schema.release(&schema);
}

TEST(ArrowLayout, Utf8LayoutOfNoStringsIsJustOneOffset) {
    const PackedLayout layout = utf8_layout({});

    EXPECT_EQ(layout.type_info.buffers[1], (BufferRef{0, 4}));
    EXPECT_TRUE(check_layout(layout.type_info, layout.total_size).has_value());
}

}  // namespace
}  // namespace dora::message
