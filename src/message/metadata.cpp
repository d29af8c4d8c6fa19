#include "message/metadata.hpp"

#include <bit>
#include <cassert>
#include <cstring>
#include <string_view>

#include "message/arrow_format.hpp"

namespace dora::message {

static_assert(std::endian::native == std::endian::little,
              "the metadata codec copies doubles as little-endian bytes");

ArrowTypeInfo::ArrowTypeInfo(const ArrowTypeInfo& other)
    : format(other.format),
      name(other.name),
      flags(other.flags),
      length(other.length),
      null_count(other.null_count),
      offset(other.offset),
      buffers(other.buffers),
      children(other.children),
      dictionary(other.dictionary ? std::make_unique<ArrowTypeInfo>(*other.dictionary) : nullptr) {}

ArrowTypeInfo& ArrowTypeInfo::operator=(const ArrowTypeInfo& other) {
    if (this != &other) {
        ArrowTypeInfo copy(other);
        *this = std::move(copy);
    }
    return *this;
}

bool operator==(const ArrowTypeInfo& a, const ArrowTypeInfo& b) {
    const bool same_dictionary =
        (a.dictionary == nullptr && b.dictionary == nullptr) ||
        (a.dictionary != nullptr && b.dictionary != nullptr && *a.dictionary == *b.dictionary);
    return a.format == b.format && a.name == b.name && a.flags == b.flags && a.length == b.length &&
           a.null_count == b.null_count && a.offset == b.offset && a.buffers == b.buffers &&
           a.children == b.children && same_dictionary;
}

namespace {

// Smallest encodings, used to refuse counts the remaining bytes cannot hold before allocating.
constexpr size_t kMinTypeInfoBytes = 9;  // 2 empty strings, 4 varints, 2 counts, dictionary flag
constexpr size_t kMinBufferBytes = 2;
constexpr size_t kMinParameterBytes = 3;  // empty key, kind, 1-byte value
constexpr size_t kIdBytes = std::tuple_size_v<HlcId>;

uint64_t zigzag(int64_t value) {
    return (static_cast<uint64_t>(value) << 1) ^ static_cast<uint64_t>(value >> 63);
}

int64_t unzigzag(uint64_t value) {
    return static_cast<int64_t>(value >> 1) ^ -static_cast<int64_t>(value & 1);
}

size_t varint_size(uint64_t value) {
    return static_cast<size_t>((std::bit_width(value | 1) + 6) / 7);
}

size_t string_size(std::string_view text) { return varint_size(text.size()) + text.size(); }

// ---- encoding ------------------------------------------------------------------------------

size_t type_info_size(const ArrowTypeInfo& info) {
    size_t size = string_size(info.format) + string_size(info.name) +
                  varint_size(zigzag(info.flags)) + varint_size(zigzag(info.length)) +
                  varint_size(zigzag(info.null_count)) + varint_size(zigzag(info.offset)) +
                  varint_size(info.buffers.size()) + varint_size(info.children.size()) + 1;
    for (const BufferRef& buffer : info.buffers) {
        size += varint_size(buffer.is_null() ? 0 : buffer.offset + 1) + varint_size(buffer.length);
    }
    for (const ArrowTypeInfo& child : info.children) {
        size += type_info_size(child);
    }
    if (info.dictionary) {
        size += type_info_size(*info.dictionary);
    }
    return size;
}

size_t parameter_size(const Parameter& parameter) {
    struct Sizer {
        size_t operator()(bool) const { return 1; }
        size_t operator()(int64_t value) const { return varint_size(zigzag(value)); }
        size_t operator()(double) const { return 8; }
        size_t operator()(const std::string& value) const { return string_size(value); }
        size_t operator()(const std::vector<bool>& values) const {
            return varint_size(values.size()) + values.size();
        }
        size_t operator()(const std::vector<int64_t>& values) const {
            size_t size = varint_size(values.size());
            for (int64_t value : values) {
                size += varint_size(zigzag(value));
            }
            return size;
        }
        size_t operator()(const std::vector<double>& values) const {
            return varint_size(values.size()) + 8 * values.size();
        }
        size_t operator()(const std::vector<std::string>& values) const {
            size_t size = varint_size(values.size());
            for (const std::string& value : values) {
                size += string_size(value);
            }
            return size;
        }
    };
    return 1 + std::visit(Sizer{}, parameter);
}

class Writer {
  public:
    explicit Writer(std::byte* pos) : pos_(pos) {}

    void u8(uint8_t value) { *pos_++ = static_cast<std::byte>(value); }
    void varint(uint64_t value) {
        while (value >= 0x80) {
            *pos_++ = static_cast<std::byte>(value | 0x80);
            value >>= 7;
        }
        *pos_++ = static_cast<std::byte>(value);
    }
    void svarint(int64_t value) { varint(zigzag(value)); }
    void raw(const void* data, size_t size) {
        if (size != 0) {
            std::memcpy(pos_, data, size);
            pos_ += size;
        }
    }
    void string(std::string_view text) {
        varint(text.size());
        raw(text.data(), text.size());
    }
    void f64(double value) { raw(&value, sizeof value); }

    [[nodiscard]] std::byte* pos() const { return pos_; }

  private:
    std::byte* pos_;
};

void write_type_info(Writer& out, const ArrowTypeInfo& info) {
    out.string(info.format);
    out.string(info.name);
    out.svarint(info.flags);
    out.svarint(info.length);
    out.svarint(info.null_count);
    out.svarint(info.offset);
    out.varint(info.buffers.size());
    for (const BufferRef& buffer : info.buffers) {
        out.varint(buffer.is_null() ? 0 : buffer.offset + 1);
        out.varint(buffer.length);
    }
    out.varint(info.children.size());
    for (const ArrowTypeInfo& child : info.children) {
        write_type_info(out, child);
    }
    out.u8(info.dictionary ? 1 : 0);
    if (info.dictionary) {
        write_type_info(out, *info.dictionary);
    }
}

void write_parameter(Writer& out, const Parameter& parameter) {
    out.u8(static_cast<uint8_t>(parameter.index()));
    struct Visitor {
        Writer& out;
        void operator()(bool value) const { out.u8(value ? 1 : 0); }
        void operator()(int64_t value) const { out.svarint(value); }
        void operator()(double value) const { out.f64(value); }
        void operator()(const std::string& value) const { out.string(value); }
        void operator()(const std::vector<bool>& values) const {
            out.varint(values.size());
            for (bool value : values) {
                out.u8(value ? 1 : 0);
            }
        }
        void operator()(const std::vector<int64_t>& values) const {
            out.varint(values.size());
            for (int64_t value : values) {
                out.svarint(value);
            }
        }
        void operator()(const std::vector<double>& values) const {
            out.varint(values.size());
            for (double value : values) {
                out.f64(value);
            }
        }
        void operator()(const std::vector<std::string>& values) const {
            out.varint(values.size());
            for (const std::string& value : values) {
                out.string(value);
            }
        }
    };
    std::visit(Visitor{out}, parameter);
}

// ---- decoding ------------------------------------------------------------------------------

// Reads from untrusted bytes. The first failure is kept; after it every read returns zero/empty
// without moving, so callers check ok() at their own pace and never act on a garbage count.
class Reader {
  public:
    explicit Reader(std::span<const std::byte> in)
        : begin_(in.data()), pos_(in.data()), end_(in.data() + in.size()) {}

    [[nodiscard]] bool ok() const { return !failed_; }
    [[nodiscard]] size_t offset() const { return static_cast<size_t>(pos_ - begin_); }
    [[nodiscard]] size_t remaining() const { return static_cast<size_t>(end_ - pos_); }
    [[nodiscard]] Error take_error() { return std::move(error_); }

    template <typename... Args>
    [[gnu::cold]] [[gnu::noinline]] void fail_at(size_t at, fmt::format_string<Args...> format,
                                                 Args&&... args) {
        if (!failed_) {
            failed_ = true;
            error_ = Error(fmt::format("metadata: {} at byte {}",
                                       fmt::format(format, std::forward<Args>(args)...), at));
            pos_ = end_;
        }
    }

    uint8_t u8(const char* what) {
        if (!need(1, what)) {
            return 0;
        }
        return static_cast<uint8_t>(*pos_++);
    }

    bool boolean(const char* what) {
        const size_t at = offset();
        const uint8_t value = u8(what);
        if (value > 1) {
            fail_at(at, "{} is {}, expected 0 or 1", what, value);
        }
        return value == 1;
    }

    uint64_t varint(const char* what) {
        // Most varints (counts, small lengths, flags) are one byte.
        if (pos_ != end_ && static_cast<uint8_t>(*pos_) < 0x80) [[likely]] {
            return static_cast<uint8_t>(*pos_++);
        }
        return varint_slow(what);
    }

    int64_t svarint(const char* what) { return unzigzag(varint(what)); }

    // A count of items that take at least `min_bytes` each; refused if the rest cannot hold it.
    size_t count(const char* what, size_t min_bytes) {
        const size_t at = offset();
        const uint64_t value = varint(what);
        if (failed_) {
            return 0;
        }
        if (value > remaining() / min_bytes) {
            fail_at(at, "{} count {} exceeds what the remaining {} bytes can hold", what, value,
                    remaining());
            return 0;
        }
        return static_cast<size_t>(value);
    }

    std::string_view bytes(size_t size, const char* what) {
        if (!need(size, what)) {
            return {};
        }
        std::string_view out(reinterpret_cast<const char*>(pos_), size);
        pos_ += size;
        return out;
    }

    std::string_view string(const char* what) {
        const size_t at = offset();
        const uint64_t size = varint(what);
        if (failed_) {
            return {};
        }
        if (size > remaining()) {
            fail_at(at, "{} length {} exceeds the remaining {} bytes", what, size, remaining());
            return {};
        }
        return bytes(static_cast<size_t>(size), what);
    }

    double f64(const char* what) {
        double value = 0;
        const std::string_view raw = bytes(sizeof value, what);
        if (!raw.empty()) {
            std::memcpy(&value, raw.data(), sizeof value);
        }
        return value;
    }

  private:
    [[gnu::noinline]] uint64_t varint_slow(const char* what) {
        const size_t at = offset();
        uint64_t value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos_ == end_) {
                if (!failed_) {
                    fail_at(at, "truncated varint ({})", what);
                }
                return 0;
            }
            const auto byte = static_cast<uint8_t>(*pos_++);
            if (shift == 63 && byte > 1) {
                fail_at(at, "varint ({}) overflows 64 bits", what);
                return 0;
            }
            value |= static_cast<uint64_t>(byte & 0x7f) << shift;
            if ((byte & 0x80) == 0) {
                return value;
            }
        }
        return value;  // unreachable: the tenth byte either ends the varint or overflows
    }

    bool need(size_t size, const char* what) {
        if (failed_) {
            return false;
        }
        if (remaining() < size) {
            fail_at(offset(), "truncated {} (needs {} bytes, {} left)", what, size, remaining());
            return false;
        }
        return true;
    }

    const std::byte* begin_;
    const std::byte* pos_;
    const std::byte* end_;
    bool failed_ = false;
    Error error_;
};

void read_type_info(Reader& in, ArrowTypeInfo& info, int depth) {
    if (depth > kMaxDepth) {
        in.fail_at(in.offset(), "type info nested deeper than {} levels", kMaxDepth);
        return;
    }
    info.format = in.string("format");
    info.name = in.string("name");
    info.flags = in.svarint("flags");
    info.length = in.svarint("length");
    info.null_count = in.svarint("null count");
    info.offset = in.svarint("offset");
    const size_t n_buffers = in.count("buffer", kMinBufferBytes);
    info.buffers.resize(n_buffers);
    for (BufferRef& buffer : info.buffers) {
        const uint64_t offset_plus_one = in.varint("buffer offset");
        buffer.offset = offset_plus_one == 0 ? kNullBuffer : offset_plus_one - 1;
        buffer.length = in.varint("buffer length");
    }
    const size_t n_children = in.count("child", kMinTypeInfoBytes);
    info.children.resize(n_children);
    for (ArrowTypeInfo& child : info.children) {
        read_type_info(in, child, depth + 1);
        if (!in.ok()) {
            return;
        }
    }
    if (in.boolean("dictionary flag")) {
        info.dictionary = std::make_unique<ArrowTypeInfo>();
        read_type_info(in, *info.dictionary, depth + 1);
    }
}

template <typename T, typename ReadOne>
std::vector<T> read_list(Reader& in, const char* what, size_t min_bytes, ReadOne read_one) {
    const size_t n = in.count(what, min_bytes);
    std::vector<T> values;
    values.reserve(n);
    for (size_t i = 0; i < n && in.ok(); ++i) {
        values.push_back(read_one());
    }
    return values;
}

Parameter read_parameter_value(Reader& in, size_t kind_at, uint8_t kind) {
    switch (kind) {
        case 0:
            return in.boolean("bool parameter");
        case 1:
            return in.svarint("int parameter");
        case 2:
            return in.f64("float parameter");
        case 3:
            return std::string(in.string("string parameter"));
        case 4:
            return read_list<bool>(in, "bool list", 1,
                                   [&] { return in.boolean("bool list item"); });
        case 5:
            return read_list<int64_t>(in, "int list", 1,
                                      [&] { return in.svarint("int list item"); });
        case 6:
            return read_list<double>(in, "float list", 8,
                                     [&] { return in.f64("float list item"); });
        case 7:
            return read_list<std::string>(
                in, "string list", 1, [&] { return std::string(in.string("string list item")); });
        default:
            in.fail_at(kind_at, "unknown parameter kind {}", kind);
            return false;
    }
}

void read_parameters(Reader& in, Parameters& parameters) {
    const size_t n = in.count("parameter", kMinParameterBytes);
    for (size_t i = 0; i < n && in.ok(); ++i) {
        const size_t key_at = in.offset();
        std::string key(in.string("parameter key"));
        const size_t kind_at = in.offset();
        const uint8_t kind = in.u8("parameter kind");
        Parameter value = read_parameter_value(in, kind_at, kind);
        if (!in.ok()) {
            return;
        }
        const size_t before = parameters.size();
        parameters.emplace_hint(parameters.end(), std::move(key), std::move(value));
        if (parameters.size() == before) {
            in.fail_at(key_at, "duplicate parameter key");
        }
    }
}

}  // namespace

size_t encoded_size(const Metadata& metadata) {
    size_t size = 1 + varint_size(metadata.timestamp.time_ns) + kIdBytes +
                  type_info_size(metadata.type_info) + varint_size(metadata.parameters.size());
    for (const auto& [key, value] : metadata.parameters) {
        size += string_size(key) + parameter_size(value);
    }
    return size;
}

void encode(const Metadata& metadata, std::span<std::byte> out) {
    assert(out.size() == encoded_size(metadata));
    Writer writer(out.data());
    writer.u8(kMetadataVersion);
    writer.varint(metadata.timestamp.time_ns);
    writer.raw(metadata.timestamp.id.data(), kIdBytes);
    write_type_info(writer, metadata.type_info);
    writer.varint(metadata.parameters.size());
    for (const auto& [key, value] : metadata.parameters) {
        writer.string(key);
        write_parameter(writer, value);
    }
    assert(writer.pos() == out.data() + out.size());
}

std::string encode(const Metadata& metadata) {
    std::string out(encoded_size(metadata), '\0');
    encode(metadata, std::as_writable_bytes(std::span<char>(out)));
    return out;
}

Result<Metadata> decode(std::span<const std::byte> in) {
    Reader reader(in);
    const uint8_t version = reader.u8("version");
    if (reader.ok() && version != kMetadataVersion) {
        return fail("metadata: unsupported version {} at byte 0 (this build reads version {})",
                    version, kMetadataVersion);
    }
    Metadata metadata;
    metadata.timestamp.time_ns = reader.varint("timestamp");
    const std::string_view id = reader.bytes(kIdBytes, "timestamp clock id");
    if (!id.empty()) {
        std::memcpy(metadata.timestamp.id.data(), id.data(), kIdBytes);
    }
    read_type_info(reader, metadata.type_info, 0);
    read_parameters(reader, metadata.parameters);
    if (reader.ok() && reader.remaining() != 0) {
        reader.fail_at(reader.offset(), "{} unexpected trailing bytes", reader.remaining());
    }
    if (!reader.ok()) {
        return fail(reader.take_error());
    }
    return metadata;
}

}  // namespace dora::message
