#include "mcap/writer.hpp"

#include <fcntl.h>

#include <limits>
#include <utility>

namespace dora::mcap {

Result<std::unique_ptr<Writer>> Writer::create(const std::filesystem::path& path,
                                               WriterOptions options) {
    sys::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) {
        return fail(sys::errno_error(fmt::format("cannot create the MCAP file {}", path.string())));
    }
    std::unique_ptr<Writer> writer(new Writer(path, std::move(fd), std::move(options)));
    std::vector<std::byte> start(std::begin(kMagic), std::end(kMagic));
    Builder b(start);
    const size_t at = b.begin_record(Opcode::kHeader);
    encode_header(b, Header{writer->options_.profile, writer->options_.library});
    b.end_record(at);
    if (auto ok = writer->append(start); !ok) {
        return fail(ok.error());
    }
    return writer;
}

Writer::Writer(std::filesystem::path path, sys::UniqueFd fd, WriterOptions options)
    : path_(std::move(path)), fd_(std::move(fd)), options_(std::move(options)) {
    buffer_.reserve(options_.buffer_size);
}

Writer::~Writer() { (void)close(); }

Result<> Writer::usable() const {
    if (broken_) {
        return fail(*broken_);
    }
    if (closed_) {
        return fail("the MCAP file {} is already closed", path_.string());
    }
    return {};
}

Result<uint16_t> Writer::add_schema(std::string name, std::string encoding,
                                    std::vector<std::byte> data) {
    if (auto ok = usable(); !ok) {
        return fail(ok.error());
    }
    if (schemas_.size() >= std::numeric_limits<uint16_t>::max() - 1) {
        return fail("{}: an MCAP file holds at most 65534 schemas", path_.string());
    }
    Schema schema{static_cast<uint16_t>(schemas_.size() + 1), std::move(name), std::move(encoding),
                  std::move(data)};
    scratch_.clear();
    Builder b(scratch_);
    const size_t at = b.begin_record(Opcode::kSchema);
    encode_schema(b, schema);
    b.end_record(at);
    if (auto ok = append(scratch_); !ok) {
        return fail(ok.error());
    }
    schemas_.push_back(std::move(schema));
    return schemas_.back().id;
}

Result<uint16_t> Writer::add_channel(uint16_t schema_id, std::string topic,
                                     std::string message_encoding,
                                     std::map<std::string, std::string> metadata) {
    if (auto ok = usable(); !ok) {
        return fail(ok.error());
    }
    if (schema_id > schemas_.size()) {
        return fail("{}: channel {} names schema {}, which was not added", path_.string(), topic,
                    schema_id);
    }
    if (channels_.size() > std::numeric_limits<uint16_t>::max()) {
        return fail("{}: an MCAP file holds at most 65536 channels", path_.string());
    }
    Channel channel{static_cast<uint16_t>(channels_.size()), schema_id, std::move(topic),
                    std::move(message_encoding), std::move(metadata)};
    scratch_.clear();
    Builder b(scratch_);
    const size_t at = b.begin_record(Opcode::kChannel);
    encode_channel(b, channel);
    b.end_record(at);
    if (auto ok = append(scratch_); !ok) {
        return fail(ok.error());
    }
    channels_.push_back(std::move(channel));
    return channels_.back().id;
}

Result<> Writer::add_message(uint16_t channel_id, uint32_t sequence, uint64_t log_time,
                             uint64_t publish_time,
                             std::span<const std::span<const std::byte>> parts) {
    if (auto ok = usable(); !ok) {
        return ok;
    }
    if (channel_id >= channels_.size()) {
        return fail("{}: a message on channel {}, which was not added", path_.string(), channel_id);
    }
    if (options_.chunk_size > 0) {
        chunk_.add_message(channel_id, sequence, log_time, publish_time, parts);
    } else {
        scratch_.clear();
        Builder b(scratch_);
        write_message_record(b, channel_id, sequence, log_time, publish_time, parts);
        if (auto ok = append(scratch_); !ok) {
            return ok;
        }
    }
    auto& s = statistics_;
    s.message_start_time =
        s.message_count == 0 ? log_time : std::min(s.message_start_time, log_time);
    s.message_end_time = std::max(s.message_end_time, log_time);
    ++s.message_count;
    ++s.channel_message_counts[channel_id];
    if (options_.chunk_size > 0 && chunk_.size() >= options_.chunk_size) {
        return finish_chunk();
    }
    return {};
}

Result<> Writer::finish_chunk() {
    if (chunk_.empty()) {
        return {};
    }
    scratch_.clear();
    chunk_indexes_.push_back(chunk_.finish(scratch_, bytes()));
    ++statistics_.chunk_count;
    return append(scratch_);
}

Result<> Writer::append(std::span<const std::byte> record) {
    data_crc_ = crc32(data_crc_, record);
    if (buffer_.size() + record.size() > options_.buffer_size) {
        if (auto ok = flush_buffer(); !ok) {
            return ok;
        }
    }
    if (record.size() > options_.buffer_size) {
        return write_out(record);
    }
    buffer_.insert(buffer_.end(), record.begin(), record.end());
    return {};
}

Result<> Writer::flush() {
    if (auto ok = usable(); !ok) {
        return ok;
    }
    if (auto ok = finish_chunk(); !ok) {
        return ok;
    }
    return flush_buffer();
}

Result<> Writer::flush_buffer() {
    if (broken_) {
        return fail(*broken_);
    }
    if (buffer_.empty()) {
        return {};
    }
    auto ok = write_out(buffer_);
    buffer_.clear();
    return ok;
}

Result<> Writer::write_out(std::span<const std::byte> bytes) {
    auto ok = sys::write_all(
        fd_.get(), std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
    if (!ok) {
        broken_ = ok.error().context(fmt::format("writing the MCAP file {}", path_.string()));
        return fail(*broken_);
    }
    written_ += bytes.size();
    return {};
}

std::vector<std::byte> Writer::summary_and_footer(uint64_t summary_start) const {
    std::vector<std::byte> out;
    Builder b(out);
    struct Group {
        Opcode opcode;
        uint64_t start;
        uint64_t length;
    };
    std::vector<Group> groups;
    auto group = [&](Opcode opcode, auto&& write_records) {
        const uint64_t start = out.size();
        write_records();
        if (out.size() > start) {
            groups.push_back(Group{opcode, summary_start + start, out.size() - start});
        }
    };
    group(Opcode::kSchema, [&] {
        for (const auto& schema : schemas_) {
            const size_t at = b.begin_record(Opcode::kSchema);
            encode_schema(b, schema);
            b.end_record(at);
        }
    });
    group(Opcode::kChannel, [&] {
        for (const auto& channel : channels_) {
            const size_t at = b.begin_record(Opcode::kChannel);
            encode_channel(b, channel);
            b.end_record(at);
        }
    });
    group(Opcode::kStatistics, [&] {
        Statistics s = statistics_;
        s.schema_count = static_cast<uint16_t>(schemas_.size());
        s.channel_count = static_cast<uint32_t>(channels_.size());
        const size_t at = b.begin_record(Opcode::kStatistics);
        encode_statistics(b, s);
        b.end_record(at);
    });
    group(Opcode::kChunkIndex, [&] {
        for (const auto& index : chunk_indexes_) {
            const size_t at = b.begin_record(Opcode::kChunkIndex);
            encode_chunk_index(b, index);
            b.end_record(at);
        }
    });
    const uint64_t summary_offset_start = summary_start + out.size();
    for (const auto& g : groups) {
        const size_t at = b.begin_record(Opcode::kSummaryOffset);
        b.u8(static_cast<uint8_t>(g.opcode));
        b.u64(g.start);
        b.u64(g.length);
        b.end_record(at);
    }
    // The length is written first: the CRC covers the summary and summary offset sections and
    // the Footer up to its last field.
    b.u8(static_cast<uint8_t>(Opcode::kFooter));
    b.u64(kFooterBodySize);
    b.u64(summary_start);
    b.u64(summary_offset_start);
    b.u32(crc32(0, out));
    b.bytes(kMagic);
    return out;
}

Result<> Writer::close() {
    if (closed_) {
        return {};
    }
    closed_ = true;
    if (broken_) {
        fd_.reset();
        return fail(*broken_);
    }
    if (auto ok = finish_chunk(); !ok) {
        fd_.reset();
        return ok;
    }
    std::vector<std::byte> end;
    Builder b(end);
    const size_t at = b.begin_record(Opcode::kDataEnd);
    b.u32(data_crc_);
    b.end_record(at);
    auto tail = summary_and_footer(bytes() + end.size());
    end.insert(end.end(), tail.begin(), tail.end());
    auto ok = flush_buffer();
    if (ok) {
        ok = write_out(end);
    }
    if (::close(fd_.release()) != 0 && ok) {
        ok = fail(sys::errno_error(fmt::format("closing the MCAP file {}", path_.string())));
    }
    return ok;
}

}  // namespace dora::mcap
