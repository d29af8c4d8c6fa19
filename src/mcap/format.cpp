#include "mcap/format.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <limits>

namespace dora::mcap {

std::string opcode_name(uint8_t opcode) {
    switch (static_cast<Opcode>(opcode)) {
        case Opcode::kHeader:
            return "Header";
        case Opcode::kFooter:
            return "Footer";
        case Opcode::kSchema:
            return "Schema";
        case Opcode::kChannel:
            return "Channel";
        case Opcode::kMessage:
            return "Message";
        case Opcode::kChunk:
            return "Chunk";
        case Opcode::kMessageIndex:
            return "Message Index";
        case Opcode::kChunkIndex:
            return "Chunk Index";
        case Opcode::kAttachment:
            return "Attachment";
        case Opcode::kAttachmentIndex:
            return "Attachment Index";
        case Opcode::kStatistics:
            return "Statistics";
        case Opcode::kMetadata:
            return "Metadata";
        case Opcode::kMetadataIndex:
            return "Metadata Index";
        case Opcode::kSummaryOffset:
            return "Summary Offset";
        case Opcode::kDataEnd:
            return "Data End";
    }
    return fmt::format("opcode 0x{:02x}", opcode);
}

uint32_t crc32(uint32_t crc, std::span<const std::byte> bytes) {
    // zlib takes uInt lengths: feed it in pieces that fit.
    constexpr size_t kPiece = std::numeric_limits<uInt>::max() / 2;
    uLong value = crc;
    while (!bytes.empty()) {
        const size_t n = std::min(bytes.size(), kPiece);
        value = ::crc32(value, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(n));
        bytes = bytes.subspan(n);
    }
    return static_cast<uint32_t>(value);
}

void Builder::le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) {
        out_.push_back(static_cast<std::byte>((v >> (8 * i)) & 0xff));
    }
}

void Builder::string(std::string_view s) {
    u32(static_cast<uint32_t>(s.size()));
    bytes(std::as_bytes(std::span<const char>(s.data(), s.size())));
}

void Builder::string_map(const std::map<std::string, std::string>& map) {
    const size_t at = out_.size();
    u32(0);
    for (const auto& [key, value] : map) {
        string(key);
        string(value);
    }
    const uint64_t length = out_.size() - at - 4;
    for (int i = 0; i < 4; ++i) {
        out_[at + static_cast<size_t>(i)] = static_cast<std::byte>((length >> (8 * i)) & 0xff);
    }
}

void Builder::channel_map(const std::map<uint16_t, uint64_t>& map) {
    u32(static_cast<uint32_t>(map.size() * (2 + 8)));
    for (const auto& [channel, value] : map) {
        u16(channel);
        u64(value);
    }
}

size_t Builder::begin_record(Opcode opcode) {
    const size_t start = out_.size();
    u8(static_cast<uint8_t>(opcode));
    u64(0);
    return start;
}

void Builder::end_record(size_t start) {
    const uint64_t length = out_.size() - start - kRecordPrefixSize;
    for (int i = 0; i < 8; ++i) {
        out_[start + 1 + static_cast<size_t>(i)] =
            static_cast<std::byte>((length >> (8 * i)) & 0xff);
    }
}

void encode_header(Builder& b, const Header& header) {
    b.string(header.profile);
    b.string(header.library);
}

void encode_schema(Builder& b, const Schema& schema) {
    b.u16(schema.id);
    b.string(schema.name);
    b.string(schema.encoding);
    b.u32(static_cast<uint32_t>(schema.data.size()));
    b.bytes(schema.data);
}

void encode_channel(Builder& b, const Channel& channel) {
    b.u16(channel.id);
    b.u16(channel.schema_id);
    b.string(channel.topic);
    b.string(channel.message_encoding);
    b.string_map(channel.metadata);
}

void encode_statistics(Builder& b, const Statistics& s) {
    b.u64(s.message_count);
    b.u16(s.schema_count);
    b.u32(s.channel_count);
    b.u32(s.attachment_count);
    b.u32(s.metadata_count);
    b.u32(s.chunk_count);
    b.u64(s.message_start_time);
    b.u64(s.message_end_time);
    b.channel_map(s.channel_message_counts);
}

void encode_chunk_index(Builder& b, const ChunkIndex& index) {
    b.u64(index.message_start_time);
    b.u64(index.message_end_time);
    b.u64(index.chunk_start_offset);
    b.u64(index.chunk_length);
    b.channel_map(index.message_index_offsets);
    b.u64(index.message_index_length);
    b.string(index.compression);
    b.u64(index.compressed_size);
    b.u64(index.uncompressed_size);
}

void write_message_record(Builder& b, uint16_t channel_id, uint32_t sequence, uint64_t log_time,
                          uint64_t publish_time,
                          std::span<const std::span<const std::byte>> parts) {
    const size_t at = b.begin_record(Opcode::kMessage);
    b.u16(channel_id);
    b.u32(sequence);
    b.u64(log_time);
    b.u64(publish_time);
    for (const auto& part : parts) {
        b.bytes(part);
    }
    b.end_record(at);
}

}  // namespace dora::mcap
