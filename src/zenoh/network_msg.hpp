// Zenoh 0x09 network messages (docs/zenoh-protocol.md section 4): PUSH, DECLARE (keyexpr,
// subscriber, queryable, token, final and their undeclarations), INTEREST, REQUEST, RESPONSE,
// RESPONSE_FINAL and OAM.
//
// REQUEST and RESPONSE are decoded enough to route them: the body is parsed for validity and also
// kept raw (`raw_body`) so a router can forward it verbatim. Decoded structs hold views into the
// decoded buffer and are valid as long as it is.
//
// Thread safety: values and plain functions.
#pragma once

#include <optional>
#include <string_view>
#include <variant>

#include "zenoh/body_msg.hpp"
#include "zenoh/codec.hpp"

namespace dora::zenoh {

enum class NetworkId : uint8_t {
    kOam = 0x1f,
    kDeclare = 0x1e,
    kPush = 0x1d,
    kRequest = 0x1c,
    kResponse = 0x1b,
    kResponseFinal = 0x1a,
    kInterest = 0x19,
};
[[nodiscard]] inline bool is_network_id(uint8_t header) {
    uint8_t mid = header & kMidMask;
    return mid >= 0x19 && mid <= 0x1f;
}

inline constexpr uint64_t kDefaultQos = 0x05;  // priority Data, drop, not express
// What our own samples carry: priority Data, block when congested. We never drop a sample of our
// own on a congested link (we queue and count, docs section 3.4), and a Rust router forwards a
// "drop" sample as droppable: large ones were lost on the way between two of our daemons.
inline constexpr uint64_t kDataBlockQos = 0x0d;

// scope 0 = the suffix alone; else the key declared under `scope` + suffix. `sender_mapping`
// (M flag): the id was declared by the sender of this message, otherwise by its receiver.
struct WireExpr {
    uint64_t scope = 0;
    std::string_view suffix;
    bool sender_mapping = false;
    friend bool operator==(const WireExpr&, const WireExpr&) = default;
};

// Extensions shared by network messages.
struct NetworkExts {
    uint64_t qos = kDefaultQos;          // 0x21, omitted when default
    std::optional<Timestamp> timestamp;  // 0x42
    std::optional<uint64_t> node_id;     // 0x33 (mandatory), omitted when 0
};

struct Push {
    WireExpr key;
    NetworkExts ext;
    PushBody body;
    Bytes raw_body;  // decode only: the encoded PUT/DEL
};

enum class DeclKind : uint8_t {
    kKeyExpr = 0x00,
    kUndeclareKeyExpr = 0x01,
    kSubscriber = 0x02,
    kUndeclareSubscriber = 0x03,
    kQueryable = 0x04,
    kUndeclareQueryable = 0x05,
    kToken = 0x06,
    kUndeclareToken = 0x07,
    kFinal = 0x1a,
};

// One declaration. `id` is the expr id (keyexpr) or entity id; `key` is present for declarations
// and, through extension 0x5f, optionally for undeclarations.
struct Declaration {
    DeclKind kind = DeclKind::kFinal;
    uint64_t id = 0;
    std::optional<WireExpr> key;
    // Queryable info (ext 0x21): complete bit and distance.
    bool complete = false;
    uint64_t distance = 0;
};

struct Declare {
    std::optional<uint64_t> interest_id;  // I flag: reply to a "current" interest
    NetworkExts ext;
    Declaration decl;
};

// Interest option bits.
inline constexpr uint8_t kInterestKeyExprs = 0x01;
inline constexpr uint8_t kInterestSubscribers = 0x02;
inline constexpr uint8_t kInterestQueryables = 0x04;
inline constexpr uint8_t kInterestTokens = 0x08;
inline constexpr uint8_t kInterestRestricted = 0x10;
inline constexpr uint8_t kInterestNamed = 0x20;
inline constexpr uint8_t kInterestMapping = 0x40;
inline constexpr uint8_t kInterestAggregate = 0x80;

// current (C) and future (F) both false: the interest is finished (undeclared).
struct Interest {
    uint64_t id = 0;
    bool current = false;
    bool future = false;
    uint8_t options = 0;  // K S Q T A bits; R N M derive from `key` on encode
    std::optional<WireExpr> key;
    NetworkExts ext;
};

struct Request {
    uint64_t id = 0;
    WireExpr key;
    NetworkExts ext;
    std::optional<uint64_t> target;   // 0x34 (mandatory)
    std::optional<uint64_t> budget;   // 0x25
    std::optional<uint64_t> timeout;  // 0x26, ms
    Query query;
    Bytes raw_body;  // decode only
};

struct Responder {
    Zid zid;
    uint64_t eid = 0;
};

struct Response {
    uint64_t id = 0;
    WireExpr key;
    NetworkExts ext;
    std::optional<Responder> responder;  // 0x43
    ResponseBody body;
    Bytes raw_body;  // decode only
};

struct ResponseFinal {
    uint64_t id = 0;
    NetworkExts ext;
};

struct NetworkOam {
    uint64_t id = 0;
    uint8_t encoding = kExtEncUnit;
    uint64_t value = 0;
    Bytes body;
    NetworkExts ext;
};

using NetworkMessage =
    std::variant<Push, Declare, Interest, Request, Response, ResponseFinal, NetworkOam>;

[[nodiscard]] Result<NetworkMessage> decode_network(Reader& r);

void encode(Writer& w, const Push& m);
void encode(Writer& w, const Declare& m);
void encode(Writer& w, const Interest& m);
void encode(Writer& w, const Request& m);
void encode(Writer& w, const Response& m);
void encode(Writer& w, const ResponseFinal& m);
void encode(Writer& w, const NetworkOam& m);
void encode(Writer& w, const NetworkMessage& m);

}  // namespace dora::zenoh
