// Writes MCAP files (format.hpp): a Header, then Schema, Channel and Message records in the order
// they are added, and on close() a Data End record with the data section's CRC, a summary section
// (every Schema and Channel, one Statistics, the Chunk Indexes), a summary offset section and the
// Footer. Readers that use the summary (mcap's make_reader, Foxglove) find channels and counts
// there; streaming readers read records in order.
//
// Chunks: by default none, so every message is a record of its own, readable (and safe from a
// crash) as soon as it is in the file. With WriterOptions::chunk_size, messages are collected into
// uncompressed Chunks of about that size, each followed by its Message Index records and listed in
// the summary's Chunk Indexes (what indexed readers use to seek by time); a crash then loses the
// chunk being collected, so flush() ends it too.
//
// Buffering and durability: records are collected in a buffer of `buffer_size` bytes and written
// whole, so the file always ends at a record boundary (a record larger than the buffer is written
// at once by itself). Nothing is fsync'ed. A writer that dies half-way (crash, kill -9) leaves a
// file that a streaming reader reads up to the last record flushed; reader.hpp reports it as
// truncated. flush() writes the buffer now (e.g. once a second, so that a crash loses little).
//
// Memory: the buffer (default 1 MiB), plus every Schema and Channel added (kept for the summary)
// and one counter per channel; with chunks also the open chunk (chunk_size and 16 bytes per message
// in it) and one Chunk Index (~70 bytes) per chunk written. Nothing else grows with the number of
// messages.
//
// Thread safety: a Writer is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/sys.hpp"
#include "mcap/chunk_builder.hpp"
#include "mcap/format.hpp"

namespace dora::mcap {

struct WriterOptions {
    std::string profile;               // the Header's profile ("" = none)
    std::string library = "dora-cpp";  // the Header's library
    size_t buffer_size = 1 << 20;
    size_t chunk_size = 0;  // 0: no chunks
};

class Writer {
  public:
    // Creates (or truncates) `path` and writes the magic and the Header.
    [[nodiscard]] static Result<std::unique_ptr<Writer>> create(const std::filesystem::path& path,
                                                                WriterOptions options = {});
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    // Closes the file as close() does, if it was not closed; errors are lost then.
    ~Writer();

    // Adds a Schema record; returns its id (1, 2, ...).
    [[nodiscard]] Result<uint16_t> add_schema(std::string name, std::string encoding,
                                              std::vector<std::byte> data);
    // Adds a Channel record; returns its id (0, 1, ...). `schema_id` 0: no schema; otherwise an id
    // add_schema() returned.
    [[nodiscard]] Result<uint16_t> add_channel(uint16_t schema_id, std::string topic,
                                               std::string message_encoding,
                                               std::map<std::string, std::string> metadata);
    // Adds a Message record on `channel_id` whose data is the concatenation of `parts` (so that a
    // caller can put a prefix before its payload without copying it first).
    [[nodiscard]] Result<> add_message(uint16_t channel_id, uint32_t sequence, uint64_t log_time,
                                       uint64_t publish_time,
                                       std::span<const std::span<const std::byte>> parts);

    // Ends the open chunk (if any) and writes what is buffered to the file.
    [[nodiscard]] Result<> flush();
    // Writes the end of the file (Data End, summary, Footer, magic) and closes it. Once closed,
    // further calls fail; a second close() does nothing. After any write error the writer is
    // broken: every later call returns that error, and close() only closes the descriptor.
    [[nodiscard]] Result<> close();

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    [[nodiscard]] uint64_t message_count() const { return statistics_.message_count; }
    // Bytes written to the file or waiting in the buffer.
    [[nodiscard]] uint64_t bytes() const { return written_ + buffer_.size(); }

  private:
    Writer(std::filesystem::path path, sys::UniqueFd fd, WriterOptions options);
    [[nodiscard]] Result<> usable() const;
    // Appends one finished record (in scratch_) to the data section: through the buffer, or
    // directly when it is larger than the buffer.
    [[nodiscard]] Result<> append(std::span<const std::byte> record);
    [[nodiscard]] Result<> flush_buffer();
    [[nodiscard]] Result<> finish_chunk();
    [[nodiscard]] Result<> write_out(std::span<const std::byte> bytes);
    [[nodiscard]] std::vector<std::byte> summary_and_footer(uint64_t summary_start) const;

    std::filesystem::path path_;
    sys::UniqueFd fd_;
    WriterOptions options_;
    std::vector<std::byte> buffer_;
    std::vector<std::byte> scratch_;
    uint64_t written_ = 0;   // bytes in the file
    uint32_t data_crc_ = 0;  // of every byte of the data section so far
    std::vector<Schema> schemas_;
    std::vector<Channel> channels_;
    Statistics statistics_;
    ChunkBuilder chunk_;
    std::vector<ChunkIndex> chunk_indexes_;
    bool closed_ = false;
    std::optional<Error> broken_;
};

}  // namespace dora::mcap
