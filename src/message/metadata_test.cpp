#include "message/metadata.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace dora::message {
namespace {

using Bytes = std::vector<std::byte>;

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();

ArrowTypeInfo node(std::string format, int64_t length, std::vector<BufferRef> buffers,
                   std::vector<ArrowTypeInfo> children = {}) {
    ArrowTypeInfo info;
    info.format = std::move(format);
    info.length = length;
    info.buffers = std::move(buffers);
    info.children = std::move(children);
    return info;
}

Bytes to_bytes(const std::string& text) {
    const auto* begin = reinterpret_cast<const std::byte*>(text.data());
    return Bytes(begin, begin + text.size());
}

Bytes encode_bytes(const Metadata& metadata) { return to_bytes(encode(metadata)); }

Metadata sample_metadata() {
    Metadata metadata;
    metadata.timestamp.time_ns = 1'700'000'000'123'456'789ULL;
    for (size_t i = 0; i < metadata.timestamp.id.size(); ++i) {
        metadata.timestamp.id[i] = static_cast<uint8_t>(0xa0 + i);
    }
    metadata.type_info = node("i", 3, {BufferRef::null(), BufferRef{0, 12}});
    metadata.type_info.name = "values";
    metadata.parameters["open_telemetry_context"] = std::string("00-abc-01");
    metadata.parameters["frame"] = int64_t{42};
    return metadata;
}

std::string decode_error(const Bytes& bytes) {
    auto decoded = decode(bytes);
    return decoded ? std::string("(decoded)") : decoded.error().message();
}

// Appends a varint, for hand-made hostile inputs.
void put_varint(Bytes& out, uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<std::byte>(value | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<std::byte>(value));
}

// version, a zero timestamp and a zero clock id: the prefix every hand-made input shares.
Bytes header() {
    Bytes out{std::byte{kMetadataVersion}, std::byte{0}};
    out.resize(out.size() + 16);
    return out;
}

// ---- codec ---------------------------------------------------------------------------------

TEST(MetadataCodec, RoundTripsEveryParameterKind) {
    Metadata metadata = sample_metadata();
    metadata.parameters = {
        {"bool", true},
        {"false", false},
        {"int", int64_t{-7}},
        {"int_max", kInt64Max},
        {"int_min", kInt64Min},
        {"float", 2.5},
        {"negative_zero", -0.0},
        {"infinity", std::numeric_limits<double>::infinity()},
        {"string", std::string("h\xc3\xa9llo")},
        {"empty_string", std::string()},
        {"bools", std::vector<bool>{true, false, true}},
        {"ints", std::vector<int64_t>{0, -1, kInt64Max, kInt64Min}},
        {"floats", std::vector<double>{1.5, -3.25e300}},
        {"strings", std::vector<std::string>{"a", "", "ccc"}},
        {"empty_list", std::vector<int64_t>{}},
    };

    auto decoded = decode(encode_bytes(metadata));

    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(*decoded, metadata);
    EXPECT_TRUE(std::signbit(std::get<double>(decoded->parameters.at("negative_zero"))));
}

TEST(MetadataCodec, RoundTripsNestedChildrenDictionaryAndNullBuffers) {
    Metadata metadata = sample_metadata();
    ArrowTypeInfo strings = node("u", 2, {BufferRef{0, 1}, BufferRef{64, 12}, BufferRef{128, 5}});
    strings.null_count = 1;
    strings.offset = 1;
    strings.flags = 2;
    ArrowTypeInfo dictionary_encoded = node("i", 2, {BufferRef::null(), BufferRef{192, 8}});
    dictionary_encoded.dictionary = std::make_unique<ArrowTypeInfo>(strings);
    metadata.type_info = node("+s", 2, {BufferRef::null()}, {strings, dictionary_encoded});
    metadata.type_info.null_count = -1;

    auto decoded = decode(encode_bytes(metadata));

    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(*decoded, metadata);
    ASSERT_NE(decoded->type_info.children[1].dictionary, nullptr);
    EXPECT_TRUE(decoded->type_info.buffers[0].is_null());
}

TEST(MetadataCodec, RoundTripsExtremeNumbers) {
    Metadata metadata = sample_metadata();
    metadata.timestamp.time_ns = std::numeric_limits<uint64_t>::max();
    metadata.type_info.flags = kInt64Min;
    metadata.type_info.length = kInt64Max;
    metadata.type_info.offset = kInt64Max;
    metadata.type_info.buffers = {BufferRef{kNullBuffer - 1, std::numeric_limits<uint64_t>::max()}};

    auto decoded = decode(encode_bytes(metadata));

    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(*decoded, metadata);
}

TEST(MetadataCodec, EncodeWritesExactlyEncodedSizeBytesIntoASpan) {
    const Metadata metadata = sample_metadata();
    const size_t size = encoded_size(metadata);
    Bytes out(size + 4, std::byte{0xee});

    encode(metadata, std::span<std::byte>(out.data(), size));

    EXPECT_EQ(Bytes(out.begin(), out.begin() + static_cast<ptrdiff_t>(size)),
              encode_bytes(metadata));
    EXPECT_EQ(out[size], std::byte{0xee});
}

TEST(MetadataCodec, SmallMetadataIsCompact) {
    Metadata metadata;
    metadata.type_info = node("C", 8, {BufferRef::null(), BufferRef{0, 8}});

    // 18 bytes of version, zero time and clock id; the type info and parameters take 15.
    EXPECT_EQ(encoded_size(metadata), 33U);
}

TEST(MetadataCodec, CopiesAreDeepAndEqual) {
    ArrowTypeInfo original = node("i", 1, {BufferRef::null(), BufferRef{0, 4}});
    original.dictionary = std::make_unique<ArrowTypeInfo>(node("u", 0, {}));

    ArrowTypeInfo copy = original;
    copy.dictionary->format = "U";

    EXPECT_EQ(original.dictionary->format, "u");
    EXPECT_NE(copy, original);
    copy = original;
    EXPECT_EQ(copy, original);
}

// ---- decode errors -------------------------------------------------------------------------

TEST(MetadataDecode, RejectsEveryTruncation) {
    Metadata metadata = sample_metadata();
    metadata.type_info = node("+l", 1, {BufferRef::null(), BufferRef{0, 8}},
                              {node("f", 2, {BufferRef::null(), BufferRef{64, 8}})});
    metadata.parameters["list"] = std::vector<std::string>{"x", "yz"};
    metadata.parameters["value"] = 0.5;
    const Bytes full = encode_bytes(metadata);

    for (size_t size = 0; size < full.size(); ++size) {
        const std::string error =
            decode_error(Bytes(full.begin(), full.begin() + static_cast<ptrdiff_t>(size)));
        EXPECT_NE(error.find("at byte"), std::string::npos) << size << ": " << error;
    }
}

TEST(MetadataDecode, RejectsAnEmptyInputNamingTheVersion) {
    EXPECT_EQ(decode_error({}), "metadata: truncated version (needs 1 bytes, 0 left) at byte 0");
}

TEST(MetadataDecode, RejectsAnUnknownVersion) {
    Bytes bytes = encode_bytes(sample_metadata());
    bytes[0] = std::byte{2};

    EXPECT_EQ(decode_error(bytes),
              "metadata: unsupported version 2 at byte 0 (this build reads version 1)");
}

TEST(MetadataDecode, RejectsTrailingBytes) {
    Bytes bytes = encode_bytes(sample_metadata());
    const size_t size = bytes.size();
    bytes.push_back(std::byte{0});

    EXPECT_EQ(decode_error(bytes),
              "metadata: 1 unexpected trailing bytes at byte " + std::to_string(size));
}

TEST(MetadataDecode, RejectsAHugeStringLength) {
    Bytes bytes = header();
    put_varint(bytes, uint64_t{1} << 60);  // format length

    EXPECT_EQ(decode_error(bytes),
              "metadata: format length 1152921504606846976 exceeds the remaining 0 bytes at "
              "byte 18");
}

Bytes type_info_prefix() {
    Bytes bytes = header();
    bytes.insert(bytes.end(), {std::byte{1}, std::byte{'C'}, std::byte{0}});  // format, name
    bytes.insert(bytes.end(), 4, std::byte{0});  // flags, length, null count, offset
    return bytes;
}

TEST(MetadataDecode, RejectsAHugeBufferCount) {
    Bytes bytes = type_info_prefix();
    put_varint(bytes, std::numeric_limits<uint64_t>::max());

    EXPECT_NE(decode_error(bytes).find("buffer count 18446744073709551615 exceeds"),
              std::string::npos);
}

TEST(MetadataDecode, RejectsAHugeChildCount) {
    Bytes bytes = type_info_prefix();
    bytes.push_back(std::byte{0});  // no buffers
    put_varint(bytes, 1'000'000);
    bytes.resize(bytes.size() + 100);

    EXPECT_EQ(decode_error(bytes),
              "metadata: child count 1000000 exceeds what the remaining 100 bytes can hold at "
              "byte 26");
}

TEST(MetadataDecode, RejectsHugeParameterAndListCounts) {
    Metadata metadata = sample_metadata();
    metadata.parameters = {{"k", std::vector<double>{}}};
    Bytes bytes = encode_bytes(metadata);
    bytes.back() = std::byte{100};     // the list count
    bytes.resize(bytes.size() + 799);  // 99.9 doubles

    EXPECT_NE(decode_error(bytes).find("float list count 100 exceeds"), std::string::npos);

    metadata.parameters.clear();
    bytes = encode_bytes(metadata);
    bytes.back() = std::byte{2};  // the parameter count
    bytes.resize(bytes.size() + 5);

    EXPECT_NE(decode_error(bytes).find("parameter count 2 exceeds"), std::string::npos);
}

TEST(MetadataDecode, RejectsAVarintLongerThan64Bits) {
    Bytes bytes{std::byte{kMetadataVersion}};
    bytes.insert(bytes.end(), 9, std::byte{0xff});
    bytes.push_back(std::byte{0x02});

    EXPECT_EQ(decode_error(bytes), "metadata: varint (timestamp) overflows 64 bits at byte 1");
}

// Lists of lists of ... of ints, `depth` list levels, all empty and valid.
ArrowTypeInfo nested(int depth) {
    ArrowTypeInfo info = node("i", 0, {BufferRef::null(), BufferRef::null()});
    for (int i = 0; i < depth; ++i) {
        ArrowTypeInfo parent = node("+l", 0, {BufferRef::null(), BufferRef::null()});
        parent.children.push_back(std::move(info));
        info = std::move(parent);
    }
    return info;
}

TEST(MetadataDecode, AcceptsNestingUpToTheLimit) {
    Metadata metadata = sample_metadata();
    metadata.type_info = nested(kMaxDepth);

    auto decoded = decode(encode_bytes(metadata));

    ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
    EXPECT_EQ(*decoded, metadata);
}

TEST(MetadataDecode, RejectsADepthBomb) {
    Metadata metadata = sample_metadata();
    metadata.type_info = nested(kMaxDepth + 1);

    EXPECT_NE(decode_error(encode_bytes(metadata)).find("nested deeper than 64 levels at byte"),
              std::string::npos);
}

TEST(MetadataDecode, RejectsADictionaryBomb) {
    ArrowTypeInfo info = node("i", 0, {});
    for (int i = 0; i < 1000; ++i) {
        ArrowTypeInfo parent = node("i", 0, {});
        parent.dictionary = std::make_unique<ArrowTypeInfo>(std::move(info));
        info = std::move(parent);
    }
    Metadata metadata = sample_metadata();
    metadata.type_info = std::move(info);

    EXPECT_NE(decode_error(encode_bytes(metadata)).find("nested deeper"), std::string::npos);
}

TEST(MetadataDecode, RejectsABadBooleanByte) {
    Metadata metadata = sample_metadata();
    metadata.parameters = {{"k", true}};
    Bytes bytes = encode_bytes(metadata);
    bytes.back() = std::byte{7};

    EXPECT_EQ(decode_error(bytes), "metadata: bool parameter is 7, expected 0 or 1 at byte " +
                                       std::to_string(bytes.size() - 1));
}

TEST(MetadataDecode, RejectsABadDictionaryFlag) {
    Metadata metadata = sample_metadata();
    metadata.parameters.clear();
    Bytes bytes = encode_bytes(metadata);
    bytes[bytes.size() - 2] = std::byte{2};  // the dictionary flag, before the parameter count

    EXPECT_NE(decode_error(bytes).find("dictionary flag is 2"), std::string::npos);
}

TEST(MetadataDecode, RejectsAnUnknownParameterKind) {
    Metadata metadata = sample_metadata();
    metadata.parameters = {{"k", true}};
    Bytes bytes = encode_bytes(metadata);
    bytes[bytes.size() - 2] = std::byte{8};

    EXPECT_EQ(decode_error(bytes),
              "metadata: unknown parameter kind 8 at byte " + std::to_string(bytes.size() - 2));
}

TEST(MetadataDecode, RejectsADuplicateParameterKey) {
    Metadata metadata = sample_metadata();
    metadata.parameters = {{"a", true}, {"b", false}};
    Bytes bytes = encode_bytes(metadata);
    // ... | 1 'a' kind value | 1 'b' kind value: make the second key "a" too.
    bytes[bytes.size() - 3] = std::byte{'a'};

    EXPECT_EQ(decode_error(bytes),
              "metadata: duplicate parameter key at byte " + std::to_string(bytes.size() - 4));
}

// ---- check_layout --------------------------------------------------------------------------

std::string layout_error(const ArrowTypeInfo& info, uint64_t data_size) {
    auto checked = check_layout(info, data_size);
    return checked ? std::string("(accepted)") : checked.error().message();
}

TEST(CheckLayout, AcceptsEveryFixedWidthFormat) {
    const std::vector<std::pair<std::string, uint64_t>> formats = {
        {"c", 1},       {"C", 1},        {"s", 2},
        {"S", 2},       {"e", 2},        {"i", 4},
        {"I", 4},       {"f", 4},        {"l", 8},
        {"L", 8},       {"g", 8},        {"w:3", 3},
        {"d:10,2", 16}, {"d:5,2,64", 8}, {"d:40,-3,256", 32},
        {"tdD", 4},     {"tdm", 8},      {"tts", 4},
        {"ttn", 8},     {"tsu:", 8},     {"tsn:Europe/Paris", 8},
        {"tDm", 8},     {"tiM", 4},      {"tiD", 8},
        {"tin", 16},
    };
    for (const auto& [format, width] : formats) {
        ArrowTypeInfo info = node(format, 10, {BufferRef::null(), BufferRef{64, 10 * width}});

        EXPECT_EQ(layout_error(info, 64 + 10 * width), "(accepted)") << format;
        EXPECT_NE(layout_error(info, 64 + 10 * width - 1), "(accepted)") << format;
        info.buffers[1].length -= 1;
        EXPECT_NE(layout_error(info, 64 + 10 * width), "(accepted)") << format;
    }
}

TEST(CheckLayout, AcceptsNullBooleanStringsListsAndStructs) {
    EXPECT_EQ(layout_error(node("n", 5, {}), 0), "(accepted)");
    EXPECT_EQ(layout_error(node("b", 9, {BufferRef{0, 2}, BufferRef{64, 2}}), 66), "(accepted)");
    EXPECT_EQ(
        layout_error(node("u", 2, {BufferRef::null(), BufferRef{0, 12}, BufferRef{64, 3}}), 67),
        "(accepted)");
    EXPECT_EQ(
        layout_error(node("Z", 1, {BufferRef::null(), BufferRef{0, 16}, BufferRef::null()}), 16),
        "(accepted)");
    const ArrowTypeInfo ints = node("i", 4, {BufferRef::null(), BufferRef{64, 16}});
    EXPECT_EQ(layout_error(node("+l", 2, {BufferRef::null(), BufferRef{0, 12}}, {ints}), 80),
              "(accepted)");
    EXPECT_EQ(layout_error(node("+L", 2, {BufferRef::null(), BufferRef{128, 24}}, {ints}), 152),
              "(accepted)");
    EXPECT_EQ(layout_error(node("+w:2", 2, {BufferRef::null()}, {ints}), 80), "(accepted)");
    EXPECT_EQ(layout_error(node("+s", 4, {BufferRef{0, 1}}, {ints, ints}), 80), "(accepted)");
    EXPECT_EQ(layout_error(node("+m", 1, {BufferRef::null(), BufferRef{0, 8}},
                                {node("+s", 0, {BufferRef::null()})}),
                           8),
              "(accepted)");
}

TEST(CheckLayout, AcceptsAnEmptyStringArrayWithoutOffsets) {
    EXPECT_EQ(
        layout_error(node("u", 0, {BufferRef::null(), BufferRef::null(), BufferRef::null()}), 0),
        "(accepted)");
}

TEST(CheckLayout, RejectsUnsupportedFormats) {
    for (const std::string format : {"", "x", "vu", "+ud:0,1", "+r", "w:", "w:abc", "w:-1",
                                     "+w:", "d:10", "d:1,2,100", "tsu", "tdX", "tdDx", "ii"}) {
        EXPECT_NE(layout_error(node(format, 0, {}), 0).find("unsupported Arrow format"),
                  std::string::npos)
            << format;
    }
}

TEST(CheckLayout, RejectsAWrongNumberOfBuffers) {
    EXPECT_EQ(layout_error(node("i", 0, {BufferRef::null()}), 0),
              "layout: array (format 'i'): has 1 buffers, the format needs 2");
}

TEST(CheckLayout, RejectsAMisalignedBuffer) {
    EXPECT_EQ(layout_error(node("C", 4, {BufferRef::null(), BufferRef{8, 4}}), 64),
              "layout: array (format 'C'): buffer 1 at offset 8 is not 64-byte aligned");
}

TEST(CheckLayout, RejectsBuffersOutsideTheRegion) {
    EXPECT_EQ(layout_error(node("C", 4, {BufferRef::null(), BufferRef{64, 4}}), 67),
              "layout: array (format 'C'): buffer 1 [64, +4) lies outside the 67-byte data region");
    const uint64_t wrap = std::numeric_limits<uint64_t>::max() - 10;
    EXPECT_NE(layout_error(node("C", 4, {BufferRef::null(), BufferRef{64, wrap}}), 128)
                  .find("lies outside"),
              std::string::npos);
    EXPECT_NE(layout_error(node("C", 0, {BufferRef{kNullBuffer - 63, 0}, BufferRef{0, 0}}), 128)
                  .find("lies outside"),
              std::string::npos);
}

TEST(CheckLayout, RejectsADataBufferTooShortForOffsetPlusLength) {
    ArrowTypeInfo info = node("l", 4, {BufferRef::null(), BufferRef{0, 32}});
    info.offset = 1;

    EXPECT_EQ(layout_error(info, 64),
              "layout: array (format 'l'): values buffer has 32 bytes, offset + length = 5 "
              "elements need 40");
}

TEST(CheckLayout, RejectsSizesThatOverflow) {
    ArrowTypeInfo info = node("w:1024", kInt64Max, {BufferRef::null(), BufferRef{0, 64}});

    EXPECT_NE(layout_error(info, 64).find("overflows"), std::string::npos);
}

TEST(CheckLayout, RejectsBadLengthsAndNullCounts) {
    EXPECT_NE(layout_error(node("n", -1, {}), 0).find("negative length"), std::string::npos);
    ArrowTypeInfo info = node("i", 1, {BufferRef{0, 1}, BufferRef{64, 4}});
    info.null_count = 2;
    EXPECT_NE(layout_error(info, 128).find("null count 2 is outside"), std::string::npos);
    info.null_count = -2;
    EXPECT_NE(layout_error(info, 128).find("null count -2 is outside"), std::string::npos);
}

TEST(CheckLayout, RejectsANullValidityBitmapWithNulls) {
    ArrowTypeInfo info = node("i", 1, {BufferRef::null(), BufferRef{0, 4}});
    info.null_count = 1;

    EXPECT_EQ(layout_error(info, 4),
              "layout: array (format 'i'): validity bitmap is null but the null count is 1");
}

TEST(CheckLayout, RejectsAShortValidityBitmap) {
    ArrowTypeInfo info = node("C", 9, {BufferRef{0, 1}, BufferRef{64, 9}});

    EXPECT_NE(layout_error(info, 128).find("validity buffer has 1 bytes"), std::string::npos);
}

TEST(CheckLayout, RejectsShortStringOffsets) {
    const ArrowTypeInfo info = node("u", 2, {BufferRef::null(), BufferRef{0, 8}, BufferRef{64, 3}});

    EXPECT_NE(layout_error(info, 128).find("offsets buffer has 8 bytes"), std::string::npos);
}

TEST(CheckLayout, RejectsWrongChildCounts) {
    EXPECT_EQ(layout_error(node("+l", 0, {BufferRef::null(), BufferRef::null()}), 0),
              "layout: array (format '+l'): has 0 children, the format needs 1");
    EXPECT_NE(
        layout_error(node("i", 0, {BufferRef::null(), BufferRef::null()}, {node("n", 0, {})}), 0)
            .find("has 1 children, the format needs 0"),
        std::string::npos);
}

TEST(CheckLayout, RejectsChildrenShorterThanTheirParentNeeds) {
    const ArrowTypeInfo ints = node("i", 3, {BufferRef::null(), BufferRef{0, 12}});

    EXPECT_NE(layout_error(node("+s", 4, {BufferRef::null()}, {ints}), 64)
                  .find("child 0 has length 3, offset + length of the parent need 4"),
              std::string::npos);
    EXPECT_NE(layout_error(node("+w:2", 2, {BufferRef::null()}, {ints}), 64)
                  .find("child 0 has length 3, offset + length of the parent need 4"),
              std::string::npos);
}

TEST(CheckLayout, ErrorsNameThePathOfTheBadNode) {
    const ArrowTypeInfo bad = node("i", 3, {BufferRef::null(), BufferRef{0, 4}});
    ArrowTypeInfo dictionary_encoded = node("C", 0, {BufferRef::null(), BufferRef::null()});
    dictionary_encoded.dictionary = std::make_unique<ArrowTypeInfo>(bad);
    const ArrowTypeInfo root = node("+s", 0, {BufferRef::null()}, {bad, dictionary_encoded});

    EXPECT_EQ(layout_error(node("+s", 0, {BufferRef::null()}, {root}), 64)
                  .find("layout: array.children[0].children[0] (format 'i')"),
              0U);
    ArrowTypeInfo fixed = root;
    fixed.children[0].length = 1;
    EXPECT_EQ(layout_error(fixed, 64).find("layout: array.children[1].dictionary (format 'i')"),
              0U);
}

TEST(CheckLayout, RejectsDictionaryIndicesThatAreNotIntegers) {
    ArrowTypeInfo info = node("f", 0, {BufferRef::null(), BufferRef::null()});
    info.dictionary = std::make_unique<ArrowTypeInfo>(node("n", 0, {}));

    EXPECT_NE(layout_error(info, 0).find("dictionary indices must have an integer format"),
              std::string::npos);
}

TEST(CheckLayout, RejectsADepthBomb) {
    EXPECT_EQ(layout_error(nested(kMaxDepth), 0), "(accepted)");
    EXPECT_NE(layout_error(nested(kMaxDepth + 1), 0).find("nested deeper than 64 levels"),
              std::string::npos);
}

}  // namespace
}  // namespace dora::message
