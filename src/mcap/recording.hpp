// dora recordings: the MCAP layout `dora record` writes and `dora replay` reads.
//
// File: Header profile "dora", library "dora-cpp". No schemas (schema_id 0): the message
// encoding below is self-describing, as the MCAP spec allows for such encodings.
// Channels: one per recorded output (per node, output and machine), topic "NODE/OUTPUT"
// (OUTPUT of an operator is "OPERATOR/OUTPUT", so the topic has two slashes then), message
// encoding "dora-arrow", metadata:
//   dataflow       the dataflow's UUID          dataflow_name  its name ("" when it has none)
//   node, output   the node id and output id    machine        the machine the node ran on
// Messages: log_time = when the recorder received the message (ns since the Unix epoch),
// publish_time = the message's HLC timestamp (message::Metadata::timestamp.time_ns), sequence =
// 0, 1, ... per channel; data ("dora-arrow", version 1):
//   u32 LE n | n bytes: message::encode(metadata) | the Arrow data region
// i.e. the dora metadata exactly as it travels between nodes (its own first byte is the metadata
// codec's version; Arrow format, length, null count, buffer offsets, children, dictionary,
// parameters and the full HLC timestamp with its clock id), then the data region its buffer
// offsets point into (64-byte aligned offsets, relative to the region's start). A reader gets
// the message back bit for bit: RecordingReader checks the layout (message::check_layout) but
// changes nothing.
//
// RecordingWriter buffers writes (mcap::Writer: 1 MiB, no fsync); a writer killed half-way leaves
// a file RecordingReader reads up to the last complete record before reporting it truncated.
// By default every message is a record of its own (a crash loses only what was not flushed);
// WriterOptions::chunk_size puts them in uncompressed, indexed chunks (writer.hpp) for readers
// that seek by time, at the price of losing the open chunk in a crash.
// Memory: the writer's buffer plus one small entry per channel; the reader holds one message.
//
// Thread safety: a RecordingWriter or RecordingReader is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/error.hpp"
#include "mcap/reader.hpp"
#include "mcap/writer.hpp"
#include "message/metadata.hpp"

namespace dora::mcap {

inline constexpr std::string_view kRecordingProfile = "dora";
inline constexpr std::string_view kMessageEncoding = "dora-arrow";

struct DataflowInfo {
    std::string id;    // UUID
    std::string name;  // "" when the dataflow has no name
};

struct RecordedMessage {
    std::string node;
    std::string output;
    std::string machine;
    uint64_t log_time_ns = 0;
    message::Metadata metadata;
    std::vector<std::byte> data;  // the Arrow data region
};

// The "dora-arrow" message data for `metadata` and `data` (tests; the writer avoids this copy).
[[nodiscard]] std::vector<std::byte> encode_message_data(const message::Metadata& metadata,
                                                         std::span<const std::byte> data);
// Splits "dora-arrow" message data into metadata and data region, checking the metadata and the
// layout; errors say what is wrong (the caller adds where).
[[nodiscard]] Result<std::pair<message::Metadata, std::span<const std::byte>>> decode_message_data(
    std::span<const std::byte> bytes);

class RecordingWriter {
  public:
    [[nodiscard]] static Result<std::unique_ptr<RecordingWriter>> create(
        const std::filesystem::path& path, DataflowInfo dataflow, WriterOptions options = {});
    RecordingWriter(const RecordingWriter&) = delete;
    RecordingWriter& operator=(const RecordingWriter&) = delete;
    ~RecordingWriter();  // closes the file if close() was not called (errors are lost then)

    // Records one message of output `node`/`output` (which ran on `machine`), received at
    // `log_time_ns`. The first message of a (node, output, machine) adds its channel.
    [[nodiscard]] Result<> add(std::string_view node, std::string_view output,
                               std::string_view machine, const message::Metadata& metadata,
                               std::span<const std::byte> data, uint64_t log_time_ns);
    // The same with the metadata already encoded (message::encode), as it arrives in a sample;
    // it is checked (decoded) before it is written. A Zenoh sample of an output (daemon/egress)
    // is exactly this: attachment = encoded metadata, payload = data region (skip the one-byte
    // end-of-stream marker, which is not metadata: it is refused here).
    [[nodiscard]] Result<> add_encoded(std::string_view node, std::string_view output,
                                       std::string_view machine,
                                       std::span<const std::byte> encoded_metadata,
                                       std::span<const std::byte> data, uint64_t log_time_ns);
    [[nodiscard]] Result<> flush() { return writer_->flush(); }
    // Writes the summary and closes the file; a second call does nothing.
    [[nodiscard]] Result<> close() { return writer_->close(); }

    [[nodiscard]] uint64_t message_count() const { return writer_->message_count(); }
    [[nodiscard]] uint64_t bytes() const { return writer_->bytes(); }
    [[nodiscard]] const std::filesystem::path& path() const { return writer_->path(); }

  private:
    struct ChannelState {
        uint16_t id = 0;
        uint32_t sequence = 0;
    };
    RecordingWriter(std::unique_ptr<Writer> writer, DataflowInfo dataflow);
    [[nodiscard]] Result<ChannelState*> channel(std::string_view node, std::string_view output,
                                                std::string_view machine);
    [[nodiscard]] Result<> write(ChannelState& channel, std::span<const std::byte> metadata,
                                 uint64_t publish_time, std::span<const std::byte> data,
                                 uint64_t log_time_ns);

    std::unique_ptr<Writer> writer_;
    DataflowInfo dataflow_;
    std::map<std::tuple<std::string, std::string, std::string>, ChannelState, std::less<>>
        channels_;
    std::vector<std::byte> scratch_;
};

class RecordingReader {
  public:
    [[nodiscard]] static Result<std::unique_ptr<RecordingReader>> open(
        const std::filesystem::path& path);
    [[nodiscard]] static Result<std::unique_ptr<RecordingReader>> from_bytes(
        std::span<const std::byte> bytes, std::string name = "<memory>");

    // The next recorded message in file order; std::nullopt at the end of a complete file.
    // Errors (truncation, corruption, a channel that is not a dora channel) name the file and the
    // byte offset; after one, every call returns it.
    [[nodiscard]] Result<std::optional<RecordedMessage>> next();
    // From the first channel read (std::nullopt before one was).
    [[nodiscard]] const std::optional<DataflowInfo>& dataflow() const { return dataflow_; }
    [[nodiscard]] const Reader& mcap() const { return *reader_; }

  private:
    explicit RecordingReader(std::unique_ptr<Reader> reader);
    [[nodiscard]] Result<RecordedMessage> decode(const MessageView& view);

    std::unique_ptr<Reader> reader_;
    std::optional<DataflowInfo> dataflow_;
    std::optional<Error> failed_;
};

}  // namespace dora::mcap
