#include "mcap/chunk_builder.hpp"

#include <algorithm>

namespace dora::mcap {

void ChunkBuilder::add_message(uint16_t channel_id, uint32_t sequence, uint64_t log_time,
                               uint64_t publish_time,
                               std::span<const std::span<const std::byte>> parts) {
    start_time_ = records_.empty() ? log_time : std::min(start_time_, log_time);
    end_time_ = records_.empty() ? log_time : std::max(end_time_, log_time);
    index_[channel_id].emplace_back(log_time, records_.size());
    Builder b(records_);
    write_message_record(b, channel_id, sequence, log_time, publish_time, parts);
}

ChunkIndex ChunkBuilder::finish(std::vector<std::byte>& out, uint64_t at) {
    const size_t first = out.size();
    Builder b(out);
    const size_t chunk = b.begin_record(Opcode::kChunk);
    b.u64(start_time_);
    b.u64(end_time_);
    b.u64(records_.size());
    b.u32(crc32(0, records_));
    b.string("");  // uncompressed
    b.u64(records_.size());
    b.bytes(records_);
    b.end_record(chunk);

    ChunkIndex index;
    index.message_start_time = start_time_;
    index.message_end_time = end_time_;
    index.chunk_start_offset = at;
    index.chunk_length = out.size() - first;
    index.compressed_size = records_.size();
    index.uncompressed_size = records_.size();
    for (const auto& [channel, entries] : index_) {
        index.message_index_offsets[channel] = at + (out.size() - first);
        const size_t record = b.begin_record(Opcode::kMessageIndex);
        b.u16(channel);
        b.u32(static_cast<uint32_t>(entries.size() * 16));
        for (const auto& [time, offset] : entries) {
            b.u64(time);
            b.u64(offset);
        }
        b.end_record(record);
    }
    index.message_index_length =
        at + (out.size() - first) - index.chunk_start_offset - index.chunk_length;
    records_.clear();
    index_.clear();
    return index;
}

}  // namespace dora::mcap
