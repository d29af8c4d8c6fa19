// Zenoh 0x09 wire primitives: a bounds-checked Reader over a byte span, an appending Writer,
// zint (LEB128), zbytes, strings, ZIDs, timestamps, encodings and the extension chain.
//
// The Reader never reads past the end of its span and never allocates; a length read from the
// wire is checked against the bytes that remain before it is used. Errors name the field and
// the absolute offset in the enclosing buffer. Decoded views (Bytes, std::string_view) point into
// the decoded buffer and are valid only as long as it is.
//
// Thread safety: values and plain functions; a Reader or Writer is used by one thread at a time.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "zenoh/try.hpp"

namespace dora::zenoh {

using Bytes = std::span<const uint8_t>;

inline constexpr uint8_t kProtocolVersion = 0x09;
inline constexpr size_t kMaxZintBytes = 9;

// Message header layout shared by all layers: bits 7..5 flags, bits 4..0 message id.
inline constexpr uint8_t kFlagZ = 0x80;
inline constexpr uint8_t kMidMask = 0x1f;

// Extension header |Z|ENC:2|M|ID:4|.
inline constexpr uint8_t kExtEncUnit = 0x00;
inline constexpr uint8_t kExtEncZint = 0x20;
inline constexpr uint8_t kExtEncZbuf = 0x40;
inline constexpr uint8_t kExtEncMask = 0x60;
inline constexpr uint8_t kExtMandatory = 0x10;
inline constexpr uint8_t kExtIdMask = 0x7f;  // encoding + mandatory + id: the "full id"

// `flag` when `on`, else 0, typed so `header |= flag_if(...)` stays a byte.
template <typename Condition>
[[nodiscard]] constexpr uint8_t flag_if(const Condition& on, uint8_t flag) {
    return static_cast<bool>(on) ? flag : uint8_t{0};
}

[[nodiscard]] inline Bytes as_bytes(std::string_view s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
[[nodiscard]] inline std::string_view as_string_view(Bytes b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}
[[nodiscard]] std::string to_hex(Bytes b);
// Value of one hex digit, or -1.
[[nodiscard]] constexpr int hex_digit(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}
// Parses hex digits, ignoring spaces; nullopt on a bad digit or odd count.
[[nodiscard]] std::optional<std::vector<uint8_t>> from_hex(std::string_view hex);

// Number of bytes `value` takes as a zint.
[[nodiscard]] size_t zint_size(uint64_t value);

// A Zenoh ID: 1 to 16 bytes.
class Zid {
  public:
    Zid() = default;
    [[nodiscard]] static Result<Zid> from_bytes(Bytes bytes);
    [[nodiscard]] static Zid random();

    [[nodiscard]] Bytes bytes() const { return {bytes_.data(), size_}; }
    [[nodiscard]] size_t size() const { return size_; }
    [[nodiscard]] bool empty() const { return size_ == 0; }
    // As Rust prints a ZID (uhlc's ID: the bytes as a little-endian integer, in hex without
    // leading zeros), so our logs name a node as zenohd, z_info and the admin space do. The
    // bytes in wire order are to_hex(bytes()).
    [[nodiscard]] std::string to_string() const;
    friend bool operator==(const Zid& a, const Zid& b) {
        return a.size_ == b.size_ &&
               std::equal(a.bytes_.begin(), a.bytes_.begin() + a.size_, b.bytes_.begin());
    }

  private:
    std::array<uint8_t, 16> bytes_{};
    uint8_t size_ = 0;
};

// NTP64 time plus the ZID of the clock that made it.
struct Timestamp {
    uint64_t time = 0;
    Zid id;
    friend bool operator==(const Timestamp&, const Timestamp&) = default;
};

// Entity that produced a message: SourceInfo (0x41, with sn) and Responder (0x43, without).
struct EntityId {
    Zid zid;
    uint64_t eid = 0;
    std::optional<uint64_t> sn;
    friend bool operator==(const EntityId&, const EntityId&) = default;
};

// Encoding id (0 zenoh/bytes, 1 zenoh/string, ...) and an optional schema.
struct Encoding {
    uint64_t id = 0;
    Bytes schema;
    bool has_schema = false;
};

// One decoded extension. `header` keeps the full id (h & 0x7f): encoding, mandatory bit, id.
struct Extension {
    uint8_t header = 0;
    uint64_t value = 0;      // kExtEncZint
    Bytes body;              // kExtEncZbuf
    size_t body_offset = 0;  // absolute offset of body, for errors

    [[nodiscard]] uint8_t full_id() const { return header & kExtIdMask; }
    [[nodiscard]] bool mandatory() const { return (header & kExtMandatory) != 0; }
    [[nodiscard]] uint8_t encoding() const { return header & kExtEncMask; }
};

class Reader {
  public:
    // `base` is the offset of data[0] in the enclosing buffer, used only in error messages.
    explicit Reader(Bytes data, size_t base = 0) : data_(data), base_(base) {}

    [[nodiscard]] size_t offset() const { return base_ + pos_; }
    [[nodiscard]] size_t remaining() const { return data_.size() - pos_; }
    [[nodiscard]] bool empty() const { return pos_ == data_.size(); }
    // The next byte without consuming it; only valid when !empty().
    [[nodiscard]] uint8_t peek() const { return data_[pos_]; }

    [[nodiscard]] Result<uint8_t> u8(std::string_view what);
    [[nodiscard]] Result<uint16_t> u16le(std::string_view what);
    [[nodiscard]] Result<uint64_t> zint(std::string_view what);
    // A zint that must not exceed `max` (e.g. UINT32_MAX for entity ids).
    [[nodiscard]] Result<uint64_t> zint_max(std::string_view what, uint64_t max);
    [[nodiscard]] Result<Bytes> raw(size_t n, std::string_view what);
    [[nodiscard]] Result<Bytes> zbytes(std::string_view what);
    [[nodiscard]] Result<std::string_view> zstring(std::string_view what);
    // Everything left.
    [[nodiscard]] Bytes rest();
    // The bytes read since `start`, a copy of this reader taken earlier.
    [[nodiscard]] Bytes since(const Reader& start) const {
        return start.data_.subspan(start.pos_, pos_ - start.pos_);
    }
    // ZID whose length is given by the high nibble of an already read byte.
    [[nodiscard]] Result<Zid> zid_nibble(uint8_t len_byte, std::string_view what);
    [[nodiscard]] Result<Timestamp> timestamp(std::string_view what);
    [[nodiscard]] Result<Encoding> encoding(std::string_view what);
    [[nodiscard]] Result<Extension> extension(std::string_view what);
    // |zidlen-1:4|x:4| zid eid [sn]: sn is read if bytes remain.
    [[nodiscard]] Result<EntityId> entity_id(std::string_view what);

    // The error "zenoh: <what> at offset N: <detail>" at the current position.
    [[nodiscard]] Error error(std::string_view what, std::string_view detail) const;
    [[nodiscard]] Error error_at(size_t offset, std::string_view what,
                                 std::string_view detail) const;

  private:
    Bytes data_;
    size_t base_ = 0;
    size_t pos_ = 0;
};

// Reads an extension chain (call when the Z flag was set). `on_ext(const Extension&)` returns
// Result<bool>: true if it knew the extension. An unknown mandatory extension is an error.
template <typename OnExt>
[[nodiscard]] Result<> read_extensions(Reader& r, std::string_view what, OnExt&& on_ext) {
    for (;;) {
        size_t at = r.offset();
        auto ext = r.extension(what);
        if (!ext) {
            return fail(ext.error());
        }
        auto known = on_ext(*ext);
        if (!known) {
            return fail(known.error());
        }
        if (!*known && ext->mandatory()) {
            return fail(r.error_at(at, what,
                                   fmt::format("unknown mandatory extension 0x{:02x}",
                                               static_cast<unsigned>(ext->full_id()))));
        }
        if ((ext->header & kFlagZ) == 0) {
            return {};
        }
    }
}

// Skips an extension chain, accepting none of them (unknown mandatory = error).
[[nodiscard]] Result<> skip_extensions(Reader& r, std::string_view what);

// Appends to a caller-owned vector; keeps its capacity, so reusing one vector does not allocate.
class Writer {
  public:
    explicit Writer(std::vector<uint8_t>& out) : out_(out) {}

    [[nodiscard]] size_t size() const { return out_.size(); }
    void u8(uint8_t v) { out_.push_back(v); }
    void u16le(uint16_t v);
    void zint(uint64_t v);
    void raw(Bytes b) { out_.insert(out_.end(), b.begin(), b.end()); }
    void zbytes(Bytes b);
    void zstring(std::string_view s) { zbytes(as_bytes(s)); }
    void zid_bytes(const Zid& zid) { raw(zid.bytes()); }
    void timestamp(const Timestamp& ts);
    void encoding(const Encoding& e);
    void entity_id(const EntityId& e);
    // Patches a byte written earlier (e.g. a header whose flags depend on what follows).
    void patch(size_t at, uint8_t v) { out_[at] = v; }
    [[nodiscard]] std::vector<uint8_t>& buffer() { return out_; }

  private:
    std::vector<uint8_t>& out_;
};

// Encodes any message that has an `encode(Writer&, const Message&)` overload into a new vector.
template <typename Message>
[[nodiscard]] std::vector<uint8_t> encode_to_vector(const Message& m) {
    std::vector<uint8_t> out;
    Writer w(out);
    encode(w, m);
    return out;
}

// An extension to write; a message collects a few in a fixed array, then writes the chain.
struct ExtOut {
    uint8_t header = 0;  // full id: encoding | mandatory | id
    uint64_t value = 0;
    Bytes body;
    const Timestamp* ts = nullptr;     // zbuf body encoded from a timestamp
    const EntityId* entity = nullptr;  // zbuf body encoded from an entity id
};

class ExtList {
  public:
    void unit(uint8_t full_id) { add({full_id, 0, {}}); }
    void zint(uint8_t full_id, uint64_t v) { add({full_id, v, {}}); }
    void zbuf(uint8_t full_id, Bytes b) { add({full_id, 0, b}); }
    void timestamp(uint8_t full_id, const Timestamp& ts) { add({full_id, 0, {}, &ts}); }
    void entity(uint8_t full_id, const EntityId& e) { add({full_id, 0, {}, nullptr, &e}); }
    [[nodiscard]] bool empty() const { return count_ == 0; }
    void write(Writer& w) const;

  private:
    void add(ExtOut e) {
        if (count_ < items_.size()) {
            items_[count_++] = e;
        }
    }
    std::array<ExtOut, 8> items_{};
    size_t count_ = 0;
};

}  // namespace dora::zenoh
