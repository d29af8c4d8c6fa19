// Collects Message records into one uncompressed MCAP Chunk and, when the chunk is finished,
// writes the Chunk record followed by one Message Index record per channel in it (log_time and
// offset of each of its messages inside the chunk), and gives the Chunk Index entry the summary
// needs. Used by mcap::Writer when WriterOptions::chunk_size is set.
//
// Memory: the chunk's records and 16 bytes per message in it, until finish().
//
// Thread safety: used by one thread at a time (its Writer's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "mcap/format.hpp"

namespace dora::mcap {

class ChunkBuilder {
  public:
    void add_message(uint16_t channel_id, uint32_t sequence, uint64_t log_time,
                     uint64_t publish_time, std::span<const std::span<const std::byte>> parts);
    [[nodiscard]] bool empty() const { return records_.empty(); }
    // Bytes of the records collected so far.
    [[nodiscard]] size_t size() const { return records_.size(); }
    // Appends the Chunk record and its Message Index records to `out`, whose first byte lies at
    // file offset `at`; returns the chunk's index entry and starts a new chunk.
    [[nodiscard]] ChunkIndex finish(std::vector<std::byte>& out, uint64_t at);

  private:
    std::vector<std::byte> records_;
    uint64_t start_time_ = 0;
    uint64_t end_time_ = 0;
    std::map<uint16_t, std::vector<std::pair<uint64_t, uint64_t>>> index_;  // log_time, offset
};

}  // namespace dora::mcap
