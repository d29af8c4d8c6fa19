// dora recordings: messages of every Arrow shape and parameter kind come back bit for bit; a
// recording cut short reads up to its last complete message; foreign channels are refused.
#include "mcap/recording.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "testing/temp_dir.hpp"

namespace dora::mcap {
namespace {

using message::ArrowTypeInfo;
using message::BufferRef;

// A data region being filled: each buffer 64-byte aligned, as a node packs it.
struct Region {
    std::vector<std::byte> bytes;
    template <typename T>
    BufferRef add(std::initializer_list<T> values) {
        bytes.resize((bytes.size() + 63) / 64 * 64);
        const uint64_t at = bytes.size();
        bytes.resize(at + values.size() * sizeof(T));
        std::memcpy(bytes.data() + at, std::data(values), values.size() * sizeof(T));
        return BufferRef{at, values.size() * sizeof(T)};
    }
    BufferRef text(std::string_view s) {
        bytes.resize((bytes.size() + 63) / 64 * 64);
        const uint64_t at = bytes.size();
        bytes.insert(bytes.end(), reinterpret_cast<const std::byte*>(s.data()),
                     reinterpret_cast<const std::byte*>(s.data() + s.size()));
        return BufferRef{at, s.size()};
    }
};

ArrowTypeInfo info(std::string format, int64_t length, std::vector<BufferRef> buffers,
                   std::vector<ArrowTypeInfo> children = {}, std::string name = "") {
    ArrowTypeInfo t;
    t.format = std::move(format);
    t.name = std::move(name);
    t.length = length;
    t.buffers = std::move(buffers);
    t.children = std::move(children);
    return t;
}

struct Sample {
    std::string node, output;
    message::Metadata metadata;
    std::vector<std::byte> data;
};

message::Metadata metadata_of(ArrowTypeInfo type, uint64_t time, message::Parameters p = {}) {
    message::Metadata m;
    m.timestamp.time_ns = time;
    m.timestamp.id[0] = 0xab;
    m.timestamp.id[15] = 0xcd;
    m.type_info = std::move(type);
    m.parameters = std::move(p);
    return m;
}

std::vector<Sample> every_shape() {
    std::vector<Sample> out;
    {
        Region r;
        auto offsets = r.add<int32_t>({0, 5, 5, 11});
        auto chars = r.text("helloworld!");
        out.push_back({"camera", "text",
                       metadata_of(info("u", 3, {BufferRef::null(), offsets, chars}), 100,
                                   {{"seq", int64_t{1}}, {"ok", true}}),
                       r.bytes});
    }
    {
        Region r;
        auto values = r.add<int64_t>({1, -2, int64_t{1} << 62});
        out.push_back({"camera", "ints",
                       metadata_of(info("l", 3, {BufferRef::null(), values}), 101,
                                   {{"scale", 0.5}, {"unit", std::string("m")}}),
                       r.bytes});
    }
    {
        Region r;
        auto values = r.add<float>({1.5f, -0.0f, 3e38f});
        out.push_back({"imu", "floats",
                       metadata_of(info("f", 3, {BufferRef::null(), values}), 102,
                                   {{"list", std::vector<int64_t>{1, 2, 3}},
                                    {"names", std::vector<std::string>{"a", ""}},
                                    {"flags", std::vector<bool>{true, false}},
                                    {"weights", std::vector<double>{0.25}}}),
                       r.bytes});
    }
    {
        Region r;
        auto offsets = r.add<int32_t>({0, 3, 3});
        auto data = r.add<uint8_t>({0, 255, 7});
        out.push_back({"imu", "blob",
                       metadata_of(info("z", 2, {BufferRef::null(), offsets, data}), 103),
                       r.bytes});
    }
    {
        Region r;
        auto x = r.add<int32_t>({7, 8});
        auto offsets = r.add<int32_t>({0, 1, 3});
        auto chars = r.text("abc");
        auto validity = r.add<uint8_t>({0b01});
        auto child_x = info("i", 2, {BufferRef::null(), x}, {}, "x");
        auto child_y = info("u", 2, {BufferRef::null(), offsets, chars}, {}, "y");
        auto s = info("+s", 2, {validity}, {child_x, child_y}, "point");
        s.null_count = 1;
        out.push_back({"lidar", "points", metadata_of(std::move(s), 104), r.bytes});
    }
    {
        Region r;
        auto offsets = r.add<int32_t>({0, 2, 3});
        auto items = r.add<int32_t>({4, 5, 6});
        auto child = info("i", 3, {BufferRef::null(), items}, {}, "item");
        out.push_back({"lidar", "lists",
                       metadata_of(info("+l", 2, {BufferRef::null(), offsets}, {child}), 105),
                       r.bytes});
    }
    return out;
}

std::vector<std::byte> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto b = std::as_bytes(std::span<const char>(text));
    return {b.begin(), b.end()};
}

std::filesystem::path write_samples(const testing::TempDir& dir,
                                    const std::vector<Sample>& samples) {
    const auto path = dir / "rec.mcap";
    auto writer = RecordingWriter::create(path, DataflowInfo{"0190-uuid", "flow"});
    EXPECT_TRUE(writer) << writer.error().message();
    uint64_t log_time = 5000;
    for (const auto& s : samples) {
        auto ok = (*writer)->add(s.node, s.output, "edge1", s.metadata, s.data, log_time++);
        EXPECT_TRUE(ok) << ok.error().message();
    }
    EXPECT_TRUE((*writer)->close());
    return path;
}

TEST(Recording, EveryArrowShapeAndParameterComesBackBitForBit) {
    testing::TempDir dir;
    const auto samples = every_shape();
    auto reader = RecordingReader::open(write_samples(dir, samples));
    ASSERT_TRUE(reader) << reader.error().message();
    uint64_t log_time = 5000;
    for (const auto& s : samples) {
        auto m = (*reader)->next();
        ASSERT_TRUE(m) << m.error().message();
        ASSERT_TRUE(*m);
        EXPECT_EQ((*m)->node, s.node);
        EXPECT_EQ((*m)->output, s.output);
        EXPECT_EQ((*m)->machine, "edge1");
        EXPECT_EQ((*m)->log_time_ns, log_time++);
        EXPECT_EQ((*m)->metadata, s.metadata) << s.output;
        EXPECT_EQ((*m)->data, s.data) << s.output;
    }
    auto end = (*reader)->next();
    ASSERT_TRUE(end) << end.error().message();
    EXPECT_FALSE(*end);
    ASSERT_TRUE((*reader)->dataflow());
    EXPECT_EQ((*reader)->dataflow()->id, "0190-uuid");
    EXPECT_EQ((*reader)->dataflow()->name, "flow");
}

TEST(Recording, OneChannelPerOutputWithTopicEncodingAndMetadata) {
    testing::TempDir dir;
    auto reader = Reader::open(write_samples(dir, every_shape()));
    ASSERT_TRUE(reader);
    std::vector<uint64_t> publish_times;
    while (true) {
        auto m = (*reader)->next();
        ASSERT_TRUE(m) << m.error().message();
        if (!*m) break;
        publish_times.push_back((*m)->publish_time);
    }
    EXPECT_EQ(publish_times, (std::vector<uint64_t>{100, 101, 102, 103, 104, 105}));
    EXPECT_EQ((*reader)->header().profile, "dora");
    ASSERT_EQ((*reader)->channels().size(), 6u);
    const auto& c = (*reader)->channels().at(4);
    EXPECT_EQ(c.topic, "lidar/points");
    EXPECT_EQ(c.message_encoding, "dora-arrow");
    EXPECT_EQ(c.schema_id, 0);
    EXPECT_EQ(c.metadata, (std::map<std::string, std::string>{{"dataflow", "0190-uuid"},
                                                              {"dataflow_name", "flow"},
                                                              {"machine", "edge1"},
                                                              {"node", "lidar"},
                                                              {"output", "points"}}));
}

TEST(Recording, EncodedMetadataIsWrittenAsItCameAndCheckedFirst) {
    testing::TempDir dir;
    auto s = every_shape()[1];
    auto writer = RecordingWriter::create(dir / "e.mcap", DataflowInfo{"id", ""});
    ASSERT_TRUE(writer);
    const std::string encoded = message::encode(s.metadata);
    ASSERT_TRUE((*writer)->add_encoded("n", "o", "m", std::as_bytes(std::span<const char>(encoded)),
                                       s.data, 9));
    const std::string junk = "\x07garbage";
    auto bad = (*writer)->add_encoded("n", "o", "m", std::as_bytes(std::span<const char>(junk)),
                                      s.data, 9);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("n/o"), std::string::npos) << bad.error().message();
    ASSERT_TRUE((*writer)->close());
    auto reader = RecordingReader::open(dir / "e.mcap");
    ASSERT_TRUE(reader);
    auto m = (*reader)->next();
    ASSERT_TRUE(m && *m);
    EXPECT_EQ((*m)->metadata, s.metadata);
    EXPECT_EQ((*m)->data, s.data);
}

// A writer that died after a flush: the file has no summary and may end inside a record.
TEST(Recording, AFileCutShortReadsEveryCompleteMessageThenSaysWhere) {
    testing::TempDir dir;
    auto s = every_shape()[0];
    auto writer = RecordingWriter::create(dir / "live.mcap", DataflowInfo{"id", ""});
    ASSERT_TRUE(writer);
    for (uint64_t i = 0; i < 10; ++i) {
        ASSERT_TRUE((*writer)->add("a", "b", "m", s.metadata, s.data, i));
    }
    ASSERT_TRUE((*writer)->flush());
    const auto flushed = read_file(dir / "live.mcap");  // as a crash would leave it
    for (size_t cut : {flushed.size(), flushed.size() - 1, flushed.size() - 40}) {
        auto reader = RecordingReader::from_bytes(std::span(flushed).first(cut), "live.mcap");
        ASSERT_TRUE(reader);
        size_t n = 0;
        Result<std::optional<RecordedMessage>> m;
        while ((m = (*reader)->next()) && *m) {
            ++n;
        }
        ASSERT_FALSE(m);
        EXPECT_EQ(n, cut == flushed.size() ? 10u : 9u);
        EXPECT_NE(m.error().message().find(fmt::format("live.mcap: truncated at byte {}", cut)),
                  std::string::npos)
            << m.error().message();
        if (cut < flushed.size()) {
            EXPECT_NE(m.error().message().find("inside a Message record"), std::string::npos);
        }
    }
}

TEST(Recording, AChannelThatIsNotDoraIsRefusedByName) {
    testing::TempDir dir;
    {
        auto writer = Writer::create(dir / "ros.mcap");
        ASSERT_TRUE(writer);
        auto ch = (*writer)->add_channel(0, "/camera", "cdr", {});
        const std::byte data[4] = {};
        const std::span<const std::byte> parts[] = {data};
        ASSERT_TRUE((*writer)->add_message(*ch, 0, 0, 0, parts));
    }
    auto reader = RecordingReader::open(dir / "ros.mcap");
    ASSERT_TRUE(reader);
    auto m = (*reader)->next();
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message().find("topic /camera"), std::string::npos);
    EXPECT_NE(m.error().message().find("'cdr', not 'dora-arrow'"), std::string::npos)
        << m.error().message();
}

TEST(Recording, MessageDataThatDoesNotDecodeSaysWhatIsWrong) {
    auto s = every_shape()[1];
    auto good = encode_message_data(s.metadata, s.data);
    EXPECT_TRUE(decode_message_data(good));
    auto short_length = good;
    short_length[0] = std::byte{0xff};
    short_length[1] = std::byte{0xff};
    auto bad = decode_message_data(short_length);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("metadata length says"), std::string::npos);
    auto cut_region = std::span(good).first(good.size() - 8);
    auto layout = decode_message_data(cut_region);
    ASSERT_FALSE(layout);
    EXPECT_NE(layout.error().message().find("Arrow layout"), std::string::npos)
        << layout.error().message();
    EXPECT_FALSE(decode_message_data(std::span(good).first(3)));
}

}  // namespace
}  // namespace dora::mcap
