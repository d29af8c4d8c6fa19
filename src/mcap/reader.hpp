// Reads MCAP files (format.hpp) front to back, as a streaming reader: messages come in file order,
// Schema and Channel records are collected as they appear (in the data section, inside chunks and
// in the summary). Chunks are read when uncompressed; a compressed one (lz4, zstd) is refused with
// an error naming its compression. Attachments, Metadata, indexes and unknown opcodes are skipped.
//
// Nothing in the file is trusted: every length is checked against the bytes that are really
// there (the file's size, the enclosing record or chunk) before anything is allocated or read, and
// every error names the byte offset and what is wrong, e.g. "not an MCAP file (its first bytes are
// ... instead of the MCAP magic ...)", "truncated at byte N inside a Message record that starts at
// byte M", "the Message record at byte N names channel 7, which no Channel record declared before
// it". CRCs (Data End, Chunk, Footer) are checked where the writer gave them (non-zero).
// Once next() has failed, the reader stays at that error: what came before it was good.
//
// Memory: one record at a time (a Message's data, or a whole uncompressed Chunk, at most
// kMaxChunkSize bytes), plus every Schema and Channel seen.
//
// Thread safety: a Reader is used by one thread at a time.
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
#include "mcap/format.hpp"

namespace dora::mcap {

// The largest chunk the reader loads (uncompressed records are read whole).
inline constexpr uint64_t kMaxChunkSize = uint64_t{1} << 30;

namespace detail {
class Cursor;  // reads the fields of one record (reader.cpp)
}  // namespace detail

// Where the bytes come from: a file (read with pread) or memory (tests, fuzzing).
class Source {
  public:
    virtual ~Source() = default;
    [[nodiscard]] virtual uint64_t size() const = 0;
    // Reads exactly out.size() bytes at `offset` (within size()).
    [[nodiscard]] virtual Result<> read(uint64_t offset, std::span<std::byte> out) = 0;
};

// A message as the reader hands it out; `data` stays valid until the next call of next().
struct MessageView {
    const Channel* channel = nullptr;
    uint32_t sequence = 0;
    uint64_t log_time = 0;
    uint64_t publish_time = 0;
    std::span<const std::byte> data;
    uint64_t offset = 0;  // of the Message record in the file (inside a chunk: of the chunk)
};

class Reader {
  public:
    // Opens `path` and checks the leading magic and the Header.
    [[nodiscard]] static Result<std::unique_ptr<Reader>> open(const std::filesystem::path& path);
    // Reads from `bytes` (which must outlive the reader); `name` stands for the file in errors.
    [[nodiscard]] static Result<std::unique_ptr<Reader>> from_bytes(
        std::span<const std::byte> bytes, std::string name = "<memory>");
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    ~Reader();

    // The next message in file order; std::nullopt once the Footer and the trailing magic were
    // read. Errors name the file and the byte offset.
    [[nodiscard]] Result<std::optional<MessageView>> next();

    [[nodiscard]] const Header& header() const { return header_; }
    [[nodiscard]] const std::map<uint16_t, Schema>& schemas() const { return schemas_; }
    [[nodiscard]] const std::map<uint16_t, Channel>& channels() const { return channels_; }
    // The summary's Statistics, once the reader has passed it.
    [[nodiscard]] const std::optional<Statistics>& statistics() const { return statistics_; }
    // The end of the last record read completely.
    [[nodiscard]] uint64_t position() const { return position_; }
    [[nodiscard]] const std::string& name() const { return name_; }

  private:
    struct Chunk;
    Reader(std::unique_ptr<Source> source, std::string name);
    [[nodiscard]] Result<> start();
    [[nodiscard]] Result<std::optional<MessageView>> step();
    [[nodiscard]] Result<std::optional<MessageView>> step_in_chunk();
    // Reads the body of the record at position_ (opcode, length known) into body_, checking the
    // length against the file; skipped records are only read for the CRC.
    [[nodiscard]] Result<> read_body(uint8_t opcode, uint64_t length, bool keep);
    [[nodiscard]] Result<std::optional<MessageView>> handle(uint8_t opcode, uint64_t at,
                                                            std::span<const std::byte> body,
                                                            bool in_chunk);
    [[nodiscard]] Result<> enter_chunk(uint64_t at, std::span<const std::byte> body);
    [[nodiscard]] Result<> finish(uint64_t at, std::span<const std::byte> body);
    [[nodiscard]] Result<std::optional<MessageView>> message(detail::Cursor& c, uint64_t at,
                                                             bool in_chunk);
    [[nodiscard]] Result<> handle_structure(uint8_t opcode, uint64_t at,
                                            std::span<const std::byte> body, detail::Cursor& c);
    // Both do nothing when `parsed` failed (handle() reports that).
    [[nodiscard]] Result<> add_schema(Schema schema, uint64_t at, const detail::Cursor& parsed);
    [[nodiscard]] Result<> add_channel(Channel channel, uint64_t at, const detail::Cursor& parsed);
    [[nodiscard]] Error error(std::string_view what) const;

    std::unique_ptr<Source> source_;
    std::string name_;
    uint64_t size_ = 0;
    uint64_t position_ = 0;
    uint32_t crc_ = 0;  // of every byte before position_, until the Data End record
    bool data_ended_ = false;
    bool finished_ = false;
    std::optional<Error> failed_;
    uint8_t last_opcode_ = 0;
    uint64_t last_at_ = 0;
    Header header_;
    std::map<uint16_t, Schema> schemas_;
    std::map<uint16_t, Channel> channels_;
    std::optional<Statistics> statistics_;
    std::vector<std::byte> body_;
    std::unique_ptr<Chunk> chunk_;
};

}  // namespace dora::mcap
