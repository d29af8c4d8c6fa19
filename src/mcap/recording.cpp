#include "mcap/recording.hpp"

#include <cstring>
#include <utility>

namespace dora::mcap {
namespace {

std::array<std::byte, 4> u32_le(uint32_t v) {
    return {static_cast<std::byte>(v & 0xff), static_cast<std::byte>((v >> 8) & 0xff),
            static_cast<std::byte>((v >> 16) & 0xff), static_cast<std::byte>((v >> 24) & 0xff)};
}

const std::string* find(const std::map<std::string, std::string>& map, const char* key) {
    auto it = map.find(key);
    return it == map.end() ? nullptr : &it->second;
}

}  // namespace

std::vector<std::byte> encode_message_data(const message::Metadata& metadata,
                                           std::span<const std::byte> data) {
    const size_t n = message::encoded_size(metadata);
    std::vector<std::byte> out(4 + n + data.size());
    const auto length = u32_le(static_cast<uint32_t>(n));
    std::memcpy(out.data(), length.data(), length.size());
    message::encode(metadata, std::span(out).subspan(4, n));
    if (!data.empty()) {
        std::memcpy(out.data() + 4 + n, data.data(), data.size());
    }
    return out;
}

Result<std::pair<message::Metadata, std::span<const std::byte>>> decode_message_data(
    std::span<const std::byte> bytes) {
    if (bytes.size() < 4) {
        return fail("its data has {} bytes, fewer than the 4 of the metadata length", bytes.size());
    }
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) {
        n |= static_cast<uint32_t>(bytes[static_cast<size_t>(i)]) << (8 * i);
    }
    if (n > bytes.size() - 4) {
        return fail("its metadata length says {} bytes, but only {} follow", n, bytes.size() - 4);
    }
    auto metadata = message::decode(bytes.subspan(4, n));
    if (!metadata) {
        return fail(metadata.error().context("its dora metadata"));
    }
    auto region = bytes.subspan(4 + static_cast<size_t>(n));
    if (auto ok = message::check_layout(metadata->type_info, region.size()); !ok) {
        return fail(ok.error().context("its Arrow layout"));
    }
    return std::pair{std::move(*metadata), region};
}

Result<std::unique_ptr<RecordingWriter>> RecordingWriter::create(const std::filesystem::path& path,
                                                                 DataflowInfo dataflow,
                                                                 WriterOptions options) {
    options.profile = std::string(kRecordingProfile);
    auto writer = Writer::create(path, std::move(options));
    if (!writer) {
        return fail(writer.error());
    }
    return std::unique_ptr<RecordingWriter>(
        new RecordingWriter(std::move(*writer), std::move(dataflow)));
}

RecordingWriter::RecordingWriter(std::unique_ptr<Writer> writer, DataflowInfo dataflow)
    : writer_(std::move(writer)), dataflow_(std::move(dataflow)) {}

RecordingWriter::~RecordingWriter() = default;  // the Writer closes itself

Result<RecordingWriter::ChannelState*> RecordingWriter::channel(std::string_view node,
                                                                std::string_view output,
                                                                std::string_view machine) {
    auto key = std::tuple{std::string(node), std::string(output), std::string(machine)};
    if (auto it = channels_.find(key); it != channels_.end()) {
        return &it->second;
    }
    std::map<std::string, std::string> metadata{{"dataflow", dataflow_.id},
                                                {"dataflow_name", dataflow_.name},
                                                {"node", std::string(node)},
                                                {"output", std::string(output)},
                                                {"machine", std::string(machine)}};
    auto id = writer_->add_channel(0, fmt::format("{}/{}", node, output),
                                   std::string(kMessageEncoding), std::move(metadata));
    if (!id) {
        return fail(id.error());
    }
    return &channels_.emplace(std::move(key), ChannelState{*id, 0}).first->second;
}

Result<> RecordingWriter::write(ChannelState& channel, std::span<const std::byte> metadata,
                                uint64_t publish_time, std::span<const std::byte> data,
                                uint64_t log_time_ns) {
    const auto length = u32_le(static_cast<uint32_t>(metadata.size()));
    const std::span<const std::byte> parts[] = {length, metadata, data};
    auto ok = writer_->add_message(channel.id, channel.sequence, log_time_ns, publish_time, parts);
    if (ok) {
        ++channel.sequence;
    }
    return ok;
}

Result<> RecordingWriter::add(std::string_view node, std::string_view output,
                              std::string_view machine, const message::Metadata& metadata,
                              std::span<const std::byte> data, uint64_t log_time_ns) {
    auto ch = channel(node, output, machine);
    if (!ch) {
        return fail(ch.error());
    }
    scratch_.resize(message::encoded_size(metadata));
    message::encode(metadata, scratch_);
    return write(**ch, scratch_, metadata.timestamp.time_ns, data, log_time_ns);
}

Result<> RecordingWriter::add_encoded(std::string_view node, std::string_view output,
                                      std::string_view machine,
                                      std::span<const std::byte> encoded_metadata,
                                      std::span<const std::byte> data, uint64_t log_time_ns) {
    auto metadata = message::decode(encoded_metadata);
    if (!metadata) {
        return fail(metadata.error().context(
            fmt::format("recording a message of {}/{}: its metadata", node, output)));
    }
    auto ch = channel(node, output, machine);
    if (!ch) {
        return fail(ch.error());
    }
    return write(**ch, encoded_metadata, metadata->timestamp.time_ns, data, log_time_ns);
}

RecordingReader::RecordingReader(std::unique_ptr<Reader> reader) : reader_(std::move(reader)) {}

Result<std::unique_ptr<RecordingReader>> RecordingReader::open(const std::filesystem::path& path) {
    auto reader = Reader::open(path);
    if (!reader) {
        return fail(reader.error());
    }
    return std::unique_ptr<RecordingReader>(new RecordingReader(std::move(*reader)));
}

Result<std::unique_ptr<RecordingReader>> RecordingReader::from_bytes(
    std::span<const std::byte> bytes, std::string name) {
    auto reader = Reader::from_bytes(bytes, std::move(name));
    if (!reader) {
        return fail(reader.error());
    }
    return std::unique_ptr<RecordingReader>(new RecordingReader(std::move(*reader)));
}

Result<std::optional<RecordedMessage>> RecordingReader::next() {
    if (failed_) {
        return fail(*failed_);
    }
    auto view = reader_->next();
    if (!view) {
        failed_ = view.error();
        return fail(view.error());
    }
    if (!*view) {
        return std::nullopt;
    }
    auto message = decode(**view);
    if (!message) {
        failed_ = message.error();
        return fail(message.error());
    }
    return std::move(*message);
}

Result<RecordedMessage> RecordingReader::decode(const MessageView& view) {
    const Channel& ch = *view.channel;
    auto where = [&] {
        return fmt::format("{}: the Message at byte {} (channel {}, topic {})", reader_->name(),
                           view.offset, ch.id, ch.topic);
    };
    if (ch.message_encoding != kMessageEncoding) {
        return fail(
            "{}: its message encoding is '{}', not '{}': this is not a dora recording "
            "(dora record writes one)",
            where(), ch.message_encoding, kMessageEncoding);
    }
    const std::string* node = find(ch.metadata, "node");
    const std::string* output = find(ch.metadata, "output");
    if (node == nullptr || output == nullptr) {
        return fail("{}: its channel has no '{}' in its metadata: this is not a dora recording",
                    where(), node == nullptr ? "node" : "output");
    }
    auto decoded = decode_message_data(view.data);
    if (!decoded) {
        return fail(decoded.error().context(where()));
    }
    if (!dataflow_) {
        const std::string* id = find(ch.metadata, "dataflow");
        const std::string* name = find(ch.metadata, "dataflow_name");
        dataflow_ = DataflowInfo{id ? *id : "", name ? *name : ""};
    }
    RecordedMessage m;
    m.node = *node;
    m.output = *output;
    const std::string* machine = find(ch.metadata, "machine");
    m.machine = machine ? *machine : "";
    m.log_time_ns = view.log_time;
    m.metadata = std::move(decoded->first);
    m.data.assign(decoded->second.begin(), decoded->second.end());
    return m;
}

}  // namespace dora::mcap
