#include "zenoh/transport_msg.hpp"

namespace dora::zenoh {

namespace {

constexpr uint8_t kFlagA = 0x20;  // INIT/OPEN: ack
constexpr uint8_t kFlagS = 0x40;  // INIT/JOIN: size params
constexpr uint8_t kFlagT = 0x40;  // OPEN: lease in seconds
constexpr uint8_t kFlagJoinT = 0x20;
constexpr uint8_t kFlagCloseS = 0x20;
constexpr uint8_t kFlagR = 0x20;  // FRAME/FRAGMENT: reliable
constexpr uint8_t kFlagM = 0x40;  // FRAGMENT: more

constexpr uint8_t kExtQosUnit = kExtEncUnit | 0x01;
constexpr uint8_t kExtPatch = kExtEncZint | 0x07;
constexpr uint8_t kExtFrameQos = kExtEncZint | kExtMandatory | 0x01;
constexpr uint8_t kExtFirst = kExtEncUnit | 0x02;
constexpr uint8_t kExtDrop = kExtEncUnit | 0x03;
constexpr uint8_t kExtJoinQosSn = kExtEncZbuf | kExtMandatory | 0x01;

uint8_t id_byte(TransportId id) { return static_cast<uint8_t>(id); }

Result<WhatAmI> whatami_from(const Reader& r, uint8_t b) {
    uint8_t w = b & 0x03;
    if (w == 3) {
        return fail(r.error_at(r.offset() - 1, "whatami", "reserved value 3"));
    }
    return static_cast<WhatAmI>(w);
}

uint8_t zid_byte(const Zid& zid, WhatAmI w) {
    size_t len = zid.empty() ? 1 : zid.size();
    return static_cast<uint8_t>((len - 1) << 4 | static_cast<uint8_t>(w));
}

Result<Init> decode_init(Reader& r, uint8_t h) {
    Init m;
    m.ack = (h & kFlagA) != 0;
    DORA_ZTRY(version, r.u8("INIT version"));
    m.version = version;
    DORA_ZTRY(zb, r.u8("INIT zid/whatami"));
    DORA_ZTRY(w, whatami_from(r, zb));
    m.whatami = w;
    DORA_ZTRY(zid, r.zid_nibble(zb, "INIT zid"));
    m.zid = zid;
    if (h & kFlagS) {
        m.explicit_sizes = true;
        DORA_ZTRY(res, r.u8("INIT resolution"));
        m.resolution = res;
        DORA_ZTRY(batch, r.u16le("INIT batch size"));
        m.batch_size = batch;
    }
    if (m.ack) {
        DORA_ZTRY(cookie, r.zbytes("INIT cookie"));
        m.cookie = cookie;
    }
    if (h & kFlagZ) {
        DORA_ZCHECK(read_extensions(r, "INIT extension", [&](const Extension& e) -> Result<bool> {
            if (e.full_id() == kExtQosUnit) {
                m.qos = true;
                return true;
            }
            if (e.full_id() == kExtPatch) {
                m.patch = e.value;
                return true;
            }
            return false;
        }));
    }
    return m;
}

Result<Open> decode_open(Reader& r, uint8_t h) {
    Open m;
    m.ack = (h & kFlagA) != 0;
    DORA_ZTRY(lease, r.zint_max("OPEN lease", UINT32_MAX));
    m.lease_ms = (h & kFlagT) ? lease * 1000 : lease;
    DORA_ZTRY(sn, r.zint("OPEN initial sn"));
    m.initial_sn = sn;
    if (!m.ack) {
        DORA_ZTRY(cookie, r.zbytes("OPEN cookie"));
        m.cookie = cookie;
    }
    if (h & kFlagZ) {
        DORA_ZCHECK(read_extensions(r, "OPEN extension", [&](const Extension& e) -> Result<bool> {
            if (e.full_id() == kExtQosUnit) {
                m.qos = true;
                return true;
            }
            return false;
        }));
    }
    return m;
}

Result<FrameHeader> decode_frame(Reader& r, uint8_t h) {
    FrameHeader m;
    m.reliable = (h & kFlagR) != 0;
    DORA_ZTRY(sn, r.zint("FRAME sn"));
    m.sn = sn;
    if (h & kFlagZ) {
        DORA_ZCHECK(read_extensions(r, "FRAME extension", [&](const Extension& e) -> Result<bool> {
            if (e.full_id() == kExtFrameQos) {
                m.qos = e.value;
                return true;
            }
            return false;
        }));
    }
    return m;
}

Result<Fragment> decode_fragment(Reader& r, uint8_t h) {
    Fragment m;
    m.reliable = (h & kFlagR) != 0;
    m.more = (h & kFlagM) != 0;
    DORA_ZTRY(sn, r.zint("FRAGMENT sn"));
    m.sn = sn;
    if (h & kFlagZ) {
        DORA_ZCHECK(
            read_extensions(r, "FRAGMENT extension", [&](const Extension& e) -> Result<bool> {
                switch (e.full_id()) {
                    case kExtFrameQos:
                        m.qos = e.value;
                        return true;
                    case kExtFirst:
                        m.first = true;
                        return true;
                    case kExtDrop:
                        m.drop = true;
                        return true;
                    default:
                        return false;
                }
            }));
    }
    m.payload = r.rest();
    return m;
}

Result<Join> decode_join(Reader& r, uint8_t h) {
    Join m;
    DORA_ZTRY(version, r.u8("JOIN version"));
    m.version = version;
    DORA_ZTRY(zb, r.u8("JOIN zid/whatami"));
    DORA_ZTRY(w, whatami_from(r, zb));
    m.whatami = w;
    DORA_ZTRY(zid, r.zid_nibble(zb, "JOIN zid"));
    m.zid = zid;
    if (h & kFlagS) {
        DORA_ZTRY(res, r.u8("JOIN resolution"));
        m.resolution = res;
        DORA_ZTRY(batch, r.u16le("JOIN batch size"));
        m.batch_size = batch;
    }
    DORA_ZTRY(lease, r.zint_max("JOIN lease", UINT32_MAX));
    m.lease_ms = (h & kFlagJoinT) ? lease * 1000 : lease;
    DORA_ZTRY(rel, r.zint("JOIN next sn reliable"));
    m.next_sn_reliable = rel;
    DORA_ZTRY(be, r.zint("JOIN next sn best effort"));
    m.next_sn_best_effort = be;
    if (h & kFlagZ) {
        DORA_ZCHECK(read_extensions(r, "JOIN extension", [&](const Extension& e) -> Result<bool> {
            if (e.full_id() == kExtPatch) {
                m.patch = e.value;
                return true;
            }
            if (e.full_id() == kExtJoinQosSn) {
                m.qos_sns = e.body;
                return true;
            }
            return false;
        }));
    }
    return m;
}

Result<TransportOam> decode_oam(Reader& r, uint8_t h) {
    TransportOam m;
    DORA_ZTRY(id, r.zint_max("OAM id", UINT16_MAX));
    m.id = id;
    m.encoding = h & kExtEncMask;
    if (h & kFlagZ) {
        DORA_ZCHECK(skip_extensions(r, "OAM extension"));
    }
    if (m.encoding == kExtEncZint) {
        DORA_ZTRY(v, r.zint("OAM value"));
        m.value = v;
    } else if (m.encoding == kExtEncZbuf) {
        DORA_ZTRY(b, r.zbytes("OAM body"));
        m.body = b;
    } else if (m.encoding != kExtEncUnit) {
        return fail(r.error("OAM", "reserved encoding 3"));
    }
    return m;
}

template <typename T>
Result<BatchItem> wrap(Result<T> r) {
    if (!r) {
        return fail(std::move(r.error()));
    }
    return BatchItem{std::move(*r)};
}

}  // namespace

std::string_view to_string(WhatAmI w) {
    switch (w) {
        case WhatAmI::kRouter:
            return "router";
        case WhatAmI::kPeer:
            return "peer";
        case WhatAmI::kClient:
            return "client";
    }
    return "unknown";
}

uint64_t sn_mask(uint8_t resolution) {
    // A frame SN of resolution code c is a zint of at most 1 << c bytes: 7 bits each.
    unsigned bytes = 1u << (resolution & 0x03);
    return (uint64_t{1} << (7 * bytes)) - 1;
}

void encode(Writer& w, const Init& m) {
    bool sizes =
        m.explicit_sizes || m.resolution != kDefaultResolution || m.batch_size != kDefaultBatchSize;
    ExtList exts;
    if (m.qos) {
        exts.unit(kExtQosUnit);
    }
    if (m.patch) {
        exts.zint(kExtPatch, *m.patch);
    }
    w.u8(static_cast<uint8_t>(id_byte(TransportId::kInit) | (m.ack ? kFlagA : 0) |
                              (sizes ? kFlagS : 0) | (exts.empty() ? 0 : kFlagZ)));
    w.u8(m.version);
    w.u8(zid_byte(m.zid, m.whatami));
    w.zid_bytes(m.zid);
    if (sizes) {
        w.u8(m.resolution);
        w.u16le(m.batch_size);
    }
    if (m.ack) {
        w.zbytes(m.cookie);
    }
    exts.write(w);
}

void encode(Writer& w, const Open& m) {
    bool seconds = m.lease_ms % 1000 == 0;
    ExtList exts;
    if (m.qos) {
        exts.unit(kExtQosUnit);
    }
    w.u8(static_cast<uint8_t>(id_byte(TransportId::kOpen) | (m.ack ? kFlagA : 0) |
                              (seconds ? kFlagT : 0) | (exts.empty() ? 0 : kFlagZ)));
    w.zint(seconds ? m.lease_ms / 1000 : m.lease_ms);
    w.zint(m.initial_sn);
    if (!m.ack) {
        w.zbytes(m.cookie);
    }
    exts.write(w);
}

void encode(Writer& w, const Close& m) {
    w.u8(static_cast<uint8_t>(id_byte(TransportId::kClose) | (m.session ? kFlagCloseS : 0)));
    w.u8(m.reason);
}

void encode(Writer& w, const KeepAlive&) { w.u8(id_byte(TransportId::kKeepAlive)); }

void encode(Writer& w, const FrameHeader& m) {
    w.u8(static_cast<uint8_t>(id_byte(TransportId::kFrame) | (m.reliable ? kFlagR : 0) |
                              (m.qos ? kFlagZ : 0)));
    w.zint(m.sn);
    if (m.qos) {
        ExtList exts;
        exts.zint(kExtFrameQos, *m.qos);
        exts.write(w);
    }
}

namespace {
void encode_fragment_header(Writer& w, const Fragment& m) {
    ExtList exts;
    if (m.qos) {
        exts.zint(kExtFrameQos, *m.qos);
    }
    if (m.first) {
        exts.unit(kExtFirst);
    }
    if (m.drop) {
        exts.unit(kExtDrop);
    }
    w.u8(static_cast<uint8_t>(id_byte(TransportId::kFragment) | (m.reliable ? kFlagR : 0) |
                              (m.more ? kFlagM : 0) | (exts.empty() ? 0 : kFlagZ)));
    w.zint(m.sn);
    exts.write(w);
}
}  // namespace

void encode(Writer& w, const Fragment& m) {
    encode_fragment_header(w, m);
    w.raw(m.payload);
}

size_t fragment_header_size(const Fragment& m) {
    return 1 + zint_size(m.sn) + (m.qos ? 1 + zint_size(*m.qos) : 0) + (m.first ? 1 : 0) +
           (m.drop ? 1 : 0);
}

void encode(Writer& w, const Join& m) {
    bool sizes = m.resolution != kDefaultResolution || m.batch_size != kDefaultBatchSize;
    bool seconds = m.lease_ms % 1000 == 0;
    ExtList exts;
    if (!m.qos_sns.empty()) {
        exts.zbuf(kExtJoinQosSn, m.qos_sns);
    }
    if (m.patch) {
        exts.zint(kExtPatch, *m.patch);
    }
    w.u8(static_cast<uint8_t>(id_byte(TransportId::kJoin) | (seconds ? kFlagJoinT : 0) |
                              (sizes ? kFlagS : 0) | (exts.empty() ? 0 : kFlagZ)));
    w.u8(m.version);
    w.u8(zid_byte(m.zid, m.whatami));
    w.zid_bytes(m.zid);
    if (sizes) {
        w.u8(m.resolution);
        w.u16le(m.batch_size);
    }
    w.zint(seconds ? m.lease_ms / 1000 : m.lease_ms);
    w.zint(m.next_sn_reliable);
    w.zint(m.next_sn_best_effort);
    exts.write(w);
}

void encode(Writer& w, const TransportOam& m) {
    w.u8(static_cast<uint8_t>(id_byte(TransportId::kOam) | (m.encoding & kExtEncMask)));
    w.zint(m.id);
    if (m.encoding == kExtEncZint) {
        w.zint(m.value);
    } else if (m.encoding == kExtEncZbuf) {
        w.zbytes(m.body);
    }
}

Result<BatchItem> BatchDecoder::transport() {
    size_t at = reader_.offset();
    DORA_ZTRY(h, reader_.u8("transport message header"));
    switch (static_cast<TransportId>(h & kMidMask)) {
        case TransportId::kOam:
            return wrap(decode_oam(reader_, h));
        case TransportId::kInit:
            return wrap(decode_init(reader_, h));
        case TransportId::kOpen:
            return wrap(decode_open(reader_, h));
        case TransportId::kClose: {
            Close m;
            m.session = (h & kFlagCloseS) != 0;
            DORA_ZTRY(reason, reader_.u8("CLOSE reason"));
            m.reason = reason;
            if (h & kFlagZ) {
                DORA_ZCHECK(skip_extensions(reader_, "CLOSE extension"));
            }
            return BatchItem{m};
        }
        case TransportId::kKeepAlive:
            if (h & kFlagZ) {
                DORA_ZCHECK(skip_extensions(reader_, "KEEP_ALIVE extension"));
            }
            return BatchItem{KeepAlive{}};
        case TransportId::kFrame: {
            DORA_ZTRY(frame, decode_frame(reader_, h));
            frame_ = frame;
            return BatchItem{frame};
        }
        case TransportId::kFragment:
            return wrap(decode_fragment(reader_, h));
        case TransportId::kJoin:
            return wrap(decode_join(reader_, h));
    }
    return fail(reader_.error_at(
        at, "transport message",
        fmt::format("unknown transport message id 0x{:02x}", static_cast<unsigned>(h))));
}

Result<std::optional<BatchItem>> BatchDecoder::next() {
    if (reader_.empty()) {
        return std::optional<BatchItem>{};
    }
    if (frame_ && is_network_id(reader_.peek())) {
        Reader start = reader_;
        DORA_ZTRY(msg, decode_network(reader_));
        Bytes raw = reader_.since(start);
        return std::optional<BatchItem>{FramedNetwork{*frame_, std::move(msg), raw}};
    }
    frame_.reset();
    DORA_ZTRY(item, transport());
    return std::optional<BatchItem>{std::move(item)};
}

Result<BatchItem> decode_single(Bytes batch) {
    BatchDecoder d(batch);
    DORA_ZTRY(item, d.next());
    if (!item) {
        return fail("zenoh: empty batch where a transport message was expected");
    }
    return std::move(*item);
}

}  // namespace dora::zenoh
