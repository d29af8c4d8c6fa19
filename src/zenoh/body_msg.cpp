#include "zenoh/body_msg.hpp"

namespace dora::zenoh {

namespace {

constexpr uint8_t kFlagT = 0x20;  // PUT/DEL: timestamp
constexpr uint8_t kFlagE = 0x40;  // PUT/ERR: encoding
constexpr uint8_t kFlagC = 0x20;  // QUERY/REPLY: consolidation
constexpr uint8_t kFlagP = 0x40;  // QUERY: parameters

constexpr uint8_t kExtSourceInfo = kExtEncZbuf | 0x01;
constexpr uint8_t kExtPutAttachment = kExtEncZbuf | 0x03;
constexpr uint8_t kExtDelAttachment = kExtEncZbuf | 0x02;
constexpr uint8_t kExtQueryValue = kExtEncZbuf | 0x03;
constexpr uint8_t kExtQueryAttachment = kExtEncZbuf | 0x05;

Result<SourceInfo> source_info(const Extension& ext) {
    Reader sub(ext.body, ext.body_offset);
    return sub.entity_id("source info extension");
}

Result<Put> decode_put(Reader& r, uint8_t h) {
    Put m;
    if (h & kFlagT) {
        DORA_ZTRY(ts, r.timestamp("PUT timestamp"));
        m.timestamp = ts;
    }
    if (h & kFlagE) {
        DORA_ZTRY(enc, r.encoding("PUT encoding"));
        m.encoding = enc;
    }
    if (h & kFlagZ) {
        DORA_ZCHECK(read_extensions(r, "PUT extension", [&](const Extension& e) -> Result<bool> {
            if (e.full_id() == kExtSourceInfo) {
                DORA_ZTRY(si, source_info(e));
                m.source_info = si;
                return true;
            }
            if (e.full_id() == kExtPutAttachment) {
                m.attachment = e.body;
                return true;
            }
            return false;
        }));
    }
    DORA_ZTRY(payload, r.zbytes("PUT payload"));
    m.payload = payload;
    return m;
}

Result<Del> decode_del(Reader& r, uint8_t h) {
    Del m;
    if (h & kFlagT) {
        DORA_ZTRY(ts, r.timestamp("DEL timestamp"));
        m.timestamp = ts;
    }
    if (h & kFlagZ) {
        DORA_ZCHECK(read_extensions(r, "DEL extension", [&](const Extension& e) -> Result<bool> {
            if (e.full_id() == kExtSourceInfo) {
                DORA_ZTRY(si, source_info(e));
                m.source_info = si;
                return true;
            }
            if (e.full_id() == kExtDelAttachment) {
                m.attachment = e.body;
                return true;
            }
            return false;
        }));
    }
    return m;
}

Result<Err> decode_err(Reader& r, uint8_t h) {
    Err m;
    if (h & kFlagE) {
        DORA_ZTRY(enc, r.encoding("ERR encoding"));
        m.encoding = enc;
    }
    if (h & kFlagZ) {
        DORA_ZCHECK(read_extensions(r, "ERR extension", [&](const Extension& e) -> Result<bool> {
            if (e.full_id() == kExtSourceInfo) {
                DORA_ZTRY(si, source_info(e));
                m.source_info = si;
                return true;
            }
            return false;
        }));
    }
    DORA_ZTRY(payload, r.zbytes("ERR payload"));
    m.payload = payload;
    return m;
}

std::string_view body_name(uint8_t h) {
    switch (static_cast<BodyId>(h & kMidMask)) {
        case BodyId::kPut:
            return "PUT";
        case BodyId::kDel:
            return "DEL";
        case BodyId::kQuery:
            return "QUERY";
        case BodyId::kReply:
            return "REPLY";
        case BodyId::kErr:
            return "ERR";
    }
    return "unknown";
}

Error unexpected_body(const Reader& r, uint8_t h, std::string_view expected) {
    return r.error_at(r.offset() - 1, "message body",
                      fmt::format("expected {}, got header 0x{:02x} ({})", expected,
                                  static_cast<unsigned>(h), body_name(h)));
}

}  // namespace

Result<PushBody> decode_push_body(Reader& r) {
    DORA_ZTRY(h, r.u8("PUT/DEL header"));
    switch (static_cast<BodyId>(h & kMidMask)) {
        case BodyId::kPut: {
            DORA_ZTRY(put, decode_put(r, h));
            return PushBody{std::move(put)};
        }
        case BodyId::kDel: {
            DORA_ZTRY(del, decode_del(r, h));
            return PushBody{std::move(del)};
        }
        default:
            return fail(unexpected_body(r, h, "PUT or DEL"));
    }
}

Result<Query> decode_query(Reader& r) {
    DORA_ZTRY(h, r.u8("QUERY header"));
    if (static_cast<BodyId>(h & kMidMask) != BodyId::kQuery) {
        return fail(unexpected_body(r, h, "QUERY"));
    }
    Query m;
    if (h & kFlagC) {
        DORA_ZTRY(c, r.u8("QUERY consolidation"));
        m.consolidation = c;
    }
    if (h & kFlagP) {
        DORA_ZTRY(p, r.zstring("QUERY parameters"));
        m.parameters = p;
    }
    if (h & kFlagZ) {
        DORA_ZCHECK(read_extensions(r, "QUERY extension", [&](const Extension& e) -> Result<bool> {
            switch (e.full_id()) {
                case kExtSourceInfo: {
                    DORA_ZTRY(si, source_info(e));
                    m.source_info = si;
                    return true;
                }
                case kExtQueryValue:
                    m.value = e.body;
                    return true;
                case kExtQueryAttachment:
                    m.attachment = e.body;
                    return true;
                default:
                    return false;
            }
        }));
    }
    return m;
}

Result<ResponseBody> decode_response_body(Reader& r) {
    DORA_ZTRY(h, r.u8("REPLY/ERR header"));
    switch (static_cast<BodyId>(h & kMidMask)) {
        case BodyId::kReply: {
            Reply m;
            if (h & kFlagC) {
                DORA_ZTRY(c, r.u8("REPLY consolidation"));
                m.consolidation = c;
            }
            if (h & kFlagZ) {
                DORA_ZCHECK(skip_extensions(r, "REPLY extension"));
            }
            DORA_ZTRY(body, decode_push_body(r));
            m.body = std::move(body);
            return ResponseBody{std::move(m)};
        }
        case BodyId::kErr: {
            DORA_ZTRY(err, decode_err(r, h));
            return ResponseBody{std::move(err)};
        }
        default:
            return fail(unexpected_body(r, h, "REPLY or ERR"));
    }
}

void encode(Writer& w, const Put& m) {
    ExtList exts;
    if (m.source_info) {
        exts.entity(kExtSourceInfo, *m.source_info);
    }
    if (m.attachment) {
        exts.zbuf(kExtPutAttachment, *m.attachment);
    }
    uint8_t h = static_cast<uint8_t>(BodyId::kPut);
    h |= flag_if(m.timestamp, kFlagT);
    h |= flag_if(m.encoding, kFlagE);
    h |= flag_if(!exts.empty(), kFlagZ);
    w.u8(h);
    if (m.timestamp) {
        w.timestamp(*m.timestamp);
    }
    if (m.encoding) {
        w.encoding(*m.encoding);
    }
    exts.write(w);
    w.zbytes(m.payload);
}

void encode(Writer& w, const Del& m) {
    ExtList exts;
    if (m.source_info) {
        exts.entity(kExtSourceInfo, *m.source_info);
    }
    if (m.attachment) {
        exts.zbuf(kExtDelAttachment, *m.attachment);
    }
    uint8_t h = static_cast<uint8_t>(BodyId::kDel);
    h |= flag_if(m.timestamp, kFlagT);
    h |= flag_if(!exts.empty(), kFlagZ);
    w.u8(h);
    if (m.timestamp) {
        w.timestamp(*m.timestamp);
    }
    exts.write(w);
}

void encode(Writer& w, const PushBody& m) {
    std::visit([&](const auto& body) { encode(w, body); }, m);
}

void encode(Writer& w, const Query& m) {
    ExtList exts;
    if (m.source_info) {
        exts.entity(kExtSourceInfo, *m.source_info);
    }
    if (m.value) {
        exts.zbuf(kExtQueryValue, *m.value);
    }
    if (m.attachment) {
        exts.zbuf(kExtQueryAttachment, *m.attachment);
    }
    uint8_t h = static_cast<uint8_t>(BodyId::kQuery);
    h |= flag_if(m.consolidation, kFlagC);
    h |= flag_if(m.parameters, kFlagP);
    h |= flag_if(!exts.empty(), kFlagZ);
    w.u8(h);
    if (m.consolidation) {
        w.u8(*m.consolidation);
    }
    if (m.parameters) {
        w.zstring(*m.parameters);
    }
    exts.write(w);
}

void encode(Writer& w, const ResponseBody& m) {
    if (const auto* reply = std::get_if<Reply>(&m)) {
        uint8_t h = static_cast<uint8_t>(BodyId::kReply);
        h |= flag_if(reply->consolidation, kFlagC);
        w.u8(h);
        if (reply->consolidation) {
            w.u8(*reply->consolidation);
        }
        encode(w, reply->body);
        return;
    }
    const auto& err = std::get<Err>(m);
    ExtList exts;
    if (err.source_info) {
        exts.entity(kExtSourceInfo, *err.source_info);
    }
    uint8_t h = static_cast<uint8_t>(BodyId::kErr);
    h |= flag_if(err.encoding, kFlagE);
    h |= flag_if(!exts.empty(), kFlagZ);
    w.u8(h);
    if (err.encoding) {
        w.encoding(*err.encoding);
    }
    exts.write(w);
    w.zbytes(err.payload);
}

}  // namespace dora::zenoh
