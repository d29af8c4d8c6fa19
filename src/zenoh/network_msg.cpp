#include "zenoh/network_msg.hpp"

namespace dora::zenoh {

namespace {

constexpr uint8_t kFlagN = 0x20;  // PUSH/REQUEST/RESPONSE/declarations: suffix present
constexpr uint8_t kFlagM = 0x40;  // sender mapping
constexpr uint8_t kFlagI = 0x20;  // DECLARE: interest id
constexpr uint8_t kFlagC = 0x20;  // INTEREST: current
constexpr uint8_t kFlagF = 0x40;  // INTEREST: future

constexpr uint8_t kExtQos = kExtEncZint | 0x01;
constexpr uint8_t kExtTimestamp = kExtEncZbuf | 0x02;
constexpr uint8_t kExtNodeId = kExtEncZint | kExtMandatory | 0x03;
constexpr uint8_t kExtTarget = kExtEncZint | kExtMandatory | 0x04;
constexpr uint8_t kExtBudget = kExtEncZint | 0x05;
constexpr uint8_t kExtTimeout = kExtEncZint | 0x06;
constexpr uint8_t kExtResponder = kExtEncZbuf | 0x03;
constexpr uint8_t kExtQueryableInfo = kExtEncZint | 0x01;
constexpr uint8_t kExtUndeclareKey = kExtEncZbuf | kExtMandatory | 0x0f;

constexpr uint64_t kMaxExprId = UINT16_MAX;
constexpr uint64_t kMaxEntityId = UINT32_MAX;

// Handles the common network extensions, then defers to `more` for message-specific ones.
template <typename More>
Result<> read_network_exts(Reader& r, std::string_view what, NetworkExts& out, More&& more) {
    return read_extensions(r, what, [&](const Extension& e) -> Result<bool> {
        switch (e.full_id()) {
            case kExtQos:
                out.qos = e.value;
                return true;
            case kExtNodeId:
                out.node_id = e.value;
                return true;
            case kExtTimestamp: {
                Reader sub(e.body, e.body_offset);
                DORA_ZTRY(ts, sub.timestamp("timestamp extension"));
                out.timestamp = ts;
                return true;
            }
            default:
                return more(e);
        }
    });
}

Result<> read_network_exts(Reader& r, std::string_view what, NetworkExts& out) {
    return read_network_exts(r, what, out, [](const Extension&) -> Result<bool> { return false; });
}

void add_network_exts(ExtList& exts, const NetworkExts& e) {
    if (e.qos != kDefaultQos) {
        exts.zint(kExtQos, e.qos);
    }
    if (e.timestamp) {
        exts.timestamp(kExtTimestamp, *e.timestamp);
    }
    if (e.node_id && *e.node_id != 0) {
        exts.zint(kExtNodeId, *e.node_id);
    }
}

Result<WireExpr> read_wire_expr(Reader& r, bool named, bool sender, std::string_view what,
                                uint64_t max_scope = kMaxExprId) {
    WireExpr key;
    DORA_ZTRY(scope, r.zint_max(what, max_scope));
    key.scope = scope;
    key.sender_mapping = sender;
    if (named) {
        DORA_ZTRY(suffix, r.zstring(what));
        key.suffix = suffix;
    }
    return key;
}

uint8_t wire_flags(const WireExpr& key) {
    return static_cast<uint8_t>((key.suffix.empty() ? 0 : kFlagN) |
                                (key.sender_mapping ? kFlagM : 0));
}

void write_wire_expr(Writer& w, const WireExpr& key) {
    w.zint(key.scope);
    if (!key.suffix.empty()) {
        w.zstring(key.suffix);
    }
}

Result<Push> decode_push(Reader& r, uint8_t h) {
    Push m;
    DORA_ZTRY(key, read_wire_expr(r, h & kFlagN, h & kFlagM, "PUSH key"));
    m.key = key;
    if (h & kFlagZ) {
        DORA_ZCHECK(read_network_exts(r, "PUSH extension", m.ext));
    }
    Reader body_start = r;
    DORA_ZTRY(body, decode_push_body(r));
    m.body = std::move(body);
    m.raw_body = r.since(body_start);
    return m;
}

// Undeclaration key extension body: flags (b0 named, b1 sender mapping), scope, suffix to end.
Result<WireExpr> undeclare_key(const Extension& e) {
    Reader sub(e.body, e.body_offset);
    DORA_ZTRY(flags, sub.u8("undeclaration key flags"));
    WireExpr key;
    key.sender_mapping = (flags & 0x02) != 0;
    DORA_ZTRY(scope, sub.zint_max("undeclaration key scope", kMaxExprId));
    key.scope = scope;
    if (flags & 0x01) {
        key.suffix = as_string_view(sub.rest());
    }
    return key;
}

Result<Declaration> decode_declaration(Reader& r) {
    size_t at = r.offset();
    DORA_ZTRY(h, r.u8("declaration header"));
    Declaration d;
    uint8_t mid = h & kMidMask;
    switch (mid) {
        case static_cast<uint8_t>(DeclKind::kKeyExpr): {
            DORA_ZTRY(id, r.zint_max("D_KEYEXPR id", kMaxExprId));
            d.id = id;
            DORA_ZTRY(key, read_wire_expr(r, h & kFlagN, true, "D_KEYEXPR key"));
            d.key = key;
            break;
        }
        case static_cast<uint8_t>(DeclKind::kUndeclareKeyExpr): {
            DORA_ZTRY(id, r.zint_max("U_KEYEXPR id", kMaxExprId));
            d.id = id;
            break;
        }
        case static_cast<uint8_t>(DeclKind::kSubscriber):
        case static_cast<uint8_t>(DeclKind::kQueryable):
        case static_cast<uint8_t>(DeclKind::kToken): {
            DORA_ZTRY(id, r.zint_max("declaration entity id", kMaxEntityId));
            d.id = id;
            DORA_ZTRY(key, read_wire_expr(r, h & kFlagN, h & kFlagM, "declaration key"));
            d.key = key;
            break;
        }
        case static_cast<uint8_t>(DeclKind::kUndeclareSubscriber):
        case static_cast<uint8_t>(DeclKind::kUndeclareQueryable):
        case static_cast<uint8_t>(DeclKind::kUndeclareToken): {
            DORA_ZTRY(id, r.zint_max("undeclaration entity id", kMaxEntityId));
            d.id = id;
            break;
        }
        case static_cast<uint8_t>(DeclKind::kFinal):
            break;
        default:
            return fail(
                r.error_at(at, "declaration", fmt::format("unknown declaration id 0x{:02x}", mid)));
    }
    d.kind = static_cast<DeclKind>(mid);
    if (h & kFlagZ) {
        DORA_ZCHECK(
            read_extensions(r, "declaration extension", [&](const Extension& e) -> Result<bool> {
                if (d.kind == DeclKind::kQueryable && e.full_id() == kExtQueryableInfo) {
                    d.complete = (e.value & 1) != 0;
                    d.distance = e.value >> 8;
                    return true;
                }
                bool undeclare = d.kind == DeclKind::kUndeclareSubscriber ||
                                 d.kind == DeclKind::kUndeclareQueryable ||
                                 d.kind == DeclKind::kUndeclareToken;
                if (undeclare && e.full_id() == kExtUndeclareKey) {
                    DORA_ZTRY(key, undeclare_key(e));
                    d.key = key;
                    return true;
                }
                return false;
            }));
    }
    return d;
}

Result<Declare> decode_declare(Reader& r, uint8_t h) {
    Declare m;
    if (h & kFlagI) {
        DORA_ZTRY(id, r.zint_max("DECLARE interest id", kMaxEntityId));
        m.interest_id = id;
    }
    if (h & kFlagZ) {
        DORA_ZCHECK(read_network_exts(r, "DECLARE extension", m.ext));
    }
    DORA_ZTRY(decl, decode_declaration(r));
    m.decl = decl;
    return m;
}

Result<Interest> decode_interest(Reader& r, uint8_t h) {
    Interest m;
    DORA_ZTRY(id, r.zint_max("INTEREST id", kMaxEntityId));
    m.id = id;
    m.current = (h & kFlagC) != 0;
    m.future = (h & kFlagF) != 0;
    if (m.current || m.future) {
        DORA_ZTRY(options, r.u8("INTEREST options"));
        m.options = options;
        if (options & kInterestRestricted) {
            DORA_ZTRY(key, read_wire_expr(r, options & kInterestNamed, options & kInterestMapping,
                                          "INTEREST key"));
            m.key = key;
        }
    }
    if (h & kFlagZ) {
        DORA_ZCHECK(read_network_exts(r, "INTEREST extension", m.ext));
    }
    return m;
}

Result<Request> decode_request(Reader& r, uint8_t h) {
    Request m;
    DORA_ZTRY(id, r.zint_max("REQUEST id", kMaxEntityId));
    m.id = id;
    DORA_ZTRY(key, read_wire_expr(r, h & kFlagN, h & kFlagM, "REQUEST key"));
    m.key = key;
    if (h & kFlagZ) {
        DORA_ZCHECK(read_network_exts(r, "REQUEST extension", m.ext,
                                      [&](const Extension& e) -> Result<bool> {
                                          switch (e.full_id()) {
                                              case kExtTarget:
                                                  m.target = e.value;
                                                  return true;
                                              case kExtBudget:
                                                  m.budget = e.value;
                                                  return true;
                                              case kExtTimeout:
                                                  m.timeout = e.value;
                                                  return true;
                                              default:
                                                  return false;
                                          }
                                      }));
    }
    Reader body_start = r;
    DORA_ZTRY(query, decode_query(r));
    m.query = query;
    m.raw_body = r.since(body_start);
    return m;
}

Result<Response> decode_response(Reader& r, uint8_t h) {
    Response m;
    DORA_ZTRY(id, r.zint_max("RESPONSE id", kMaxEntityId));
    m.id = id;
    DORA_ZTRY(key, read_wire_expr(r, h & kFlagN, h & kFlagM, "RESPONSE key"));
    m.key = key;
    if (h & kFlagZ) {
        DORA_ZCHECK(read_network_exts(r, "RESPONSE extension", m.ext,
                                      [&](const Extension& e) -> Result<bool> {
                                          if (e.full_id() != kExtResponder) {
                                              return false;
                                          }
                                          Reader sub(e.body, e.body_offset);
                                          DORA_ZTRY(who, sub.entity_id("responder extension"));
                                          m.responder = Responder{who.zid, who.eid};
                                          return true;
                                      }));
    }
    Reader body_start = r;
    DORA_ZTRY(body, decode_response_body(r));
    m.body = std::move(body);
    m.raw_body = r.since(body_start);
    return m;
}

Result<ResponseFinal> decode_response_final(Reader& r, uint8_t h) {
    ResponseFinal m;
    DORA_ZTRY(id, r.zint_max("RESPONSE_FINAL id", kMaxEntityId));
    m.id = id;
    if (h & kFlagZ) {
        DORA_ZCHECK(read_network_exts(r, "RESPONSE_FINAL extension", m.ext));
    }
    return m;
}

Result<NetworkOam> decode_oam(Reader& r, uint8_t h) {
    NetworkOam m;
    DORA_ZTRY(id, r.zint_max("OAM id", kMaxExprId));
    m.id = id;
    m.encoding = h & kExtEncMask;
    if (h & kFlagZ) {
        DORA_ZCHECK(read_network_exts(r, "OAM extension", m.ext));
    }
    switch (m.encoding) {
        case kExtEncUnit:
            break;
        case kExtEncZint: {
            DORA_ZTRY(v, r.zint("OAM value"));
            m.value = v;
            break;
        }
        case kExtEncZbuf: {
            DORA_ZTRY(b, r.zbytes("OAM body"));
            m.body = b;
            break;
        }
        default:
            return fail(r.error("OAM", "reserved encoding 3"));
    }
    return m;
}

template <typename T>
Result<NetworkMessage> wrap(Result<T> r) {
    if (!r) {
        return fail(std::move(r.error()));
    }
    return NetworkMessage{std::move(*r)};
}

}  // namespace

Result<NetworkMessage> decode_network(Reader& r) {
    size_t at = r.offset();
    DORA_ZTRY(h, r.u8("network message header"));
    switch (static_cast<NetworkId>(h & kMidMask)) {
        case NetworkId::kPush:
            return wrap(decode_push(r, h));
        case NetworkId::kDeclare:
            return wrap(decode_declare(r, h));
        case NetworkId::kInterest:
            return wrap(decode_interest(r, h));
        case NetworkId::kRequest:
            return wrap(decode_request(r, h));
        case NetworkId::kResponse:
            return wrap(decode_response(r, h));
        case NetworkId::kResponseFinal:
            return wrap(decode_response_final(r, h));
        case NetworkId::kOam:
            return wrap(decode_oam(r, h));
    }
    return fail(r.error_at(at, "network message",
                           fmt::format("unknown network message id 0x{:02x}", h & kMidMask)));
}

void encode(Writer& w, const Push& m) {
    ExtList exts;
    add_network_exts(exts, m.ext);
    w.u8(static_cast<uint8_t>(static_cast<uint8_t>(NetworkId::kPush) | wire_flags(m.key) |
                              (exts.empty() ? 0 : kFlagZ)));
    write_wire_expr(w, m.key);
    exts.write(w);
    encode(w, m.body);
}

namespace {

void encode_declaration(Writer& w, const Declaration& d) {
    uint8_t h = static_cast<uint8_t>(d.kind);
    ExtList exts;
    uint64_t queryable_info = (d.complete ? 1u : 0u) | d.distance << 8;
    if (d.kind == DeclKind::kQueryable && queryable_info != 0) {
        exts.zint(kExtQueryableInfo, queryable_info);
    }
    // Undeclaration key: flags, scope, suffix (undeclarations are rare: a vector is fine).
    std::vector<uint8_t> key_body;
    bool undeclare = d.kind == DeclKind::kUndeclareSubscriber ||
                     d.kind == DeclKind::kUndeclareQueryable || d.kind == DeclKind::kUndeclareToken;
    if (undeclare && d.key) {
        Writer kw(key_body);
        kw.u8(static_cast<uint8_t>((d.key->suffix.empty() ? 0 : 1) |
                                   (d.key->sender_mapping ? 2 : 0)));
        kw.zint(d.key->scope);
        kw.raw(as_bytes(d.key->suffix));
        exts.zbuf(kExtUndeclareKey, key_body);
    }
    switch (d.kind) {
        case DeclKind::kKeyExpr:
            h |= flag_if(d.key && !d.key->suffix.empty(), kFlagN);
            break;
        case DeclKind::kSubscriber:
        case DeclKind::kQueryable:
        case DeclKind::kToken:
            h |= d.key ? wire_flags(*d.key) : uint8_t{0};
            break;
        default:
            break;
    }
    h |= flag_if(!exts.empty(), kFlagZ);
    w.u8(h);
    if (d.kind != DeclKind::kFinal) {
        w.zint(d.id);
    }
    bool has_wire = d.kind == DeclKind::kKeyExpr || d.kind == DeclKind::kSubscriber ||
                    d.kind == DeclKind::kQueryable || d.kind == DeclKind::kToken;
    if (has_wire) {
        write_wire_expr(w, d.key.value_or(WireExpr{}));
    }
    exts.write(w);
}

}  // namespace

void encode(Writer& w, const Declare& m) {
    ExtList exts;
    add_network_exts(exts, m.ext);
    w.u8(static_cast<uint8_t>(static_cast<uint8_t>(NetworkId::kDeclare) |
                              (m.interest_id ? kFlagI : 0) | (exts.empty() ? 0 : kFlagZ)));
    if (m.interest_id) {
        w.zint(*m.interest_id);
    }
    exts.write(w);
    encode_declaration(w, m.decl);
}

void encode(Writer& w, const Interest& m) {
    ExtList exts;
    add_network_exts(exts, m.ext);
    w.u8(static_cast<uint8_t>(static_cast<uint8_t>(NetworkId::kInterest) |
                              (m.current ? kFlagC : 0) | (m.future ? kFlagF : 0) |
                              (exts.empty() ? 0 : kFlagZ)));
    w.zint(m.id);
    if (m.current || m.future) {
        uint8_t options =
            m.options &
            static_cast<uint8_t>(~(kInterestRestricted | kInterestNamed | kInterestMapping));
        if (m.key) {
            options |= kInterestRestricted;
            options |= flag_if(!m.key->suffix.empty(), kInterestNamed);
            options |= flag_if(m.key->sender_mapping, kInterestMapping);
        }
        w.u8(options);
        if (m.key) {
            write_wire_expr(w, *m.key);
        }
    }
    exts.write(w);
}

void encode(Writer& w, const Request& m) {
    ExtList exts;
    add_network_exts(exts, m.ext);
    if (m.target) {
        exts.zint(kExtTarget, *m.target);
    }
    if (m.budget) {
        exts.zint(kExtBudget, *m.budget);
    }
    if (m.timeout) {
        exts.zint(kExtTimeout, *m.timeout);
    }
    w.u8(static_cast<uint8_t>(static_cast<uint8_t>(NetworkId::kRequest) | wire_flags(m.key) |
                              (exts.empty() ? 0 : kFlagZ)));
    w.zint(m.id);
    write_wire_expr(w, m.key);
    exts.write(w);
    encode(w, m.query);
}

void encode(Writer& w, const Response& m) {
    ExtList exts;
    add_network_exts(exts, m.ext);
    EntityId who;
    if (m.responder) {
        who.zid = m.responder->zid;
        who.eid = m.responder->eid;
        exts.entity(kExtResponder, who);
    }
    w.u8(static_cast<uint8_t>(static_cast<uint8_t>(NetworkId::kResponse) | wire_flags(m.key) |
                              (exts.empty() ? 0 : kFlagZ)));
    w.zint(m.id);
    write_wire_expr(w, m.key);
    exts.write(w);
    encode(w, m.body);
}

void encode(Writer& w, const ResponseFinal& m) {
    ExtList exts;
    add_network_exts(exts, m.ext);
    w.u8(static_cast<uint8_t>(static_cast<uint8_t>(NetworkId::kResponseFinal) |
                              (exts.empty() ? 0 : kFlagZ)));
    w.zint(m.id);
    exts.write(w);
}

void encode(Writer& w, const NetworkOam& m) {
    ExtList exts;
    add_network_exts(exts, m.ext);
    w.u8(static_cast<uint8_t>(static_cast<uint8_t>(NetworkId::kOam) | (m.encoding & kExtEncMask) |
                              (exts.empty() ? 0 : kFlagZ)));
    w.zint(m.id);
    exts.write(w);
    if (m.encoding == kExtEncZint) {
        w.zint(m.value);
    } else if (m.encoding == kExtEncZbuf) {
        w.zbytes(m.body);
    }
}

void encode(Writer& w, const NetworkMessage& m) {
    std::visit([&](const auto& msg) { encode(w, msg); }, m);
}

}  // namespace dora::zenoh
