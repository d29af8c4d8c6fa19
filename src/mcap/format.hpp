// The MCAP container format (https://mcap.dev/spec, major version 0): constants, record types
// and the little-endian primitives the writer and the reader share.
//
// A file is  magic | Header | data section | [summary section] | [summary offset section] |
// Footer | magic, each section a sequence of records `u8 opcode | u64 LE length | body`.
// Integers are little-endian; a string is a u32 byte length then UTF-8 bytes; a map is a u32 byte
// length then its entries; byte arrays carry a u32 (Schema) or u64 (Chunk, Attachment) length.
// This module writes and reads the records dora needs (Header, Schema, Channel, Message, Chunk,
// Message Index, Chunk Index, Statistics, Summary Offset, Data End, Footer) and skips the others
// (Attachment, Metadata and their indexes), as the spec allows a reader to.
//
// Thread safety: constants, plain values and pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dora::mcap {

// 0x89 'M' 'C' 'A' 'P' '0' '\r' '\n': the major version is the '0'.
inline constexpr std::byte kMagic[8] = {std::byte{0x89}, std::byte{'M'}, std::byte{'C'},
                                        std::byte{'A'},  std::byte{'P'}, std::byte{'0'},
                                        std::byte{'\r'}, std::byte{'\n'}};
inline constexpr uint64_t kMagicSize = sizeof kMagic;
// opcode + length.
inline constexpr uint64_t kRecordPrefixSize = 9;
// Footer body: summary_start, summary_offset_start, summary_crc.
inline constexpr uint64_t kFooterBodySize = 8 + 8 + 4;

enum class Opcode : uint8_t {
    kHeader = 0x01,
    kFooter = 0x02,
    kSchema = 0x03,
    kChannel = 0x04,
    kMessage = 0x05,
    kChunk = 0x06,
    kMessageIndex = 0x07,
    kChunkIndex = 0x08,
    kAttachment = 0x09,
    kAttachmentIndex = 0x0A,
    kStatistics = 0x0B,
    kMetadata = 0x0C,
    kMetadataIndex = 0x0D,
    kSummaryOffset = 0x0E,
    kDataEnd = 0x0F,
};

// "Message", "Chunk", ... for error messages; "opcode 0x42" for one the spec does not define.
[[nodiscard]] std::string opcode_name(uint8_t opcode);

struct Header {
    std::string profile;
    std::string library;

    friend bool operator==(const Header&, const Header&) = default;
};

struct Schema {
    uint16_t id = 0;  // 0 is reserved: a channel with schema_id 0 has no schema
    std::string name;
    std::string encoding;
    std::vector<std::byte> data;

    friend bool operator==(const Schema&, const Schema&) = default;
};

struct Channel {
    uint16_t id = 0;
    uint16_t schema_id = 0;
    std::string topic;
    std::string message_encoding;
    std::map<std::string, std::string> metadata;

    friend bool operator==(const Channel&, const Channel&) = default;
};

struct Statistics {
    uint64_t message_count = 0;
    uint16_t schema_count = 0;
    uint32_t channel_count = 0;
    uint32_t attachment_count = 0;
    uint32_t metadata_count = 0;
    uint32_t chunk_count = 0;
    uint64_t message_start_time = 0;
    uint64_t message_end_time = 0;
    std::map<uint16_t, uint64_t> channel_message_counts;

    friend bool operator==(const Statistics&, const Statistics&) = default;
};

// Where a Chunk lies and where its Message Index records are (the summary holds one per chunk).
struct ChunkIndex {
    uint64_t message_start_time = 0;
    uint64_t message_end_time = 0;
    uint64_t chunk_start_offset = 0;
    uint64_t chunk_length = 0;  // the whole Chunk record, opcode and length included
    std::map<uint16_t, uint64_t> message_index_offsets;
    uint64_t message_index_length = 0;
    std::string compression;
    uint64_t compressed_size = 0;
    uint64_t uncompressed_size = 0;
};

// CRC-32 (ISO-HDLC, zlib's) continuing from `crc` (0 to start).
[[nodiscard]] uint32_t crc32(uint32_t crc, std::span<const std::byte> bytes);

// Appends little-endian primitives to a byte vector.
class Builder {
  public:
    explicit Builder(std::vector<std::byte>& out) : out_(out) {}
    void u8(uint8_t v) { out_.push_back(std::byte{v}); }
    void u16(uint16_t v) { le(v, 2); }
    void u32(uint32_t v) { le(v, 4); }
    void u64(uint64_t v) { le(v, 8); }
    void bytes(std::span<const std::byte> b) { out_.insert(out_.end(), b.begin(), b.end()); }
    void string(std::string_view s);
    void string_map(const std::map<std::string, std::string>& map);
    // A map from channel id to a u64 (counts, offsets).
    void channel_map(const std::map<uint16_t, uint64_t>& map);
    // Starts a record: opcode and a length to fill in with end_record(). Returns where it starts.
    [[nodiscard]] size_t begin_record(Opcode opcode);
    void end_record(size_t start);

  private:
    void le(uint64_t v, int n);
    std::vector<std::byte>& out_;
};

// The body of each record the writer writes (without opcode and length).
void encode_header(Builder& b, const Header& header);
void encode_schema(Builder& b, const Schema& schema);
void encode_channel(Builder& b, const Channel& channel);
void encode_statistics(Builder& b, const Statistics& statistics);
void encode_chunk_index(Builder& b, const ChunkIndex& index);
// A whole Message record whose data is the concatenation of `parts`.
void write_message_record(Builder& b, uint16_t channel_id, uint32_t sequence, uint64_t log_time,
                          uint64_t publish_time, std::span<const std::span<const std::byte>> parts);

}  // namespace dora::mcap
