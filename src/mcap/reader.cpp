#include "mcap/reader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/sys.hpp"

namespace dora::mcap {
namespace {

constexpr uint64_t kPiece = 64 * 1024;  // skipped records and CRC checks are read in pieces

class FileSource final : public Source {
  public:
    FileSource(sys::UniqueFd fd, uint64_t size) : fd_(std::move(fd)), size_(size) {}
    uint64_t size() const override { return size_; }
    Result<> read(uint64_t offset, std::span<std::byte> out) override {
        while (!out.empty()) {
            const ssize_t n =
                ::pread(fd_.get(), out.data(), out.size(), static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n < 0) {
                return fail(sys::errno_error(fmt::format("reading at byte {}", offset)));
            }
            if (n == 0) {
                return fail("the file shrank while it was read (nothing at byte {})", offset);
            }
            out = out.subspan(static_cast<size_t>(n));
            offset += static_cast<uint64_t>(n);
        }
        return {};
    }

  private:
    sys::UniqueFd fd_;
    uint64_t size_;
};

class MemorySource final : public Source {
  public:
    explicit MemorySource(std::span<const std::byte> bytes) : bytes_(bytes) {}
    uint64_t size() const override { return bytes_.size(); }
    Result<> read(uint64_t offset, std::span<std::byte> out) override {
        if (!out.empty()) {  // memcpy of nothing may still not take null pointers
            std::memcpy(out.data(), bytes_.data() + offset, out.size());
        }
        return {};
    }

  private:
    std::span<const std::byte> bytes_;
};

uint64_t le(std::span<const std::byte> b, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
        v |= static_cast<uint64_t>(b[i]) << (8 * i);
    }
    return v;
}

std::string hex_bytes(std::span<const std::byte> b) {
    std::string out;
    for (auto c : b) {
        out += fmt::format("{}{:02x}", out.empty() ? "" : " ", static_cast<unsigned>(c));
    }
    return out;
}

}  // namespace

namespace detail {

// Reads the fields of one record body. The first field that does not fit sets the error (every
// later read returns zeros), so that a parser reads all fields and checks once.
class Cursor {
  public:
    Cursor(std::span<const std::byte> body, uint64_t base, std::string record)
        : body_(body), base_(base), record_(std::move(record)) {}

    uint64_t uint(size_t n, const char* field) {
        if (!need(n, field)) {
            return 0;
        }
        const uint64_t v = le(body_.subspan(pos_), n);
        pos_ += n;
        return v;
    }
    uint8_t u8(const char* f) { return static_cast<uint8_t>(uint(1, f)); }
    uint16_t u16(const char* f) { return static_cast<uint16_t>(uint(2, f)); }
    uint32_t u32(const char* f) { return static_cast<uint32_t>(uint(4, f)); }
    uint64_t u64(const char* f) { return uint(8, f); }
    std::span<const std::byte> take(uint64_t n, const char* field) {
        if (!need(n, field)) {
            return {};
        }
        auto out = body_.subspan(pos_, static_cast<size_t>(n));
        pos_ += static_cast<size_t>(n);
        return out;
    }
    std::string string(const char* field) {
        auto b = take(u32(field), field);
        return std::string(reinterpret_cast<const char*>(b.data()), b.size());
    }
    std::map<std::string, std::string> string_map(const char* field) {
        std::map<std::string, std::string> out;
        auto bytes = take(u32(field), field);
        Cursor inner(bytes, base_ + pos_ - bytes.size(), record_);
        while (inner.ok() && inner.pos_ < bytes.size()) {
            std::string key = inner.string(field);
            out[key] = inner.string(field);
        }
        if (!inner.ok() && !error_) {
            error_ = inner.error_;
        }
        return out;
    }
    std::span<const std::byte> rest() {
        auto out = body_.subspan(pos_);
        pos_ = body_.size();
        return out;
    }
    [[nodiscard]] size_t position() const { return pos_; }
    [[nodiscard]] bool ok() const { return !error_; }
    [[nodiscard]] const std::string& error() const { return *error_; }

  private:
    bool need(uint64_t n, const char* field) {
        if (error_) {
            return false;
        }
        if (n > body_.size() - pos_) {
            error_ = fmt::format(
                "the {} record's {} at byte {} needs {} bytes, but the record has {} left: the "
                "record is corrupt",
                record_, field, base_ + pos_, n, body_.size() - pos_);
            return false;
        }
        return true;
    }

    std::span<const std::byte> body_;
    uint64_t base_;
    std::string record_;
    size_t pos_ = 0;
    std::optional<std::string> error_;
};

std::string describe(uint8_t opcode, uint64_t at) {
    return fmt::format("{} at byte {}", opcode_name(opcode), at);
}

Schema parse_schema(Cursor& c) {
    Schema s;
    s.id = c.u16("id");
    s.name = c.string("name");
    s.encoding = c.string("encoding");
    auto data = c.take(c.u32("data length"), "data");
    s.data.assign(data.begin(), data.end());
    return s;
}

Channel parse_channel(Cursor& c) {
    Channel ch;
    ch.id = c.u16("id");
    ch.schema_id = c.u16("schema_id");
    ch.topic = c.string("topic");
    ch.message_encoding = c.string("message_encoding");
    ch.metadata = c.string_map("metadata");
    return ch;
}

Statistics parse_statistics(Cursor& c) {
    Statistics s;
    s.message_count = c.u64("message_count");
    s.schema_count = c.u16("schema_count");
    s.channel_count = c.u32("channel_count");
    s.attachment_count = c.u32("attachment_count");
    s.metadata_count = c.u32("metadata_count");
    s.chunk_count = c.u32("chunk_count");
    s.message_start_time = c.u64("message_start_time");
    s.message_end_time = c.u64("message_end_time");
    const uint32_t length = c.u32("channel_message_counts length");
    const uint64_t end = c.position() + length;
    while (c.ok() && c.position() < end) {
        const uint16_t channel = c.u16("channel_message_counts");
        s.channel_message_counts[channel] = c.u64("channel_message_counts");
    }
    return s;
}

}  // namespace detail

using detail::Cursor;
using detail::describe;
using detail::parse_channel;
using detail::parse_schema;
using detail::parse_statistics;

struct Reader::Chunk {
    uint64_t at = 0;    // the Chunk record
    uint64_t base = 0;  // the file offset of its first inner record
    std::vector<std::byte> storage;
    std::span<const std::byte> records;
    size_t pos = 0;
};

Reader::Reader(std::unique_ptr<Source> source, std::string name)
    : source_(std::move(source)), name_(std::move(name)), size_(source_->size()) {}

Reader::~Reader() = default;

Result<std::unique_ptr<Reader>> Reader::open(const std::filesystem::path& path) {
    sys::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) {
        return fail(sys::errno_error(fmt::format("cannot open {}", path.string())));
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return fail(sys::errno_error(fmt::format("cannot read {}", path.string())));
    }
    if (!S_ISREG(st.st_mode)) {
        return fail("{} is not a regular file: give an MCAP file", path.string());
    }
    auto source = std::make_unique<FileSource>(std::move(fd), static_cast<uint64_t>(st.st_size));
    std::unique_ptr<Reader> reader(new Reader(std::move(source), path.string()));
    if (auto ok = reader->start(); !ok) {
        return fail(ok.error());
    }
    return reader;
}

Result<std::unique_ptr<Reader>> Reader::from_bytes(std::span<const std::byte> bytes,
                                                   std::string name) {
    std::unique_ptr<Reader> reader(
        new Reader(std::make_unique<MemorySource>(bytes), std::move(name)));
    if (auto ok = reader->start(); !ok) {
        return fail(ok.error());
    }
    return reader;
}

Error Reader::error(std::string_view what) const { return Error::make("{}: {}", name_, what); }

Result<> Reader::start() {
    std::byte magic[kMagicSize];
    const size_t have = static_cast<size_t>(std::min<uint64_t>(size_, kMagicSize));
    if (auto ok = source_->read(0, std::span(magic, have)); !ok) {
        return fail(error(ok.error().message()));
    }
    const std::span<const std::byte> got(magic, have);
    const bool mcap_prefix = have >= 5 && std::equal(got.begin(), got.begin() + 5, kMagic);
    if (mcap_prefix && have == kMagicSize && got[5] != kMagic[5]) {
        return fail(error(fmt::format(
            "an MCAP file of major version '{}' (byte 5); this reader reads version '0'",
            static_cast<char>(got[5]))));
    }
    if (have < kMagicSize || !std::equal(got.begin(), got.end(), kMagic)) {
        return fail(error(fmt::format(
            "not an MCAP file (magic): its first {} bytes are [{}], an MCAP file starts with "
            "[{}]{}",
            have, hex_bytes(got), hex_bytes(kMagic),
            have < kMagicSize ? fmt::format(" (the file has only {} bytes)", size_) : "")));
    }
    crc_ = crc32(0, got);
    position_ = kMagicSize;
    auto first = step();
    if (!first) {
        return fail(first.error());
    }
    if (last_opcode_ != static_cast<uint8_t>(Opcode::kHeader)) {
        return fail(error(fmt::format("the first record (byte 8) is a {} record, not the Header",
                                      opcode_name(last_opcode_))));
    }
    return {};
}

Result<std::optional<MessageView>> Reader::next() {
    if (failed_) {
        return fail(*failed_);
    }
    for (;;) {
        auto r = chunk_ ? step_in_chunk() : step();
        if (!r) {
            failed_ = r.error();
            return r;
        }
        if (r->has_value() || finished_) {
            return r;
        }
    }
}

Result<> Reader::read_body(uint8_t opcode, uint64_t length, bool keep) {
    const uint64_t at = position_ + kRecordPrefixSize;
    const bool crc = !data_ended_ && opcode != static_cast<uint8_t>(Opcode::kDataEnd);
    body_.clear();
    if (keep) {
        body_.resize(static_cast<size_t>(length));
        if (auto ok = source_->read(at, body_); !ok) {
            return fail(error(ok.error().message()));
        }
        if (crc) {
            crc_ = crc32(crc_, body_);
        }
        return {};
    }
    if (!crc) {
        return {};
    }
    std::vector<std::byte> piece(static_cast<size_t>(std::min(length, kPiece)));
    for (uint64_t done = 0; done < length;) {
        const auto n = static_cast<size_t>(std::min<uint64_t>(piece.size(), length - done));
        if (auto ok = source_->read(at + done, std::span(piece.data(), n)); !ok) {
            return fail(error(ok.error().message()));
        }
        crc_ = crc32(crc_, std::span(piece.data(), n));
        done += n;
    }
    return {};
}

Result<std::optional<MessageView>> Reader::step() {
    if (finished_) {
        return std::nullopt;
    }
    const uint64_t at = position_;
    if (size_ - at < kRecordPrefixSize) {
        if (size_ == at) {
            return fail(error(fmt::format(
                "truncated at byte {}: the file ends after the {} record at byte {}, without a "
                "Footer (the writer did not finish the file)",
                at, opcode_name(last_opcode_), last_at_)));
        }
        return fail(error(fmt::format(
            "truncated at byte {} inside the opcode and length of the record at byte {}", size_,
            at)));
    }
    std::byte prefix[kRecordPrefixSize];
    if (auto ok = source_->read(at, prefix); !ok) {
        return fail(error(ok.error().message()));
    }
    const auto opcode = static_cast<uint8_t>(prefix[0]);
    const uint64_t length = le(std::span(prefix).subspan(1), 8);
    const uint64_t left = size_ - at - kRecordPrefixSize;
    if (length > left) {
        return fail(error(fmt::format(
            "truncated at byte {} inside a {} record that starts at byte {} (its length says {} "
            "bytes, the file has {} after its opcode and length)",
            size_, opcode_name(opcode), at, length, left)));
    }
    if (opcode == static_cast<uint8_t>(Opcode::kChunk) && length > kMaxChunkSize) {
        return fail(
            error(fmt::format("the Chunk at byte {} has {} bytes, more than the {} this "
                              "reader loads at once",
                              at, length, kMaxChunkSize)));
    }
    if (!data_ended_) {
        crc_ = opcode == static_cast<uint8_t>(Opcode::kDataEnd) ? crc_ : crc32(crc_, prefix);
    }
    bool keep = false;
    switch (static_cast<Opcode>(opcode)) {
        case Opcode::kHeader:
        case Opcode::kFooter:
        case Opcode::kSchema:
        case Opcode::kChannel:
        case Opcode::kMessage:
        case Opcode::kChunk:
        case Opcode::kStatistics:
        case Opcode::kDataEnd:
            keep = true;
            break;
        default:
            break;
    }
    if (auto ok = read_body(opcode, length, keep); !ok) {
        return fail(ok.error());
    }
    position_ = at + kRecordPrefixSize + length;
    last_opcode_ = opcode;
    last_at_ = at;
    if (!keep) {
        return std::nullopt;
    }
    return handle(opcode, at, body_, false);
}

Result<std::optional<MessageView>> Reader::step_in_chunk() {
    auto& c = *chunk_;
    if (c.pos == c.records.size()) {
        chunk_.reset();
        return std::nullopt;
    }
    const uint64_t at = c.base + c.pos;
    const size_t left = c.records.size() - c.pos;
    if (left < kRecordPrefixSize) {
        return fail(error(fmt::format(
            "the Chunk at byte {} ends inside the opcode and length of its record at byte {}", c.at,
            at)));
    }
    const auto opcode = static_cast<uint8_t>(c.records[c.pos]);
    const uint64_t length = le(c.records.subspan(c.pos + 1), 8);
    if (length > left - kRecordPrefixSize) {
        return fail(error(fmt::format(
            "the Chunk at byte {} ends inside its {} record at byte {} (its length says {} bytes, "
            "the chunk has {} after its opcode and length)",
            c.at, opcode_name(opcode), at, length, left - kRecordPrefixSize)));
    }
    auto body = c.records.subspan(c.pos + kRecordPrefixSize, static_cast<size_t>(length));
    c.pos += kRecordPrefixSize + static_cast<size_t>(length);
    return handle(opcode, at, body, true);
}

Result<std::optional<MessageView>> Reader::handle(uint8_t opcode, uint64_t at,
                                                  std::span<const std::byte> body, bool in_chunk) {
    const std::string what = describe(opcode, at);
    Cursor c(body, at + kRecordPrefixSize, what);
    Result<> done;
    switch (static_cast<Opcode>(opcode)) {
        case Opcode::kSchema:
            done = add_schema(parse_schema(c), at, c);
            break;
        case Opcode::kChannel:
            done = add_channel(parse_channel(c), at, c);
            break;
        case Opcode::kMessage:
            return message(c, at, in_chunk);
        case Opcode::kHeader:
        case Opcode::kFooter:
        case Opcode::kChunk:
        case Opcode::kDataEnd:
            if (in_chunk) {
                return fail(
                    error(fmt::format("a {} at byte {} inside the Chunk at byte {}: a "
                                      "chunk holds Schema, Channel and Message records",
                                      what, at, chunk_->at)));
            }
            done = handle_structure(opcode, at, body, c);
            break;
        case Opcode::kStatistics:
            if (!in_chunk) {
                Statistics s = parse_statistics(c);
                statistics_ = std::move(s);
            }
            break;
        default:
            break;  // not needed to read messages (or unknown): skipped
    }
    if (!c.ok()) {
        return fail(error(c.error()));
    }
    if (!done) {
        return fail(done.error());
    }
    return std::nullopt;
}

Result<std::optional<MessageView>> Reader::message(Cursor& c, uint64_t at, bool in_chunk) {
    MessageView m;
    const uint16_t channel = c.u16("channel_id");
    m.sequence = c.u32("sequence");
    m.log_time = c.u64("log_time");
    m.publish_time = c.u64("publish_time");
    m.data = c.rest();
    m.offset = in_chunk ? chunk_->at : at;
    if (!c.ok()) {
        return fail(error(c.error()));
    }
    if (data_ended_) {
        return fail(
            error(fmt::format("a Message record at byte {} after the Data End record: "
                              "the summary holds no messages",
                              at)));
    }
    auto found = channels_.find(channel);
    if (found == channels_.end()) {
        return fail(
            error(fmt::format("the Message record at byte {} names channel {}, which no "
                              "Channel record declared before it",
                              at, channel)));
    }
    m.channel = &found->second;
    return m;
}

// Header, Chunk, Data End and Footer: the records that give the file its structure.
Result<> Reader::handle_structure(uint8_t opcode, uint64_t at, std::span<const std::byte> body,
                                  Cursor& c) {
    switch (static_cast<Opcode>(opcode)) {
        case Opcode::kHeader:
            if (at != kMagicSize) {
                return fail(error(fmt::format("a second Header record at byte {}", at)));
            }
            header_.profile = c.string("profile");
            header_.library = c.string("library");
            return {};
        case Opcode::kChunk:
            return enter_chunk(at, body);
        case Opcode::kDataEnd: {
            const uint32_t expected = c.u32("data_section_crc");
            if (c.ok() && expected != 0 && expected != crc_) {
                return fail(error(fmt::format(
                    "the data section's CRC does not match: the Data End record at byte {} says "
                    "0x{:08x}, the bytes before it give 0x{:08x}: the file is corrupt",
                    at, expected, crc_)));
            }
            data_ended_ = true;
            return {};
        }
        case Opcode::kFooter:
            return finish(at, body);
        default:
            return {};
    }
}

Result<> Reader::enter_chunk(uint64_t at, std::span<const std::byte> body) {
    Cursor c(body, at + kRecordPrefixSize, describe(static_cast<uint8_t>(Opcode::kChunk), at));
    c.u64("message_start_time");
    c.u64("message_end_time");
    const uint64_t uncompressed_size = c.u64("uncompressed_size");
    const uint32_t uncompressed_crc = c.u32("uncompressed_crc");
    const std::string compression = c.string("compression");
    const uint64_t records_length = c.u64("records length");
    if (!c.ok()) {
        return fail(error(c.error()));
    }
    if (!compression.empty()) {
        return fail(error(fmt::format(
            "the Chunk at byte {} is compressed with {}; this reader reads uncompressed chunks "
            "only: rewrite the file without compression (e.g. `mcap decompress`)",
            at, compression)));
    }
    auto records = c.take(records_length, "records");
    if (!c.ok()) {
        return fail(error(c.error()));
    }
    if (uncompressed_size != records.size()) {
        return fail(error(fmt::format(
            "the Chunk at byte {} says it holds {} bytes uncompressed, but its records have {}", at,
            uncompressed_size, records.size())));
    }
    if (uncompressed_crc != 0 && crc32(0, records) != uncompressed_crc) {
        return fail(
            error(fmt::format("the Chunk at byte {}: its CRC 0x{:08x} does not match its "
                              "records (0x{:08x}): the file is corrupt",
                              at, uncompressed_crc, crc32(0, records))));
    }
    auto chunk = std::make_unique<Chunk>();
    chunk->at = at;
    chunk->base = at + kRecordPrefixSize + static_cast<uint64_t>(records.data() - body.data());
    const auto offset = static_cast<size_t>(records.data() - body_.data());
    chunk->storage = std::move(body_);
    chunk->records = std::span<const std::byte>(chunk->storage).subspan(offset, records.size());
    body_.clear();
    chunk_ = std::move(chunk);
    return {};
}

Result<> Reader::finish(uint64_t at, std::span<const std::byte> body) {
    Cursor c(body, at + kRecordPrefixSize, describe(static_cast<uint8_t>(Opcode::kFooter), at));
    const uint64_t summary_start = c.u64("summary_start");
    c.u64("summary_offset_start");
    const uint32_t summary_crc = c.u32("summary_crc");
    if (!c.ok()) {
        return fail(error(c.error()));
    }
    if (size_ - position_ < kMagicSize) {
        return fail(
            error(fmt::format("truncated at byte {}: the magic after the Footer at byte "
                              "{} is missing",
                              size_, at)));
    }
    std::byte magic[kMagicSize];
    if (auto ok = source_->read(position_, magic); !ok) {
        return fail(error(ok.error().message()));
    }
    if (!std::equal(std::begin(magic), std::end(magic), kMagic)) {
        return fail(
            error(fmt::format("the bytes after the Footer at byte {} are [{}], not the "
                              "MCAP magic: the file is corrupt",
                              at, hex_bytes(magic))));
    }
    if (position_ + kMagicSize != size_) {
        return fail(error(fmt::format("{} bytes follow the closing magic at byte {}",
                                      size_ - position_ - kMagicSize, position_)));
    }
    if (summary_crc != 0 && summary_start != 0) {
        // From the summary's start through the Footer's summary_offset_start field.
        const uint64_t end = at + kRecordPrefixSize + 16;
        if (summary_start > at) {
            return fail(
                error(fmt::format("the Footer at byte {} says the summary starts at byte "
                                  "{}, after the Footer",
                                  at, summary_start)));
        }
        uint32_t crc = 0;
        std::vector<std::byte> piece(static_cast<size_t>(std::min(end - summary_start, kPiece)));
        for (uint64_t off = summary_start; off < end;) {
            const auto n = static_cast<size_t>(std::min<uint64_t>(piece.size(), end - off));
            if (auto ok = source_->read(off, std::span(piece.data(), n)); !ok) {
                return fail(error(ok.error().message()));
            }
            crc = crc32(crc, std::span(piece.data(), n));
            off += n;
        }
        if (crc != summary_crc) {
            return fail(
                error(fmt::format("the summary's CRC does not match: the Footer at byte {} "
                                  "says 0x{:08x}, the bytes give 0x{:08x}: the file is "
                                  "corrupt",
                                  at, summary_crc, crc)));
        }
    }
    position_ += kMagicSize;
    finished_ = true;
    return {};
}

Result<> Reader::add_schema(Schema schema, uint64_t at, const Cursor& parsed) {
    if (!parsed.ok()) {
        return {};  // handle() reports the parse error
    }
    if (schema.id == 0) {
        return fail(
            error(fmt::format("the Schema record at byte {} has id 0, which the spec "
                              "reserves for 'no schema'",
                              at)));
    }
    auto [it, added] = schemas_.try_emplace(schema.id, schema);
    if (!added && !(it->second == schema)) {
        return fail(
            error(fmt::format("the Schema record at byte {} redefines schema {} "
                              "differently",
                              at, schema.id)));
    }
    return {};
}

Result<> Reader::add_channel(Channel channel, uint64_t at, const Cursor& parsed) {
    if (!parsed.ok()) {
        return {};  // handle() reports the parse error
    }
    if (channel.schema_id != 0 && !schemas_.contains(channel.schema_id)) {
        return fail(
            error(fmt::format("the Channel record at byte {} ({}) names schema {}, which "
                              "no Schema record declared before it",
                              at, channel.topic, channel.schema_id)));
    }
    auto [it, added] = channels_.try_emplace(channel.id, channel);
    if (!added && !(it->second == channel)) {
        return fail(
            error(fmt::format("the Channel record at byte {} redefines channel {} ({}) "
                              "differently",
                              at, channel.id, channel.topic)));
    }
    return {};
}

}  // namespace dora::mcap
