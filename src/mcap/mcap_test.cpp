// The MCAP writer and reader: what the writer writes reads back; every cut, corruption and
// foreign file gives an error naming the byte offset.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "mcap/reader.hpp"
#include "mcap/writer.hpp"
#include "testing/temp_dir.hpp"

namespace dora::mcap {
namespace {

std::vector<std::byte> bytes_of(std::string_view s) {
    auto b = std::as_bytes(std::span<const char>(s.data(), s.size()));
    return {b.begin(), b.end()};
}

std::vector<std::byte> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return bytes_of(text);
}

struct Read {
    std::vector<std::string> messages;  // "topic:log_time:data"
    std::optional<std::string> error;
};

Read read_all(std::span<const std::byte> bytes) {
    Read out;
    auto reader = Reader::from_bytes(bytes, "test.mcap");
    if (!reader) {
        out.error = reader.error().message();
        return out;
    }
    for (;;) {
        auto m = (*reader)->next();
        if (!m) {
            out.error = m.error().message();
            return out;
        }
        if (!*m) {
            return out;
        }
        const auto& v = **m;
        out.messages.push_back(
            fmt::format("{}:{}:{}", v.channel->topic, v.log_time,
                        std::string(reinterpret_cast<const char*>(v.data.data()), v.data.size())));
    }
}

// Writes two channels and `n` messages "m0", "m1", ... alternating between them (in chunks of
// about `chunk_size` bytes when it is not 0).
std::vector<std::byte> sample_file(const testing::TempDir& dir, int n, size_t chunk_size = 0) {
    const auto path = dir / "sample.mcap";
    auto writer = Writer::create(path, WriterOptions{"prof", "lib", 64, chunk_size});
    EXPECT_TRUE(writer) << writer.error().message();
    auto a = (*writer)->add_channel(0, "a/out", "raw", {{"k", "v"}});
    auto b = (*writer)->add_channel(0, "b/out", "raw", {});
    EXPECT_TRUE(a && b);
    for (int i = 0; i < n; ++i) {
        auto data = bytes_of(fmt::format("m{}", i));
        const std::span<const std::byte> parts[] = {data};
        EXPECT_TRUE((*writer)->add_message(i % 2 == 0 ? *a : *b, static_cast<uint32_t>(i),
                                           1000 + static_cast<uint64_t>(i), 7, parts));
    }
    EXPECT_TRUE((*writer)->close());
    return read_file(path);
}

TEST(McapWriter, WhatItWritesReadsBackInOrderWithChannelsAndStatistics) {
    testing::TempDir dir;
    auto file = sample_file(dir, 5);
    auto reader = Reader::from_bytes(file);
    ASSERT_TRUE(reader) << reader.error().message();
    EXPECT_EQ((*reader)->header().profile, "prof");
    EXPECT_EQ((*reader)->header().library, "lib");
    std::vector<std::string> got;
    for (;;) {
        auto m = (*reader)->next();
        ASSERT_TRUE(m) << m.error().message();
        if (!*m) break;
        got.push_back(fmt::format("{}:{}:{}:{}", (*m)->channel->topic, (*m)->sequence,
                                  (*m)->log_time, (*m)->publish_time));
    }
    EXPECT_EQ(got, (std::vector<std::string>{"a/out:0:1000:7", "b/out:1:1001:7", "a/out:2:1002:7",
                                             "b/out:3:1003:7", "a/out:4:1004:7"}));
    ASSERT_EQ((*reader)->channels().size(), 2u);
    EXPECT_EQ((*reader)->channels().at(0).metadata.at("k"), "v");
    EXPECT_EQ((*reader)->channels().at(1).message_encoding, "raw");
    ASSERT_TRUE((*reader)->statistics());
    const auto& s = *(*reader)->statistics();
    EXPECT_EQ(s.message_count, 5u);
    EXPECT_EQ(s.channel_count, 2u);
    EXPECT_EQ(s.message_start_time, 1000u);
    EXPECT_EQ(s.message_end_time, 1004u);
    EXPECT_EQ(s.channel_message_counts, (std::map<uint16_t, uint64_t>{{0, 3}, {1, 2}}));
    EXPECT_EQ((*reader)->position(), file.size());
}

TEST(McapWriter, ADestroyedWriterLeavesACompleteFile) {
    testing::TempDir dir;
    {
        auto writer = Writer::create(dir / "d.mcap");
        ASSERT_TRUE(writer);
        auto ch = (*writer)->add_channel(0, "t", "raw", {});
        auto data = bytes_of("x");
        const std::span<const std::byte> parts[] = {data};
        ASSERT_TRUE((*writer)->add_message(*ch, 0, 1, 1, parts));
    }
    auto read = read_all(read_file(dir / "d.mcap"));
    EXPECT_FALSE(read.error) << *read.error;
    EXPECT_EQ(read.messages, (std::vector<std::string>{"t:1:x"}));
}

TEST(McapWriter, RefusesAMessageOnAChannelItDidNotAdd) {
    testing::TempDir dir;
    auto writer = Writer::create(dir / "x.mcap");
    ASSERT_TRUE(writer);
    auto ok = (*writer)->add_message(3, 0, 0, 0, {});
    ASSERT_FALSE(ok);
    EXPECT_NE(ok.error().message().find("channel 3"), std::string::npos);
}

TEST(McapWriter, ReportsAFileItCannotCreate) {
    auto writer = Writer::create("/nonexistent-dir/x.mcap");
    ASSERT_FALSE(writer);
    EXPECT_NE(writer.error().message().find("/nonexistent-dir/x.mcap"), std::string::npos);
}

// Every cut of a file: the reader gives exactly the messages wholly before the cut (in chunks:
// of the chunks wholly before it), then an error naming the byte where the file ends.
class EveryCut : public ::testing::TestWithParam<size_t> {};

TEST_P(EveryCut, ReadsTheCompleteMessagesThenSaysWhereTheFileEnds) {
    testing::TempDir dir;
    auto file = sample_file(dir, 6, GetParam());
    auto whole = read_all(file);
    ASSERT_FALSE(whole.error);
    // Where each message record ends: found by cutting at growing sizes.
    size_t previous = 0;
    for (size_t cut = 0; cut < file.size(); ++cut) {
        auto read = read_all(std::span(file).first(cut));
        ASSERT_TRUE(read.error) << "cut at " << cut << " read as complete";
        if (cut < kMagicSize) {
            EXPECT_NE(read.error->find("not an MCAP file (magic)"), std::string::npos)
                << *read.error;
            continue;
        }
        EXPECT_NE(read.error->find(fmt::format("truncated at byte {}", cut)), std::string::npos)
            << "cut at " << cut << ": " << *read.error;
        EXPECT_GE(read.messages.size(), previous) << "cut at " << cut;
        previous = read.messages.size();
        ASSERT_LE(read.messages.size(), whole.messages.size());
        EXPECT_TRUE(std::equal(read.messages.begin(), read.messages.end(), whole.messages.begin()));
    }
    EXPECT_EQ(previous, whole.messages.size());  // cuts in the summary lose no message
}

INSTANTIATE_TEST_SUITE_P(McapReader, EveryCut, ::testing::Values(0, 40));

TEST(McapWriter, ChunkedFilesHoldTheSameMessagesWithIndexes) {
    testing::TempDir plain_dir;
    testing::TempDir chunked_dir;
    auto plain = read_all(sample_file(plain_dir, 9));
    auto file = sample_file(chunked_dir, 9, 40);
    auto chunked = read_all(file);
    ASSERT_FALSE(chunked.error) << *chunked.error;
    EXPECT_EQ(chunked.messages, plain.messages);
    auto reader = Reader::from_bytes(file);
    ASSERT_TRUE(reader);
    while (auto m = (*reader)->next()) {
        if (!*m) break;
    }
    ASSERT_TRUE((*reader)->statistics());
    EXPECT_GE((*reader)->statistics()->chunk_count, 3u);
}

TEST(McapReader, AFileThatIsNotMcapIsRefusedByItsMagic) {
    auto png = bytes_of("\x89PNG\r\n\x1a\n and more bytes of an image");
    auto read = read_all(png);
    ASSERT_TRUE(read.error);
    EXPECT_NE(read.error->find("test.mcap: not an MCAP file (magic)"), std::string::npos)
        << *read.error;
    EXPECT_NE(read.error->find("89 50 4e 47"), std::string::npos) << *read.error;
    EXPECT_TRUE(read_all({}).error->find("only 0 bytes") != std::string::npos);
}

TEST(McapReader, RefusesAnotherMajorVersion) {
    testing::TempDir dir;
    auto file = sample_file(dir, 1);
    file[5] = std::byte{'1'};
    auto read = read_all(file);
    ASSERT_TRUE(read.error);
    EXPECT_NE(read.error->find("major version '1'"), std::string::npos) << *read.error;
}

TEST(McapReader, GarbageAfterTheMagicNamesTheRecordAndOffset) {
    std::vector<std::byte> file(std::begin(kMagic), std::end(kMagic));
    for (int i = 0; i < 64; ++i) {
        file.push_back(static_cast<std::byte>(0xA5 ^ (i * 37)));
    }
    auto read = read_all(file);
    ASSERT_TRUE(read.error);
    EXPECT_NE(read.error->find("at byte 8"), std::string::npos) << *read.error;
}

TEST(McapReader, AHugeLengthIsCaughtBeforeAnythingIsAllocated) {
    testing::TempDir dir;
    auto file = sample_file(dir, 2);
    // The first Message record: after magic, Header and two Channel records.
    auto reader = Reader::from_bytes(file);
    ASSERT_TRUE(reader);
    auto first = (*reader)->next();
    ASSERT_TRUE(first && *first);
    const uint64_t at = (*first)->offset;
    ASSERT_EQ(file[at], std::byte{0x05});
    for (int i = 0; i < 8; ++i) file[at + 1 + static_cast<size_t>(i)] = std::byte{0x7f};
    auto read = read_all(file);
    ASSERT_TRUE(read.error);
    EXPECT_NE(read.error->find(fmt::format("inside a Message record that starts at byte {}", at)),
              std::string::npos)
        << *read.error;
}

TEST(McapReader, AFlippedByteFailsTheDataSectionCrc) {
    testing::TempDir dir;
    auto file = sample_file(dir, 3);
    const std::string text(reinterpret_cast<const char*>(file.data()), file.size());
    const size_t at = text.find("m1");
    ASSERT_NE(at, std::string::npos);
    file[at + 1] = std::byte{'9'};
    auto read = read_all(file);
    ASSERT_TRUE(read.error);
    EXPECT_NE(read.error->find("data section's CRC does not match"), std::string::npos)
        << *read.error;
}

// A file built record by record, for what our writer never writes (chunks, foreign records).
class Handmade {
  public:
    Handmade() : b_(bytes_) {
        b_.bytes(kMagic);
        record(Opcode::kHeader, [&] {
            b_.string("x");
            b_.string("y");
        });
    }
    template <typename F>
    void record(Opcode opcode, F&& body) {
        const size_t at = b_.begin_record(opcode);
        body();
        b_.end_record(at);
    }
    void channel(uint16_t id, std::string topic) {
        record(Opcode::kChannel, [&] {
            encode_channel(b_, Channel{id, 0, std::move(topic), "raw", {}});
        });
    }
    static void message(Builder& b, uint16_t channel, uint64_t time, std::string_view data) {
        const size_t at = b.begin_record(Opcode::kMessage);
        b.u16(channel);
        b.u32(0);
        b.u64(time);
        b.u64(time);
        b.bytes(bytes_of(data));
        b.end_record(at);
    }
    void chunk(std::string compression, const std::vector<std::byte>& records, uint32_t crc) {
        record(Opcode::kChunk, [&] {
            b_.u64(0);
            b_.u64(0);
            b_.u64(records.size());
            b_.u32(crc);
            b_.string(compression);
            b_.u64(records.size());
            b_.bytes(records);
        });
    }
    std::vector<std::byte> finish() {
        record(Opcode::kDataEnd, [&] { b_.u32(0); });
        record(Opcode::kFooter, [&] {
            b_.u64(0);
            b_.u64(0);
            b_.u32(0);
        });
        b_.bytes(kMagic);
        return bytes_;
    }
    Builder& b() { return b_; }

  private:
    std::vector<std::byte> bytes_;
    Builder b_;
};

std::vector<std::byte> chunk_records() {
    std::vector<std::byte> records;
    Builder r(records);
    const size_t at = r.begin_record(Opcode::kChannel);
    encode_channel(r, Channel{3, 0, "cam", "raw", {}});
    r.end_record(at);
    Handmade::message(r, 3, 10, "first");
    Handmade::message(r, 3, 11, "second");
    return records;
}

TEST(McapReader, ReadsUncompressedChunksAndSkipsRecordsItDoesNotUse) {
    Handmade file;
    const auto records = chunk_records();
    file.chunk("", records, crc32(0, records));
    file.record(Opcode::kMessageIndex, [&] {
        file.b().u16(3);
        file.b().u32(0);
    });
    file.record(Opcode::kMetadata, [&] {
        file.b().string("note");
        file.b().string_map({{"a", "b"}});
    });
    file.record(static_cast<Opcode>(0x80), [&] { file.b().u64(42); });  // unknown: skipped
    auto read = read_all(file.finish());
    EXPECT_FALSE(read.error) << *read.error;
    EXPECT_EQ(read.messages, (std::vector<std::string>{"cam:10:first", "cam:11:second"}));
}

TEST(McapReader, RefusesACompressedChunkNamingItsCompression) {
    for (std::string compression : {"lz4", "zstd"}) {
        Handmade file;
        file.channel(1, "before");
        file.chunk(compression, chunk_records(), 0);
        auto read = read_all(file.finish());
        ASSERT_TRUE(read.error);
        EXPECT_NE(read.error->find(fmt::format("compressed with {}", compression)),
                  std::string::npos)
            << *read.error;
        EXPECT_NE(read.error->find("the Chunk at byte"), std::string::npos) << *read.error;
    }
}

TEST(McapReader, AChunkWhoseCrcDoesNotMatchIsCorrupt) {
    Handmade file;
    const auto records = chunk_records();
    file.chunk("", records, crc32(0, records) ^ 1);
    auto read = read_all(file.finish());
    ASSERT_TRUE(read.error);
    EXPECT_NE(read.error->find("its CRC"), std::string::npos) << *read.error;
}

TEST(McapReader, AMessageOnAnUndeclaredChannelIsAnError) {
    Handmade file;
    Handmade::message(file.b(), 9, 1, "x");
    auto read = read_all(file.finish());
    ASSERT_TRUE(read.error);
    EXPECT_NE(read.error->find("names channel 9, which no Channel record declared"),
              std::string::npos)
        << *read.error;
}

TEST(McapReader, AFieldThatRunsPastItsRecordNamesTheField) {
    Handmade file;
    file.record(Opcode::kChannel, [&] {
        file.b().u16(1);
        file.b().u16(0);
        file.b().u32(1000);  // a topic length past the record
    });
    auto read = read_all(file.finish());
    ASSERT_TRUE(read.error);
    EXPECT_NE(read.error->find("Channel at byte"), std::string::npos) << *read.error;
    EXPECT_NE(read.error->find("topic"), std::string::npos) << *read.error;
}

TEST(McapReader, ReportsAMissingFile) {
    auto reader = Reader::open("/nonexistent/r.mcap");
    ASSERT_FALSE(reader);
    EXPECT_NE(reader.error().message().find("cannot open /nonexistent/r.mcap"), std::string::npos);
}

}  // namespace
}  // namespace dora::mcap
