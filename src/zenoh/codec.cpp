#include "zenoh/codec.hpp"

#include <random>

namespace dora::zenoh {

std::string to_hex(Bytes b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(b.size() * 2);
    for (uint8_t c : b) {
        out.push_back(kDigits[c >> 4]);
        out.push_back(kDigits[c & 0x0f]);
    }
    return out;
}

std::optional<std::vector<uint8_t>> from_hex(std::string_view hex) {
    std::vector<uint8_t> out;
    int high = -1;
    for (char c : hex) {
        if (c == ' ') {
            continue;
        }
        int v = hex_digit(c);
        if (v < 0) {
            return std::nullopt;
        }
        if (high < 0) {
            high = v;
        } else {
            out.push_back(static_cast<uint8_t>(high << 4 | v));
            high = -1;
        }
    }
    if (high >= 0) {
        return std::nullopt;
    }
    return out;
}

size_t zint_size(uint64_t value) {
    size_t n = 1;
    while (value >= 0x80 && n < kMaxZintBytes) {
        value >>= 7;
        ++n;
    }
    return n;
}

Result<Zid> Zid::from_bytes(Bytes bytes) {
    if (bytes.empty() || bytes.size() > 16) {
        return fail("zenoh: a ZID has 1 to 16 bytes, got {}", bytes.size());
    }
    Zid zid;
    std::copy(bytes.begin(), bytes.end(), zid.bytes_.begin());
    zid.size_ = static_cast<uint8_t>(bytes.size());
    return zid;
}

std::string Zid::to_string() const {
    std::vector<uint8_t> big_endian(bytes_.rend() - size_, bytes_.rend());
    std::string hex = to_hex(big_endian);
    size_t first = hex.find_first_not_of('0');
    return first == std::string::npos ? "0" : hex.substr(first);
}

Zid Zid::random() {
    std::random_device rd;
    Zid zid;
    for (auto& b : zid.bytes_) {
        b = static_cast<uint8_t>(rd());
    }
    // A ZID is a little-endian integer on the Rust side: its last byte must not be zero.
    if (zid.bytes_[15] == 0) {
        zid.bytes_[15] = 1;
    }
    zid.size_ = 16;
    return zid;
}

Error Reader::error_at(size_t offset, std::string_view what, std::string_view detail) const {
    return Error::make("zenoh: {} at offset {}: {}", what, offset, detail);
}

Error Reader::error(std::string_view what, std::string_view detail) const {
    return error_at(offset(), what, detail);
}

Result<uint8_t> Reader::u8(std::string_view what) {
    if (remaining() < 1) {
        return fail(error(what, "truncated (need 1 byte, have 0)"));
    }
    return data_[pos_++];
}

Result<uint16_t> Reader::u16le(std::string_view what) {
    if (remaining() < 2) {
        return fail(error(what, fmt::format("truncated (need 2 bytes, have {})", remaining())));
    }
    uint16_t v = static_cast<uint16_t>(data_[pos_] | (data_[pos_ + 1] << 8));
    pos_ += 2;
    return v;
}

Result<uint64_t> Reader::zint(std::string_view what) {
    size_t start = pos_;
    uint64_t value = 0;
    for (size_t i = 0; i < kMaxZintBytes; ++i) {
        if (pos_ >= data_.size()) {
            return fail(error_at(base_ + start, what, "truncated zint"));
        }
        uint8_t c = data_[pos_++];
        if (i == kMaxZintBytes - 1) {
            value |= static_cast<uint64_t>(c) << (7 * i);
            return value;
        }
        value |= static_cast<uint64_t>(c & 0x7f) << (7 * i);
        if ((c & 0x80) == 0) {
            return value;
        }
    }
    return value;
}

Result<uint64_t> Reader::zint_max(std::string_view what, uint64_t max) {
    size_t at = offset();
    auto v = zint(what);
    if (v && *v > max) {
        return fail(error_at(at, what, fmt::format("value {} exceeds {}", *v, max)));
    }
    return v;
}

Result<Bytes> Reader::raw(size_t n, std::string_view what) {
    if (n > remaining()) {
        return fail(
            error(what, fmt::format("length {} exceeds the {} bytes left", n, remaining())));
    }
    Bytes out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
}

Result<Bytes> Reader::zbytes(std::string_view what) {
    size_t at = offset();
    auto n = zint(what);
    if (!n) {
        return fail(n.error());
    }
    if (*n > remaining()) {
        return fail(error_at(at, what,
                             fmt::format("length {} exceeds the {} bytes left", *n, remaining())));
    }
    return raw(static_cast<size_t>(*n), what);
}

Result<std::string_view> Reader::zstring(std::string_view what) {
    auto b = zbytes(what);
    if (!b) {
        return fail(b.error());
    }
    return as_string_view(*b);
}

Bytes Reader::rest() {
    Bytes out = data_.subspan(pos_);
    pos_ = data_.size();
    return out;
}

Result<Zid> Reader::zid_nibble(uint8_t len_byte, std::string_view what) {
    size_t len = static_cast<size_t>(len_byte >> 4) + 1;
    auto b = raw(len, what);
    if (!b) {
        return fail(b.error());
    }
    return Zid::from_bytes(*b);
}

Result<Timestamp> Reader::timestamp(std::string_view what) {
    Timestamp ts;
    auto time = zint(what);
    if (!time) {
        return fail(time.error());
    }
    ts.time = *time;
    size_t at = offset();
    auto id = zbytes(what);
    if (!id) {
        return fail(id.error());
    }
    auto zid = Zid::from_bytes(*id);
    if (!zid) {
        return fail(error_at(at, what, zid.error().message()));
    }
    ts.id = *zid;
    return ts;
}

Result<Encoding> Reader::encoding(std::string_view what) {
    auto v = zint(what);
    if (!v) {
        return fail(v.error());
    }
    Encoding e;
    e.id = *v >> 1;
    e.has_schema = (*v & 1) != 0;
    if (e.has_schema) {
        auto schema = zbytes(what);
        if (!schema) {
            return fail(schema.error());
        }
        e.schema = *schema;
    }
    return e;
}

Result<Extension> Reader::extension(std::string_view what) {
    auto h = u8(what);
    if (!h) {
        return fail(h.error());
    }
    Extension ext;
    ext.header = *h;
    switch (*h & kExtEncMask) {
        case kExtEncUnit:
            break;
        case kExtEncZint: {
            auto v = zint(what);
            if (!v) {
                return fail(v.error());
            }
            ext.value = *v;
            break;
        }
        case kExtEncZbuf: {
            auto b = zbytes(what);
            if (!b) {
                return fail(b.error());
            }
            ext.body = *b;
            ext.body_offset = offset() - b->size();
            break;
        }
        default:
            return fail(error_at(offset() - 1, what, "extension with reserved encoding 3"));
    }
    return ext;
}

Result<EntityId> Reader::entity_id(std::string_view what) {
    DORA_ZTRY(len, u8(what));
    DORA_ZTRY(zid, zid_nibble(len, what));
    EntityId e;
    e.zid = zid;
    DORA_ZTRY(eid, zint_max(what, UINT32_MAX));
    e.eid = eid;
    if (!empty()) {
        DORA_ZTRY(sn, zint_max(what, UINT32_MAX));
        e.sn = sn;
    }
    return e;
}

Result<> skip_extensions(Reader& r, std::string_view what) {
    return read_extensions(r, what, [](const Extension&) -> Result<bool> { return false; });
}

void Writer::u16le(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v & 0xff));
    out_.push_back(static_cast<uint8_t>(v >> 8));
}

void Writer::zint(uint64_t v) {
    for (size_t i = 0; i < kMaxZintBytes - 1; ++i) {
        if (v < 0x80) {
            out_.push_back(static_cast<uint8_t>(v));
            return;
        }
        out_.push_back(static_cast<uint8_t>((v & 0x7f) | 0x80));
        v >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(v));
}

void Writer::zbytes(Bytes b) {
    zint(b.size());
    raw(b);
}

void Writer::timestamp(const Timestamp& ts) {
    zint(ts.time);
    zbytes(ts.id.bytes());
}

void Writer::encoding(const Encoding& e) {
    zint(e.id << 1 | (e.has_schema ? 1u : 0u));
    if (e.has_schema) {
        zbytes(e.schema);
    }
}

void Writer::entity_id(const EntityId& e) {
    u8(static_cast<uint8_t>(e.zid.empty() ? 0 : (e.zid.size() - 1) << 4));
    zid_bytes(e.zid);
    zint(e.eid);
    if (e.sn) {
        zint(*e.sn);
    }
}

namespace {
size_t entity_id_size(const EntityId& e) {
    return 1 + e.zid.size() + zint_size(e.eid) + (e.sn ? zint_size(*e.sn) : 0);
}
}  // namespace

void ExtList::write(Writer& w) const {
    for (size_t i = 0; i < count_; ++i) {
        const ExtOut& e = items_[i];
        uint8_t more = i + 1 < count_ ? kFlagZ : 0;
        w.u8(static_cast<uint8_t>((e.header & kExtIdMask) | more));
        switch (e.header & kExtEncMask) {
            case kExtEncZint:
                w.zint(e.value);
                break;
            case kExtEncZbuf:
                if (e.entity != nullptr) {
                    w.zint(entity_id_size(*e.entity));
                    w.entity_id(*e.entity);
                } else if (e.ts != nullptr) {
                    w.zint(zint_size(e.ts->time) + 1 + e.ts->id.size());
                    w.timestamp(*e.ts);
                } else {
                    w.zbytes(e.body);
                }
                break;
            default:
                break;
        }
    }
}

}  // namespace dora::zenoh
